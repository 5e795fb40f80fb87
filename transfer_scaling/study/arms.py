"""The study's arms, declared once: runs, plan, runner, selection, results and the report loop over them.

An arm is a kind of run. Its declaration says where its settings sit in the study config, how
a run of it starts (from its own seed, or from a kept checkpoint of the pre-training run),
whether it trains, whether a setting is chosen for it on validation, how it stops, where it sits
in the order (an arm comes after every arm it starts from) and how the report draws it. A new
arm is its declaration here plus its config section; build_runs (runs.py) lays out its runs.
"""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Arm:
  name: str                        # the stage of its run records
  section: str = ""                # its settings in StudyConfig (a config.Stage), "" for none
  init: str = "fresh"              # "fresh": from its seed; "pretrained": from a kept pre-training model
  trains: bool = True              # False: the starting model is evaluated, nothing is trained
  tuned: bool = False              # a learning rate and warm-up per cell, chosen on validation (selection.py)
  extend: bool = True              # a run still improving at its budget continues, its budget doubling
  require_improvement: bool = True  # never better than its start: a failure (else the outcome no_gain)
  corpus: str = "target"           # the corpus it trains on: "source" or "target"
  # Continues its parent's training (parameters, optimizer moments, step and data position) instead of
  # starting a new run from its parameters: a cool-down branch. Its ensembles share a start step.
  continues: bool = False
  label: str = ""
  color: str = ""


PRETRAIN = Arm("pretrain", extend=False, corpus="source", label="pre-training", color="0.3")
COOLDOWN = Arm("cooldown", init="pretrained", continues=True, extend=False, require_improvement=False,
               corpus="source", label="cool-down", color="0.45")
ZEROSHOT = Arm("zeroshot", init="pretrained", trains=False, label="zero-shot", color="0.6")
SCRATCH = Arm("scratch", section="scratch", tuned=True, label="from scratch", color="C0")
FINETUNE = Arm("finetune", section="finetune", init="pretrained", tuned=True, require_improvement=False,
               label="fine-tuned", color="C1")

ARMS = (PRETRAIN, COOLDOWN, ZEROSHOT, SCRATCH, FINETUNE)
STAGES = tuple(a.name for a in ARMS)
ORDER = {a.name: i for i, a in enumerate(ARMS)}
TUNED = tuple(a.name for a in ARMS if a.tuned)
SECTIONS = tuple(a.section for a in ARMS if a.section)

# The two roles of the transfer measurement: D_E reads the reference arm's loss-vs-data curve at
# the loss of the transferred arm (the effective data, Hernandez et al. 2021).
REFERENCE, TRANSFERRED = SCRATCH, FINETUNE


def get(name: str) -> Arm:
  try:
    return next(a for a in ARMS if a.name == name)
  except StopIteration:
    raise ValueError(f"unknown arm {name!r}; the arms are {', '.join(STAGES)}") from None


def settings(cfg, name: str):
  """The config section (a config.Stage) of arm `name`."""
  arm = get(name)
  if not arm.section:
    raise ValueError(f"the {name} arm has no settings section in the study config")
  return getattr(cfg, arm.section)
