"""A study config -> its runs, each with a stable id.

A run is everything that determines one training result. Its id is a short hash of the
canonical JSON of those of its fields that differ from their defaults, so that adding a
field (with a default) renames no stored run, and the same run in two studies (or after a
restart) gets the same id and is trained once. The study's name is not part of it.

Seeds: a run's seed sets its initialisation, its batch order and (with the study's
data_seed) which bytes form its D_F subset, nested across D_F within a seed; a redraw of a
study changes data_seed or the seeds and keeps the protocol.
"""
import dataclasses
import functools
import hashlib
import json
import math
from typing import Optional

from transfer_scaling.study import arms, config as config_lib

STAGES = arms.STAGES


@dataclasses.dataclass(frozen=True)
class Run:
  stage: str                 # one of STAGES
  size: str                  # ladder name
  corpus: str                # the corpus trained on (zeroshot: evaluated on)
  corpus_hash: str = ""      # its content hash as prepared: other text is another run
  d_f: Optional[int] = None  # training bytes (None: the whole corpus, pre-training)
  seed: int = 0
  data_seed: int = 0
  init: str = "scratch"      # "scratch" or "pretrained@<step>"
  init_run: str = ""         # id of the run whose model at that step it starts from (pre-training or cool-down)
  lr: float = 0.0
  warmup: int = 0
  schedule: str = "constant"  # constant, cosine, or cooldown (cosine to 0 from the step it starts at)
  budget: int = 0            # the first step budget; doubled while the run still improves at its end
  ceiling: int = 0           # the most steps it may take
  batch_size: int = 0
  eval_every: int = 0
  patience: int = 0          # evaluations without improvement before stopping; 0: never early
  keep_steps: tuple = ()     # pre-training: steps whose parameters are kept for fine-tuning
  model: tuple = ()          # ModelConfig options that differ from their defaults, as (name, value) pairs
  optimizer: tuple = ()      # optimizer settings that differ from their defaults
  valid_bytes: int = 0
  test_bytes: int = 0
  eval_windows: str = "prefix"  # how the held-out bytes are cut (data/pipeline.py); "prefix" for older records
  # "chosen": trained at the setting its cell chose on the tuning seeds (config.Stage.tune_seeds), so it takes
  # no part in that choice. Not part of the id: it changes no result.
  follows: str = ""

  @functools.cached_property  # a plan asks for ids thousands of times; a frozen run's id cannot change
  def id(self) -> str:
    return run_id(self)

  @property
  def p(self) -> Optional[int]:
    """Pre-training step the run starts from (None: from scratch); a cool-down's is its stable run's step."""
    return int(self.init.split("@")[1]) if self.init.startswith("pretrained@") else None

  @property
  def subset_seed(self) -> tuple:
    """Which bytes of the target form this run's D_F subset (nested across D_F for one seed)."""
    return (self.data_seed, self.seed)

  def model_config(self):
    return config_lib.model_config(self.size, dict(self.model))

  def to_json(self) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(self)))

  @staticmethod
  def from_json(d: dict) -> "Run":
    d = dict(d)
    for k in ("keep_steps",):
      d[k] = tuple(d.get(k, ()))
    for k in ("model", "optimizer"):
      d[k] = tuple(tuple(x) for x in d.get(k, ()))
    return Run(**d)


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Run) if f.default is not dataclasses.MISSING}
_NOT_RESULT = ("follows",)  # how a run came to be planned, not what it trains


def identity(run: Run) -> dict:
  """The fields a run's id hashes: those that differ from their defaults, so a field added later
  with a default leaves every stored id as it was."""
  return {k: v for k, v in run.to_json().items()
          if k not in _NOT_RESULT and (k not in _DEFAULTS or v != json.loads(json.dumps(_DEFAULTS[k])))}


def tuning_seeds(cfg: config_lib.StudyConfig, stage: str) -> tuple:
  """The seeds that choose a cell's setting (the first tune_seeds of them; every seed when 0)."""
  n = arms.settings(cfg, stage).tune_seeds
  return tuple(cfg.seeds[:n]) if n else tuple(cfg.seeds)


def run_id(run: Run) -> str:
  blob = json.dumps(identity(run), sort_keys=True, separators=(",", ":"))
  return hashlib.sha256(blob.encode()).hexdigest()[:12]


def step_budget(d_f: int, stage: config_lib.Stage, tokens_per_step: int, eval_every: int) -> int:
  """The first step budget of a run on d_f bytes: max_epochs passes, rounded up to eval_every * 2^j.

  Within [min_steps, ceiling]; a run still improving at the end of it continues (the
  engine doubles its budget), so this sets how often a run is checked, not where it ends.
  """
  steps = stage.max_epochs * d_f / tokens_per_step
  j = max(0, math.ceil(math.log2(max(steps / eval_every, 1e-9)) - 1e-9))
  return int(min(max(eval_every * 2 ** j, stage.min_steps), stage.ceiling))


