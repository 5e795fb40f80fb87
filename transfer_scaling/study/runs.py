"""A study config -> the list of its runs, each with a stable id.

A run is everything that determines one training result. Its id is a short hash
of the canonical JSON of those fields, so the same run in two studies (or after a
restart) gets the same id and is trained once. The study name is not part of it.
"""
import dataclasses
import hashlib
import json
import math
from typing import Optional

STAGES = ("pretrain", "zeroshot", "scratch", "finetune")


@dataclasses.dataclass(frozen=True)
class Run:
  stage: str             # one of STAGES
  size: str              # ladder name
  corpus: str            # the corpus trained (and for zeroshot: evaluated) on
  d_f: Optional[int]     # training bytes (None: the whole corpus, pre-training)
  seed: int              # init and batch-order seed
  data_seed: int         # which bytes make up the D_F subset (nested across D_F)
  init: str              # "scratch" or "pretrained@<step>"
  init_run: str          # id of the pre-training run (or "")
  lr: float
  schedule: str          # "cosine" | "constant" | "linear"
  warmup: int
  max_steps: int
  batch_size: int
  seq_len: int
  eval_every: int
  patience: int          # evaluations without improvement before stopping; 0: never stop early
  keep_steps: tuple = ()  # pre-training: steps whose parameters are kept for fine-tuning
  dtype: str = "float32"

  @property
  def id(self) -> str:
    return run_id(self)

  @property
  def p(self) -> Optional[int]:
    """Pre-training step the run starts from (None: from scratch)."""
    return int(self.init.split("@")[1]) if self.init.startswith("pretrained@") else None

  def to_json(self) -> dict:
    d = dataclasses.asdict(self)
    d["keep_steps"] = list(self.keep_steps)
    return d

  @staticmethod
  def from_json(d: dict) -> "Run":
    d = dict(d)
    d["keep_steps"] = tuple(d.get("keep_steps", ()))
    return Run(**d)


def run_id(run: Run) -> str:
  blob = json.dumps(run.to_json(), sort_keys=True, separators=(",", ":"))
  return hashlib.sha256(blob.encode()).hexdigest()[:12]


def log_grid(lo: float, hi: float, num: int) -> list:
  """num log-spaced integers from lo to hi inclusive (duplicates removed)."""
  if num == 1:
    return [int(round(lo))]
  out = [int(round(lo * (hi / lo) ** (i / (num - 1)))) for i in range(num)]
  return sorted(set(out))


def d_f_grid(config) -> list:
  return log_grid(config.d_f.min, config.d_f.max, config.d_f.num)


def step_budget(d_f: int, stage_cfg, batch_size: int, seq_len: int, eval_every: int, base: float = 4.0) -> int:
  """Steps a run on d_f bytes may take: max_epochs passes, within [min_steps, max_steps].

  Early stopping ends most runs sooner. Budgets are rounded up to eval_every * base^j
  so that runs with similar needs share one budget, hence one ensemble, and a
  run's result does not depend on which other runs were trained beside it.
  """
  epochs = stage_cfg.max_epochs * d_f / (batch_size * seq_len)
  j = max(0, math.ceil(math.log(max(epochs / eval_every, 1e-9), base) - 1e-9))
  steps = eval_every * int(round(base ** j))
  return int(min(max(steps, stage_cfg.min_steps), stage_cfg.max_steps))


def pretrain_runs(config) -> list:
  pt = config.pretrain
  return [Run(stage="pretrain", size=size, corpus=config.source, d_f=None, seed=int(pt.seed), data_seed=int(pt.seed),
              init="scratch", init_run="", lr=float(pt.lr), schedule=pt.schedule, warmup=int(pt.warmup),
              max_steps=int(pt.steps), batch_size=int(config.batch_size), seq_len=int(config.seq_len),
              eval_every=int(pt.eval_every), patience=0, keep_steps=tuple(pretrain_keep_steps(config)),
              dtype=config.dtype)
          for size in config.sizes]


