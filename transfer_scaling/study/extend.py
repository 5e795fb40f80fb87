"""A study extended by config overrides: the runs `sweep` would add, what they cost, and the design they leave.

advise's "what to run next" proposes changes to a finished study's config (more seeds, pre-training varied at
another size, longer pre-training, more kept checkpoints). Each is judged on exactly what `transfer-scaling sweep
--config WORKDIR/study.json --workdir WORKDIR OVERRIDES` would plan from the records already there: the runs it
adds and the scratch and fine-tuned cells the extended study then holds (a change can also drop cells: more kept
checkpoints move the interior ones). The cells are the first round's. The time is the first round's at the
workdir's measured throughput, scaled as the study's own runs went against their first-round plan
(estimate.history): runs stopped early or went on past their first budget, and later learning-rate and
bracketing rounds added runs.
"""
import dataclasses
import json
import shlex

from transfer_scaling import config as config_lib, ladder
from transfer_scaling.study import estimate, plan, workdir as workdir_lib
from transfer_scaling.study.config import StudyConfig


@dataclasses.dataclass
class Extension:
  what: str
  overrides: tuple   # --config.field=value, as `sweep` takes them
  runs: list         # the runs the sweep would add (first round)
  seconds: float     # their expected training time, later rounds included (estimate.Estimate.expected)
  keys: set          # (pretrained, N, D, p, seed) of every from-scratch and fine-tuned cell of the extended study

  def command(self, workdir) -> str:
    study = str(workdir).rstrip("/") + "/study.json"  # the user's spelling of the workdir, not a resolved path
    return " ".join(["transfer-scaling sweep", "--config", shlex.quote(str(study)), "--workdir",
                     shlex.quote(str(workdir))] + [shlex.quote(o) for o in self.overrides])


def keys(cfg: StudyConfig, runs, target: str) -> set:
  """(pretrained, N, D, p, seed) of the from-scratch and fine-tuned runs on `target`: the design's rows."""
  out = set()
  for r in runs:
    if r.corpus != target or r.stage not in ("scratch", "finetune"):
      continue
    fine = r.stage == "finetune"
    out.add((1.0 if fine else 0.0, float(ladder.n_params(cfg.model_config(r.size))), float(r.d_f),
             float(r.p) if fine else 1.0, str(r.seed)))
  return out


def _value(v) -> str:
  """v as `--config.x=` reads it back (ast.literal_eval), quoted strings in double quotes for the shell."""
  if isinstance(v, tuple):
    return "(" + ",".join(_value(x) for x in v) + ("," if len(v) == 1 else "") + ")"
  return json.dumps(v) if isinstance(v, str) else repr(v)


@dataclasses.dataclass
class Study:
  """A finished study as the planner sees it: its config, corpora, records and current runs."""
  workdir: str
  cfg: StudyConfig
  hashes: dict
  train: dict
  records: dict
  runs: list
  rates: dict   # measured tokens/s per model (estimate.measured), read once for every extension priced
  history: estimate.History  # how its runs went against their first-round plan: what a new cell's runs will do

  @staticmethod
  def read(workdir) -> "Study":
    meta = workdir_lib.read_study(workdir)
    cfg = workdir_lib.study_config(workdir, meta)
    corpora = meta.get("corpora") or {}
    hashes = corpora.get("hashes") or {}
    train = {k: v["train"] for k, v in (corpora.get("sizes") or {}).items()}
    records = workdir_lib.read_records(workdir)
    now, rates = plan.make_plan(cfg, hashes, train, records), estimate.measured(workdir)
    first = plan.make_plan(cfg, hashes, train, {}).runs if now.settled else None  # its rounds, once they are over
    return Study(str(workdir), cfg, hashes, train, records, now.runs, rates,
                 estimate.history(now.runs, records, rates, first, estimate.default(cfg)))


def extension(study: Study, target: str, what: str, changes: dict) -> Extension:
  """What `sweep` would do with the study changed by {dotted field: value}.

  A cell the change adds is planned on its tuning seeds first and the other seeds follow at the chosen setting
  (Stage.tune_seeds); those followers are counted here, one per missing seed, so that the cells and the cost are
  the finished extension's.
  """
  overrides = tuple(f"--config.{k}={_value(v)}" for k, v in changes.items())
  cfg = StudyConfig.from_dict(config_lib.load_config(workdir_lib.study_path(study.workdir), overrides))
  runs = plan.make_plan(cfg, study.hashes, study.train, study.records).runs
  old = {r.id for r in study.runs}
  new = [r for r in runs if r.id not in old and r.id not in study.records]
  cell = lambda r: (r.stage, r.corpus, r.size, r.d_f, r.init)
  seeds, first = {}, {}
  for r in runs:
    seeds.setdefault(cell(r), set()).add(r.seed)
  for r in new:
    if r.stage in ("scratch", "finetune"):
      first.setdefault(cell(r), r)
  followers = [dataclasses.replace(r, seed=s, follows="chosen") for c, r in first.items()
               for s in cfg.seeds if s not in seeds[c]]
  cost = estimate.estimate(new + followers, study.rates).expected(study.history)
  return Extension(what, overrides, new + followers, cost, keys(cfg, runs + followers, target))


def proposals(workdir, target: str, near: str, p_alt: float, study: Study = None) -> list:
  """The changes advise weighs, each as an Extension: two more seeds, twice the seeds, pre-training varied at
  `near` (the measured size nearest the user's), pre-training on to p_alt (doubled until it reaches it), and two
  more kept checkpoints."""
  study = study or Study.read(workdir)
  cfg = study.cfg
  seeds, top = cfg.seeds, max(cfg.seeds)
  out = [("two more seeds", {"seeds": seeds + (top + 1, top + 2)})]
  if len(seeds) > 2:
    out.append((f"{len(seeds)} more seeds", {"seeds": seeds + tuple(range(top + 1, top + 1 + len(seeds)))}))
  if cfg.gap.sizes and near not in cfg.gap.sizes:
    out.append((f"pre-training varied at {near} too", {"gap.sizes": tuple(cfg.gap.sizes) + (near,)}))
  steps = cfg.pretrain.steps
  while steps < p_alt:
    steps *= 2
  if steps > cfg.pretrain.steps:
    out.append((f"pre-training to {steps:,} steps", {"pretrain.steps": steps}))
  out.append(("two more kept pre-training checkpoints", {"pretrain.num_kept": cfg.pretrain.num_kept + 2}))
  return [extension(study, target, what, changes) for what, changes in out]