NEAR = 0.01  # relative: grid points closer than this are one cell (a D_F of 2,155 and the grid's 2,154)


def eval_every(cfg: config_lib.StudyConfig, d_f: int) -> tuple:
  """(eval_every, patience) of a run on d_f bytes: evaluated at least evals_per_epoch times per pass over d_f.

  The interval is the largest divisor of cfg.eval_every no longer than that (at least one step), so
  every budget and ceiling still ends on an evaluation; patience counts as many evaluations more, so
  a run waits as many steps without improvement as at cfg.eval_every.
  """
  if not cfg.evals_per_epoch:
    return cfg.eval_every, cfg.patience
  most = max(1.0, d_f / (cfg.batch_size * cfg.seq_len) / cfg.evals_per_epoch)
  every = max(k for k in range(1, cfg.eval_every + 1) if cfg.eval_every % k == 0 and k <= most)
  return every, cfg.patience * (cfg.eval_every // every)


def scratch_grid(cfg: config_lib.StudyConfig, hi: float) -> list:
  """The from-scratch D grid up to hi: d_f.min * 10^(j / per_decade), and every D_F (so each has its pair).

  A grid point within NEAR of a D_F is that D_F: a D_F grid written with rounded ends (4,642 for
  10^(2/3) kB) puts its points a byte or two off the decade grid, and two such cells would only
  repeat one measurement under another name.
  """
  n = cfg.bracket.per_decade
  d_f = sorted(set(cfg.d_f.values()))
  out, j = set(d_f), 0
  while True:
    d = int(round(cfg.d_f.min * 10 ** (j / n)))
    if d > hi * (1 + 1e-9):
      break
    if not any(abs(d - x) <= NEAR * x for x in d_f):
      out.add(d)
    j += 1
  return sorted(out)


def pretrain_keep_steps(cfg: config_lib.StudyConfig) -> list:
  """Log-spaced pre-training steps p whose parameters are kept, from first_kept_step to the last step.

  Rounded to multiples of first_kept_step: the engine checkpoints every first_kept_step
  steps and keeps them all, so pretrain.steps / first_kept_step checkpoints are stored.
  """
  pt = cfg.pretrain
  unit = pt.first_kept_step
  steps = config_lib.log_grid(unit, pt.steps, pt.num_kept) if pt.num_kept > 1 else []
  return sorted({max(unit, unit * round(s / unit)) for s in steps} | {pt.steps})


# Cool-downs are whole multiples of the engine's 10-step compiled chunk, so they share one program.
COOLDOWN_UNIT = 10


def cooldown_steps(cfg: config_lib.StudyConfig, p: int) -> int:
  """Steps of the cool-down that finishes the model kept at p (wsd): cfg.pretrain.cooldown of p."""
  return max(COOLDOWN_UNIT, COOLDOWN_UNIT * round(cfg.pretrain.cooldown * p / COOLDOWN_UNIT))


def pretrain_seed(cfg: config_lib.StudyConfig, seed: int) -> int:
  """The pre-training seed a fine-tuning seed starts from: the i-th seed of the study, pretrain.seeds[i % n]."""
  seeds = cfg.pretrain.seeds
  return seeds[cfg.seeds.index(seed) % len(seeds)] if seed in cfg.seeds else seeds[0]


def _common(cfg: config_lib.StudyConfig) -> dict:
  default_opt = config_lib.Optimizer()
  return dict(batch_size=cfg.batch_size, model=cfg.model, valid_bytes=cfg.valid_bytes, test_bytes=cfg.test_bytes,
              eval_windows="spread",
              optimizer=tuple((f.name, getattr(cfg.optimizer, f.name)) for f in dataclasses.fields(cfg.optimizer)
                              if getattr(cfg.optimizer, f.name) != getattr(default_opt, f.name)))


def pretrain_runs(cfg: config_lib.StudyConfig, hashes: dict) -> tuple:
  """(pre-training and cool-down runs, {(size, pre-training seed, p): id of the run whose model at p is kept}).

  cosine: one run per size and seed, its checkpoints at the kept p. wsd: a stable run (constant rate
  after the warm-up) per size and seed, and per kept p a cool-down branch from its step p - c that
  decays to 0 at p, continuing the stable run's state and data: the model of a run that finished at p.
  """
  pt = cfg.pretrain
  common = {**_common(cfg), "batch_size": pt.batch_size or cfg.batch_size}
  keep = pretrain_keep_steps(cfg)
  out, models = [], {}
  for size in cfg.sizes:
    for seed in pt.seeds:
      base = dict(size=size, corpus=cfg.source, corpus_hash=hashes.get(cfg.source, ""), seed=seed, lr=pt.lr,
                  warmup=pt.warmup, eval_every=pt.eval_every, patience=0, **common)
      if pt.schedule != "wsd":
        run = Run(stage=arms.PRETRAIN.name, schedule=pt.schedule, budget=pt.steps, ceiling=pt.steps,
                  keep_steps=tuple(keep), **base)
        out.append(run)
        models.update({(size, seed, p): run.id for p in keep})
        continue
      starts = {p: p - cooldown_steps(cfg, p) for p in keep}
      stable = Run(stage=arms.PRETRAIN.name, schedule="constant", budget=max(starts.values()),
                   ceiling=max(starts.values()), keep_steps=tuple(sorted(set(starts.values()))), **base)
      out.append(stable)
      for p in keep:
        branch = Run(stage=arms.COOLDOWN.name, schedule="cooldown", init=f"pretrained@{starts[p]}", init_run=stable.id,
                     budget=p, ceiling=p, keep_steps=(p,), **base)
        out.append(branch)
        models[(size, seed, p)] = branch.id
  return out, models


def target_runs(cfg: config_lib.StudyConfig, hashes: dict, stage: str, target: str, size: str, d_f: int,
                init: str = "scratch", init_run=None) -> list:
  """Every tuning seed x learning rate x warm-up of one (stage, target, size, D_F[, p]) cell (the other seeds
  follow at the chosen setting: plan.py).

  init_run: the id of the model each seed starts from, as a dict seed -> id (or one id for every seed).
  """
  init_of = init_run if isinstance(init_run, dict) else {}
  one = "" if isinstance(init_run, dict) or init_run is None else init_run
  st = arms.settings(cfg, stage)
  every, patience = eval_every(cfg, d_f)
  budget = step_budget(d_f, st, cfg.batch_size * cfg.seq_len, every)
  return [Run(stage=stage, size=size, corpus=target, corpus_hash=hashes.get(target, ""), d_f=int(d_f), seed=seed,
              data_seed=cfg.data_seed, init=init, init_run=init_of.get(seed, one), lr=lr, warmup=warmup,
              schedule=st.schedule, budget=budget, ceiling=st.ceiling, eval_every=every, patience=patience,
              **_common(cfg))
          for seed in tuning_seeds(cfg, stage) for lr in st.lrs for warmup in st.warmups]


def build_runs(cfg: config_lib.StudyConfig, hashes: dict) -> list:
  """The runs a study starts with, in stage order (the bracketing adds from-scratch runs later).

  hashes: corpus -> content hash (each run names the text it saw).
  """
  pre, models = pretrain_runs(cfg, hashes)
  last = cfg.pretrain.steps
  zeroshot, scratch, finetune, seen = [], [], [], set()

  def starts(size, p):  # fine-tuning seed -> the model it starts from
    return {s: models[(size, pretrain_seed(cfg, s), p)] for s in cfg.seeds}

  for target in cfg.targets:
    # (2) zero-shot: the kept pre-trained models evaluated on the target (f = 0 of the gap law).
    for (size, seed, p), model in sorted(models.items()):
      if p == last or size in cfg.gap.sizes:
        zeroshot.append(Run(stage=arms.ZEROSHOT.name, size=size, corpus=target, corpus_hash=hashes.get(target, ""),
                            d_f=0, seed=seed, init=f"pretrained@{p}", init_run=model, **_common(cfg)))
    # (3) from scratch on the target: the D grid, 3 per decade from d_f.min to scratch_d_max.
    for size in cfg.sizes:
      for d in scratch_grid(cfg, cfg.scratch_d_max):
        scratch += target_runs(cfg, hashes, arms.SCRATCH.name, target, size, d)
    # (4) fine-tuning from the final checkpoint, then the (p, f) grid of the transfer-gap law.
    grid = [(size, last, d) for size in cfg.sizes for d in cfg.d_f.values()]
    grid += [(size, p, d) for size in cfg.gap.sizes for p in pretrain_keep_steps(cfg) for d in cfg.gap.d_f.values()]
    for size, p, d in grid:
      for r in target_runs(cfg, hashes, arms.FINETUNE.name, target, size, d, f"pretrained@{p}", starts(size, p)):
        if r.id not in seen:
          seen.add(r.id)
          finetune.append(r)
  return pre + zeroshot + scratch + finetune