def pretrain_keep_steps(config) -> list:
  """Log-spaced pre-training steps p whose parameters are kept, always ending with the last step.

  They are rounded to multiples of first_kept_step: the engine checkpoints every
  first_kept_step steps and keeps them all, so steps/first_kept_step checkpoints are stored.
  """
  pt = config.pretrain
  unit = int(pt.first_kept_step)
  steps = log_grid(unit, pt.steps, pt.num_kept) if pt.num_kept > 1 else []
  return sorted({max(unit, unit * round(s / unit)) for s in steps} | {int(pt.steps)})


def targets(config) -> tuple:
  """The target corpora: `config.targets` if set, else `(config.target,)`."""
  many = tuple(config.get("targets", ()) or ())
  return many or (config.target,)


def stage_lrs(stage_cfg) -> tuple:
  """The learning rates a stage tries: `lrs` if set (the analysis keeps each point's best), else `(lr,)`."""
  return tuple(float(x) for x in (stage_cfg.get("lrs", ()) or (stage_cfg.lr,)))


def _target_runs(config, target, stage, size, d_f, seed, init, init_run, stage_cfg) -> list:
  return [_target_run(config, target, stage, size, d_f, seed, init, init_run, stage_cfg, lr)
          for lr in stage_lrs(stage_cfg)]


def _target_run(config, target, stage, size, d_f, seed, init, init_run, stage_cfg, lr) -> Run:
  return Run(stage=stage, size=size, corpus=target, d_f=int(d_f), seed=int(seed), data_seed=int(config.data_seed),
             init=init, init_run=init_run, lr=lr, schedule=stage_cfg.schedule,
             warmup=int(stage_cfg.warmup),
             max_steps=step_budget(d_f, stage_cfg, config.batch_size, config.seq_len, config.eval_every,
                                   float(config.ensemble.get("budget_base", 4.0))),
             batch_size=int(config.batch_size), seq_len=int(config.seq_len), eval_every=int(config.eval_every),
             patience=int(config.patience), dtype=config.dtype)


def build_runs(config) -> list:
  """All runs of a study, in stage order: pretrain, zeroshot, scratch, finetune."""
  pre = pretrain_runs(config)
  by_size = {r.size: r for r in pre}
  last = int(config.pretrain.steps)
  d_fs = d_f_grid(config)
  scratch_d_fs = sorted(set(d_fs) | {int(x) for x in config.d_f_large})
  gap_d_fs = log_grid(config.gap.d_f_min, config.gap.d_f_max, config.gap.d_f_num) if config.gap.sizes else []
  runs, zeroshot, scratch, finetune, seen = list(pre), [], [], [], set()
  for target in targets(config):
    # (2) zero-shot: kept pre-training checkpoints evaluated on the target (f = 0 of the gap law).
    for r in pre:
      for p in r.keep_steps:
        if p == last or r.size in config.gap.sizes:
          zeroshot.append(Run(stage="zeroshot", size=r.size, corpus=target, d_f=0, seed=r.seed, data_seed=0,
                              init=f"pretrained@{p}", init_run=r.id, lr=0.0, schedule="constant", warmup=0,
                              max_steps=0, batch_size=int(config.batch_size), seq_len=int(config.seq_len),
                              eval_every=0, patience=0, dtype=config.dtype))
    # (3) from scratch on the target: the D_F grid plus data-rich runs.
    for size in config.sizes:
      for d_f in scratch_d_fs:
        for seed in config.seeds:
          scratch += _target_runs(config, target, "scratch", size, d_f, seed, "scratch", "", config.scratch)
    # (4) fine-tuning from the final checkpoint, then the (p, f) grid of the transfer-gap law.
    grid = [(size, last, d_f) for size in config.sizes for d_f in d_fs]
    grid += [(size, p, d_f) for size in config.gap.sizes for p in by_size[size].keep_steps for d_f in gap_d_fs]
    for size, p, d_f in grid:
      for seed in config.seeds:
        for r in _target_runs(config, target, "finetune", size, d_f, seed, f"pretrained@{p}", by_size[size].id,
                              config.finetune):
          if r.id not in seen:
            seen.add(r.id)
            finetune.append(r)
  return runs + zeroshot + scratch + finetune
