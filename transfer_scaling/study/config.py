"""The study config: one typed, frozen schema with its defaults, built once from a ConfigDict.

A config file (configs/*.py) starts from `defaults()` (a ConfigDict of every field at its
default, so `--config.a.b=value` can override any of them with type checks), changes what
differs and returns it; `StudyConfig.from_dict(c)` turns it into the frozen dataclasses
below and `validate()`s it, and everything after that reads the typed config only.

The defaults are the GPU scale (sizes 335k-14M, context 256); `cpu_scale(c)` sets the
quickstart's scale (sizes 13k-56k, context 64, minutes on 2 CPU cores), the one place
those numbers live, so that every pair config offers `NAME.py:cpu` at the same scale.
"""
import dataclasses
import math
import typing
from typing import Optional

import ml_collections

from transfer_scaling import ladder, laws, model_config as model_lib
from transfer_scaling.study import arms
from transfer_scaling.train import optim
from transfer_scaling.errors import UsageError

SCHEDULES = ("constant", "cosine")
# cosine: the kept p are checkpoints of one cosine run (mid-schedule models); wsd: a warmup-stable run with a
# cool-down branch finishing at each kept p, so every p is a model that finished there (Hagele et al. 2024).
PRETRAIN_SCHEDULES = ("cosine", "wsd")
DTYPES = ("float32", "bfloat16")
# ModelConfig fields the size ladder sets; every other ModelConfig field is a model option of the config.
SHAPE_FIELDS = ("d_model", "n_layers", "n_heads")


@dataclasses.dataclass(frozen=True)
class Grid:
  """num log-spaced sizes from min to max bytes, inclusive."""
  min: int
  max: int
  num: int

  def values(self) -> list:
    return log_grid(self.min, self.max, self.num)


@dataclasses.dataclass(frozen=True)
class Pretrain:
  steps: int = 20_000
  lr: float = 1e-3
  schedule: str = "wsd"        # one of PRETRAIN_SCHEDULES
  warmup: int = 500
  eval_every: int = 1000
  seeds: tuple = (0, 1)        # a pre-training run per size and seed; fine-tuning seed i starts from seeds[i % n]
  cooldown: float = 0.2        # wsd: the cool-down's share of each kept p (20% matches a run trained for p)
  first_kept_step: int = 1000  # the smallest p kept (a multiple of it)
  num_kept: int = 6            # kept steps p, log-spaced from first_kept_step to steps
  batch_size: int = 0          # 0: the study's batch_size (a larger one pre-trains faster on a CPU)


@dataclasses.dataclass(frozen=True)
class Stage:
  """From-scratch or fine-tuning runs on the target."""
  lrs: tuple = (1e-3,)         # grid of peak learning rates; each (size, D_F) keeps the best on validation
  warmups: tuple = (100,)      # grid of warm-up lengths (steps), crossed with lrs
  schedule: str = "constant"
  max_epochs: float = 50.0     # the first step budget: this many passes over D_F ...
  min_steps: int = 400         # ... but at least this many steps
  ceiling: int = 20_000        # a run still improving at its budget continues, the budget doubling up to this
  # A cell whose chosen learning rate is the lowest or highest of its grid gets the next rate a half-decade
  # beyond it, in up to lr_rounds rounds, never below lr_floor or above lr_ceiling (a grid of one rate is fixed).
  lr_rounds: int = 2
  lr_floor: float = 1e-5
  lr_ceiling: float = 0.1
  # The first tune_seeds seeds choose the setting (grid and rounds); the other seeds then train at the
  # setting chosen for their cell, and never take part in the choice. 0: every seed tunes.
  tune_seeds: int = 0


@dataclasses.dataclass(frozen=True)
class Bracket:
  """The from-scratch curve must bracket every D_E (the data a from-scratch model needs for a fine-tuned loss)."""
  per_decade: int = 3          # from-scratch D grid density: d_f.min * 10^(j / per_decade)
  max_gap: float = 0.5         # decades: no wider gap between measured D where a D_E falls
  rounds: int = 3              # extensions of the grid after the fine-tuned runs of a size are known


@dataclasses.dataclass(frozen=True)
class Gap:
  """The (p, f) grid of the transfer-gap law: these sizes fine-tuned from every kept p on these D_F."""
  sizes: tuple = ()
  d_f: Grid = Grid(100_000, 3_000_000, 4)


Optimizer = optim.AdamW  # one definition of the optimizer's settings and defaults, which the engine's step shares


@dataclasses.dataclass(frozen=True)
class Analysis:
  bootstrap: int = 1000        # replicates of the cluster (or parametric) bootstrap
  # The laws of the study's roles, by registry name (laws/definitions.py; `laws.registry.role_names(role)` lists
  # them): scratch_law is the from-scratch form of the joint fit (Hernandez eq. 6.1 uses kaplan), or "average" over
  # the scratch forms (laws/joint.py)
  scratch_law: str = "kaplan"
  transfer_law: str = laws.definitions.TRANSFER  # D_T(N, D_F) inside the joint fit
  gap_law: str = laws.definitions.GAP            # L(p, f) on the gap sizes' (p, f) grid
  example_size: str = "4.7M"   # the reference point of the headline multiplier
  example_d_f: int = 300_000
  cost_ratio: float = 0.01     # pre-training steps that cost as much as one fine-tuning byte
  low_data_max_d_f: int = 0    # 0: the low-data regime from the fitted scratch law (D_F <= 10% of D(N))


@dataclasses.dataclass(frozen=True)
class StudyConfig:
  study: str = "study"
  source: str = "english"
  targets: tuple = ("python",)
  sizes: tuple = ("335k", "793k", "1.8M", "4.7M", "14M")
  model: tuple = (("dtype", "bfloat16"), ("seq_len", 256))  # ModelConfig options as sorted (name, value) pairs
  batch_size: int = 32
  seeds: tuple = (0, 1, 2)     # each seed: its own initialisation, batch order and D_F subsets (nested)
  data_seed: int = 0           # shifts every seed's subsets: a redraw of the study keeps the protocol
  valid_bytes: int = 1_000_000  # validation bytes: early stopping and every choice
  test_bytes: int = 1_000_000   # test bytes: the reported loss of every run, read by no decision
  d_f: Grid = Grid(100_000, 10_000_000, 6)
  scratch_d_max: int = 30_000_000  # from-scratch runs span d_f.min .. this (more where a D_E needs it)
  eval_every: int = 200
  # At least this many evaluations per pass over a run's D (its eval_every is then the largest divisor of
  # eval_every that fits), so a run that peaks within its first epoch is seen; 0: eval_every for every run.
  evals_per_epoch: float = 4.0
  patience: int = 5            # evaluations at eval_every without improvement before a run stops (in steps
                               # the same at a finer cadence)
  ckpt_every: int = 1000
  pretrain: Pretrain = Pretrain()
  scratch: Stage = Stage(lrs=(1e-3, 3e-3))
  finetune: Stage = Stage(lrs=(3e-4, 1e-3))
  bracket: Bracket = Bracket()
  gap: Gap = Gap(sizes=("1.8M",))
  optimizer: Optimizer = Optimizer()
  max_members: int = 24        # most runs trained together as one vmapped ensemble
  analysis: Analysis = Analysis()

  @staticmethod
  def from_dict(c) -> "StudyConfig":
    """The typed config of a ConfigDict or dict (unknown fields and wrong types are UsageErrors); validated.

    A field missing from the dict takes its default, except the protocol fields of BEFORE: a study.json
    written before they existed takes the value that reproduces what that study planned.
    """
    d = c.to_dict() if isinstance(c, ml_collections.ConfigDict) else dict(c)
    d = _before(d)
    cfg = _build(StudyConfig, d, "config")
    cfg.validate()
    return cfg

  def to_dict(self) -> dict:
    """A plain dict with the ConfigDict's layout (study.json; from_dict reads it back)."""
    d = _plain(self)
    d["model"] = dict(self.model)
    return d

  def model_config(self, size: str) -> model_lib.ModelConfig:
    return model_config(size, dict(self.model))

  @property
  def dtype(self) -> str:
    return dict(self.model).get("dtype", _model_default("dtype"))

  @property
  def seq_len(self) -> int:
    return dict(self.model).get("seq_len", _model_default("seq_len"))

  def validate(self) -> None:
    """Everything that can be checked without the corpora; UsageError names the field and the fix."""
    _need(self.study, "config.study is empty; give the study a name")
    # A repeated value would be planned (and trained) twice and counted twice: these tuples are sets.
    for field, values in (("sizes", self.sizes), ("gap.sizes", self.gap.sizes), ("targets", self.targets),
                          ("seeds", self.seeds), ("scratch.lrs", self.scratch.lrs),
                          ("finetune.lrs", self.finetune.lrs), ("scratch.warmups", self.scratch.warmups),
                          ("finetune.warmups", self.finetune.warmups)):
      _distinct(values, f"config.{field}")
    for field, sizes in (("sizes", self.sizes), ("gap.sizes", self.gap.sizes)):
      for s in sizes:
        _need(s in ladder.LADDER, f"config.{field} has {s!r}, which is not on the ladder; "
              f"use names from transfer_scaling/ladder.py: {', '.join(ladder.LADDER)}")
    _need(self.sizes, "config.sizes is empty; give at least one ladder size, e.g. --config.sizes='(\"13k\",)'")
    missing = [s for s in self.gap.sizes if s not in self.sizes]
    _need(not missing, f"config.gap.sizes has {missing} which are not in config.sizes; add them to config.sizes "
          "(they must be pre-trained) or remove them from config.gap.sizes")
    _need(self.targets, "config.targets is empty; name at least one target corpus, "
          "e.g. --config.targets='(\"python\",)'")
    _need(self.seeds, "config.seeds is empty; give at least one seed, e.g. --config.seeds='(0,1,2)'")
    _need(all(isinstance(s, int) and s >= 0 for s in self.seeds),
          f"config.seeds {self.seeds} must be non-negative integers")
    _need(isinstance(self.eval_every, int) and not isinstance(self.eval_every, bool) and self.eval_every >= 1,
          f"config.eval_every={self.eval_every!r} is no cadence; give the steps between evaluations as a positive "
          "integer, e.g. 20 (config.evals_per_epoch makes small-D runs evaluate more often)")
    for name in ("batch_size", "patience", "max_members", "valid_bytes", "test_bytes"):
      _positive(getattr(self, name), f"config.{name}")
    _need(isinstance(self.evals_per_epoch, (int, float)) and math.isfinite(self.evals_per_epoch)
          and self.evals_per_epoch >= 0, f"config.evals_per_epoch={self.evals_per_epoch} must be a number >= 0 "
          "(evaluations per pass over a run's D, e.g. 4; 0: every run at config.eval_every)")
    _need(self.ckpt_every >= 0, f"config.ckpt_every={self.ckpt_every} must be >= 0 (0: only at the end)")
    _need(self.dtype in DTYPES,
          f"config.model.dtype={self.dtype!r} is not a compute dtype; use one of {', '.join(DTYPES)}")
    _positive(self.seq_len, "config.model.seq_len")
    for s in self.sizes:
      self.model_config(s)  # unknown options and shapes that do not divide fail here
    g = self.d_f
    _need(0 < g.min <= g.max and g.num >= 1, f"config.d_f must satisfy 0 < min <= max and num >= 1 "
          f"(got min={g.min}, max={g.max}, num={g.num})")
    _need(self.scratch_d_max >= g.max, f"config.scratch_d_max={self.scratch_d_max:,} is below config.d_f.max="
          f"{g.max:,}; the from-scratch runs must cover every D_F: raise scratch_d_max")
    tokens = self.batch_size * (self.seq_len + 1)
    _need(g.min >= tokens, f"config.d_f.min={g.min} bytes is less than one batch (batch_size * (seq_len + 1) = "
          f"{tokens}); raise d_f.min or lower batch_size / model.seq_len")
    for name in ("valid_bytes", "test_bytes"):
      _need(getattr(self, name) > self.seq_len + 1, f"config.{name}={getattr(self, name)} holds less than one "
            f"window of model.seq_len + 1 = {self.seq_len + 1} bytes; raise it")
    pt = self.pretrain
    _positive(pt.steps, "config.pretrain.steps")
    _need(0 < pt.first_kept_step <= pt.steps and pt.steps % pt.first_kept_step == 0,
          f"config.pretrain.first_kept_step={pt.first_kept_step} must divide pretrain.steps={pt.steps} "
          "(checkpoints are taken every first_kept_step steps); change either")
    _positive(pt.num_kept, "config.pretrain.num_kept")
    _lr(pt.lr, "config.pretrain.lr")
    _need(pt.schedule in PRETRAIN_SCHEDULES,
          f"config.pretrain.schedule={pt.schedule!r} is unknown; use one of {', '.join(PRETRAIN_SCHEDULES)}")
    _need(pt.warmup >= 0, f"config.pretrain.warmup={pt.warmup} must be >= 0")
    _need(pt.seeds, "config.pretrain.seeds is empty; give at least one pre-training seed, e.g. "
          "--config.pretrain.seeds='(0,1)'")
    _distinct(pt.seeds, "config.pretrain.seeds")
    _need(all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in pt.seeds),
          f"config.pretrain.seeds {pt.seeds} must be non-negative integers")
    if pt.schedule == "wsd":
      self._validate_cooldown(pt)
    _positive(pt.eval_every, "config.pretrain.eval_every")
    _need(isinstance(pt.batch_size, int) and pt.batch_size >= 0,
          f"config.pretrain.batch_size={pt.batch_size!r} must be "
          "an integer >= 0 (0: the study's batch_size)")
    for name in arms.SECTIONS:
      st = getattr(self, name)
      _need(st.lrs, f"config.{name}.lrs is empty; give at least one learning rate, e.g. (1e-3,)")
      for lr in st.lrs:
        _lr(lr, f"config.{name}.lrs")
      _need(st.warmups and all(isinstance(w, int) and w >= 0 for w in st.warmups),
            f"config.{name}.warmups={st.warmups} must be one or more integers >= 0")
      _need(st.schedule in SCHEDULES,
            f"config.{name}.schedule={st.schedule!r} is unknown; use one of {', '.join(SCHEDULES)}")
      _need(st.max_epochs > 0 and math.isfinite(st.max_epochs),
            f"config.{name}.max_epochs={st.max_epochs} must be positive")
      _positive(st.min_steps, f"config.{name}.min_steps")
      _need(st.ceiling >= st.min_steps, f"config.{name}.ceiling={st.ceiling} is below the first budget "
            f"config.{name}.min_steps={st.min_steps}; raise the ceiling or lower min_steps")
      _need(st.ceiling % self.eval_every == 0 and st.min_steps % self.eval_every == 0,
            f"config.{name}.min_steps={st.min_steps} and ceiling={st.ceiling} must be multiples of "
            f"config.eval_every={self.eval_every} (budgets end on an evaluation)")
      self._validate_lr_limits(name, st)
      n = len(self.pretrain.seeds) if name == arms.FINETUNE.section else 1
      _need(isinstance(st.tune_seeds, int) and not isinstance(st.tune_seeds, bool)
            and (st.tune_seeds == 0 or st.tune_seeds >= n),
            f"config.{name}.tune_seeds={st.tune_seeds!r} must be 0 (every seed tunes) or at least {n} "
            + ("(one per pre-training seed, so that every pre-trained model is tuned on)" if n > 1 else "")
            + f"; e.g. {max(n, 3)}")
    b = self.bracket
    _positive(b.per_decade, "config.bracket.per_decade")
    _need(b.max_gap > 0, f"config.bracket.max_gap={b.max_gap} must be positive (decades)")
    _need(b.rounds >= 0, f"config.bracket.rounds={b.rounds} must be >= 0")
    gd = self.gap.d_f
    _need(0 < gd.min <= gd.max and gd.num >= 1, "config.gap.d_f must satisfy 0 < min <= max and num >= 1")
    _need(not self.gap.sizes or gd.min >= tokens,
          f"config.gap.d_f.min={gd.min} is less than one batch ({tokens} bytes)")
    o = self.optimizer
    for name in ("b1", "b2"):
      _need(0 <= getattr(o, name) < 1, f"config.optimizer.{name}={getattr(o, name)} must lie in [0, 1)")
    _need(o.eps > 0 and o.weight_decay >= 0 and o.clip_norm > 0,
          "config.optimizer needs eps > 0, weight_decay >= 0 and clip_norm > 0")
    a = self.analysis
    _need(isinstance(a.bootstrap, int) and a.bootstrap >= 0,
          f"config.analysis.bootstrap={a.bootstrap} must be an integer >= 0")
    for role in ("scratch", "transfer", "gap"):  # a law in the role, or a name combining them (scratch: average)
      laws.registry.check_role(getattr(a, f"{role}_law"), role, f"config.analysis.{role}_law")
    _need(a.example_size in ladder.LADDER, f"config.analysis.example_size={a.example_size!r} is not on the ladder")
    _positive(a.example_d_f, "config.analysis.example_d_f")
    _need(a.cost_ratio > 0 and math.isfinite(a.cost_ratio),
          f"config.analysis.cost_ratio={a.cost_ratio} must be positive")

  def _validate_cooldown(self, pt: Pretrain) -> None:
    _need(isinstance(pt.cooldown, (int, float)) and 0 < pt.cooldown < 1,
          f"config.pretrain.cooldown={pt.cooldown!r} makes a cool-down as long as its p or longer; give the "
          "cool-down's share of p, between 0 and 1, e.g. 0.2")
    from transfer_scaling.study import runs  # runs imports this module
    p = min(runs.pretrain_keep_steps(self))
    start = p - runs.cooldown_steps(self, p)
    _need(start >= max(pt.warmup, 1), f"the cool-down of the first kept p={p:,} would start at step {start:,}, "
          f"inside the warm-up of config.pretrain.warmup={pt.warmup:,} steps; raise config.pretrain.first_kept_step "
          f"or lower config.pretrain.warmup (or config.pretrain.cooldown)")

  def _validate_lr_limits(self, name: str, st: Stage) -> None:
    _need(isinstance(st.lr_rounds, int) and st.lr_rounds >= 0, f"config.{name}.lr_rounds={st.lr_rounds!r} must be "
          f"an integer >= 0 (0: the grid config.{name}.lrs is fixed)")
    _lr(st.lr_floor, f"config.{name}.lr_floor")
    _lr(st.lr_ceiling, f"config.{name}.lr_ceiling")
    if not st.lr_rounds:
      return  # a fixed grid: its limits bound nothing
    lo, hi = min(st.lrs), max(st.lrs)
    _need(st.lr_floor <= lo,
          f"config.{name}.lr_floor={st.lr_floor:g} lies inside the starting grid (its lowest rate is "
          f"{lo:g}); lower config.{name}.lr_floor to <= {lo:g} or drop the rates below it from config.{name}.lrs")
    _need(st.lr_ceiling >= hi, f"config.{name}.lr_ceiling={st.lr_ceiling:g} lies inside the starting grid (its highest "
          f"rate is {hi:g}); raise config.{name}.lr_ceiling to >= {hi:g} or drop the rates above it from "
          f"config.{name}.lrs")

  def validate_corpora(self, sizes: dict) -> None:
    """Checks against the prepared corpora; sizes: corpus -> {split: bytes}."""
    for name in (self.source,) + tuple(self.targets):
      _need(name in sizes, f"corpus {name!r} is unknown; choose one of: {', '.join(sorted(sizes))}")
    tokens = self.batch_size * (self.seq_len + 1)
    _need(sizes[self.source]["train"] >= tokens, f"source corpus {self.source!r} has fewer bytes than one batch; "
          "prepare a larger corpus")
    for target in self.targets:
      have = sizes[target]["train"]
      want = max(self.d_f.max, self.gap.d_f.max if self.gap.sizes else 0)
      _need(want <= have, f"the study asks for {want:,} bytes of {target!r} but its training split has {have:,}; "
            f"lower config.d_f.max / config.gap.d_f.max to <= {have:,} or prepare a larger corpus")
    for corpus in (self.source,) + tuple(self.targets):
      for split, field in (("validation", "valid_bytes"), ("test", "test_bytes")):
        have = sizes[corpus][split]
        _need(getattr(self, field) <= have, f"config.{field}={getattr(self, field):,} is larger than the {split} "
              f"split of {corpus!r} ({have:,} bytes); lower config.{field} to <= {have:,}")


# Protocol fields added after studies were stored, with the value that plans those studies as they
# were planned (a missing field would otherwise take today's default and rename or add runs).
BEFORE = {("evals_per_epoch",): 0.0, **{(name, "lr_rounds"): 0 for name in arms.SECTIONS}}


def _before(d: dict) -> dict:
  d = dict(d)
  pt = d.get("pretrain")
  if isinstance(pt, dict) and "seed" in pt and "seeds" not in pt:  # one pre-training seed, before the seed list
    pt = dict(pt)
    pt["seeds"] = (pt.pop("seed"),)
    d["pretrain"] = pt
  for path, value in BEFORE.items():
    node = d
    for key in path[:-1]:
      if not isinstance(node.get(key), dict):
        break
      child = dict(node[key])
      node[key] = child
      node = child
    else:
      node.setdefault(path[-1], value)
  return d


def model_config(size: str, options: dict, where: str = "config.model") -> model_lib.ModelConfig:
  """ModelConfig(**the ladder's shape of `size`, **options), or with size "" the shape given in options: how every
  model is built (the study, `train`, `bench train`); `where` names the options in a UsageError."""
  known = [f.name for f in dataclasses.fields(model_lib.ModelConfig) if not size or f.name not in SHAPE_FIELDS]
  unknown = sorted(set(options) - set(known))
  _need(not unknown, f"{where} has unknown option(s) {', '.join(unknown)}; ModelConfig takes {', '.join(known)}")
  try:
    return model_lib.ModelConfig(**(ladder.shape(size) if size else {}), **options)
  except (TypeError, ValueError) as e:
    raise UsageError(f"{where}: {e}") from None


def _model_default(name: str):
  return next(f.default for f in dataclasses.fields(model_lib.ModelConfig) if f.name == name)


def log_grid(lo: float, hi: float, num: int) -> list:
  """num log-spaced integers from lo to hi inclusive (duplicates removed)."""
  if num == 1:
    return [int(round(lo))]
  return sorted({int(round(lo * (hi / lo) ** (i / (num - 1)))) for i in range(num)})


def defaults() -> ml_collections.ConfigDict:
  """Every field at its default, as the ConfigDict a config file edits (model options from ModelConfig)."""
  d = _plain(StudyConfig())
  d["model"] = {f.name: f.default for f in dataclasses.fields(model_lib.ModelConfig) if f.name not in SHAPE_FIELDS}
  d["model"].update(dict(StudyConfig().model))
  return ml_collections.ConfigDict(d)


def cpu_scale(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The quickstart's scale, for any pair: sizes 13k-56k, context 64, D_F 1-4.6 kB, minutes on 2 CPU cores.

  Keeps the pair (source, targets) and the name. From-scratch runs on the 3-per-decade grid
  1 kB - 22 kB (the bracketing adds more where a D_E needs them); pre-training 2,000 steps of
  16 sequences with p kept from 10 steps (2.3 decades); three seeds and two learning rates
  per arm, each point keeping the better on the validation split.
  """
  c = ml_collections.ConfigDict(c.to_dict())
  c.sizes = ("13k", "25k", "56k")
  c.model.seq_len, c.model.dtype = 64, "float32"
  c.batch_size = 8
  c.seeds = (0, 1, 2)
  c.valid_bytes, c.test_bytes = 4_096, 16_384
  c.d_f.min, c.d_f.max, c.d_f.num = 1_000, 4_642, 3   # 1,000, 2,155, 4,642: the from-scratch grid's 2,154 joins 2,155
  c.scratch_d_max = 21_544
  c.eval_every, c.patience, c.ckpt_every = 20, 4, 400
  # Off at this scale, so the quickstart keeps its runtime and its stored runs: the learning-rate rounds and the
  # data cadence (every step at 1 kB) are `--config.scratch.lr_rounds=2 --config.finetune.lr_rounds=2
  # --config.evals_per_epoch=4`.
  c.evals_per_epoch = 0
  # Kept steps p and every boundary are multiples of 10, the steps of one compiled call: one compilation.
  c.pretrain.update(steps=2_000, lr=3e-3, schedule="cosine", warmup=100, eval_every=200, seeds=(0,),
                    first_kept_step=10, num_kept=4, batch_size=16)
  stage = dict(warmups=(20,), schedule="constant", max_epochs=25.0, min_steps=40, ceiling=2_560, lrs=(1e-3, 3e-3),
               lr_rounds=0)
  c.scratch.update(stage)
  c.finetune.update(stage)
  c.bracket.update(per_decade=3, max_gap=0.5, rounds=3)
  c.gap.sizes = ("13k",)
  c.gap.d_f.min, c.gap.d_f.max, c.gap.d_f.num = 1_000, 4_642, 2
  c.max_members = 24
  c.analysis.update(bootstrap=1000, example_size="56k", example_d_f=4_642, cost_ratio=0.01)
  return c


def decision_scale(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The decision scale, for any pair: the quickstart's sizes and context with the protocol that can decide.

  Eight seeds; D_F on 5 points over 1.33 decades (600 B - 12.9 kB, on the from-scratch grid);
  from-scratch runs 600 B - 50 kB at 3 per decade (the bracketing adds more where a D_E needs
  them); learning rates on half-decade grids extended until interior (three rounds for fine-tuning),
  chosen on three seeds from scratch and four fine-tuned (one per pre-trained model; the others train
  at the choice); evaluation at least 4 times per epoch; pre-training 2,000 steps
  per size for four seeds (the pre-trained model's own variance is the largest single component of
  the multiplier's), each kept p (100 - 2,000 steps) a model that finished there (warmup-stable-decay
  with 20% cool-downs).
  """
  c = cpu_scale(c)
  c.seeds = tuple(range(8))
  c.d_f.min, c.d_f.max, c.d_f.num = 600, 12_927, 5   # 600 * 10^(j/3): 600, 1,293, 2,785, 6,000, 12,927
  c.scratch_d_max = 50_000
  c.evals_per_epoch = 4.0
  c.pretrain.update(schedule="wsd", seeds=(0, 1, 2, 3), cooldown=0.2, warmup=50, first_kept_step=100, num_kept=4)
  c.scratch.update(lrs=(1e-3, 3e-3), lr_rounds=2, tune_seeds=3)
  # Fine-tuning the longest-trained models at 600 B wants rates down to 3e-5 and below (the first
  # decision_python draws stopped at a floor of 1e-5 in 3 and 7 cells), short ones up to 1e-2.
  c.finetune.update(lrs=(3e-4, 1e-3), lr_rounds=3, tune_seeds=4, lr_floor=1e-6)
  c.gap.d_f.min, c.gap.d_f.max, c.gap.d_f.num = 600, 12_927, 3
  c.analysis.update(example_size="56k", example_d_f=2_785)
  return c


def at_scale(c: ml_collections.ConfigDict, scale: Optional[str]) -> ml_collections.ConfigDict:
  """c itself (scale None or "gpu"), or the same pair at the CPU scale ("cpu") or the decision scale ("decision")."""
  if scale in (None, "", "gpu"):
    return c
  scales = {"cpu": cpu_scale, "decision": decision_scale}
  if scale not in scales:
    raise UsageError(f"unknown scale {scale!r} after ':' in --config; use NAME.py:cpu, NAME.py:decision, or nothing "
                     "for the GPU scale")
  out = scales[scale](c)
  out.study = f"{c.study}_{scale}"
  return out


# Building the dataclasses from nested dicts, with the field named in every error.

def typed(cls, c, where: str = "config"):
  """The frozen dataclass `cls` of a ConfigDict or dict (unknown fields and wrong types are UsageErrors); the
  schema machinery of StudyConfig, for the other commands' configs."""
  return _build(cls, c.to_dict() if isinstance(c, ml_collections.ConfigDict) else dict(c), where)


def _build(cls, d, where: str):
  if isinstance(d, cls):
    return d
  if not isinstance(d, dict):
    raise UsageError(f"{where} must be a section of fields, got {type(d).__name__} {d!r}")
  names = {f.name: f for f in dataclasses.fields(cls)}
  unknown = sorted(set(d) - set(names))
  if unknown:
    raise UsageError(f"unknown config field(s) {', '.join(f'{where}.{u}' for u in unknown)}; "
                     f"known fields there: {', '.join(names)}")
  hints = typing.get_type_hints(cls)
  kw = {}
  for name, value in d.items():
    kw[name] = _coerce(hints[name], value, f"{where}.{name}", cls is StudyConfig and name == "model")
  return cls(**kw)


def _coerce(kind, value, where: str, is_model: bool = False):
  if is_model:
    if not isinstance(value, dict):
      raise UsageError(f"{where} must be a section of ModelConfig options, got {value!r}")
    defaults_ = {f.name: f.default for f in dataclasses.fields(model_lib.ModelConfig)}
    return tuple(sorted((k, v) for k, v in value.items() if k not in defaults_ or v != defaults_[k]))
  if dataclasses.is_dataclass(kind):
    return _build(kind, value, where)
  if kind is bool:
    if not isinstance(value, bool):
      raise UsageError(f"{where}={value!r} must be true or false")
    return value
  if kind is int:
    if isinstance(value, bool) or not isinstance(value, int):
      if isinstance(value, float) and value.is_integer():
        return int(value)
      raise UsageError(f"{where}={value!r} must be an integer")
    return value
  if kind is float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      raise UsageError(f"{where}={value!r} must be a number")
    return float(value)
  if kind is str:
    if not isinstance(value, str):
      raise UsageError(f"{where}={value!r} must be a string")
    return value
  if kind is tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
      value = (value,)
    return tuple(value)
  return value


def _plain(x):
  if dataclasses.is_dataclass(x):
    return {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
  if isinstance(x, tuple):
    return tuple(_plain(v) for v in x)
  return x


def _need(ok, message: str) -> None:
  if not ok:
    raise UsageError(message)


def _distinct(values, where: str) -> None:
  repeated = [v for i, v in enumerate(values) if v in values[:i]]
  once = ", ".join(f'"{v}"' if isinstance(v, str) else repr(v) for v in dict.fromkeys(values))
  _need(not repeated, f"{where}={tuple(values)!r} repeats {', '.join(map(repr, dict.fromkeys(repeated)))}; "
        f"list each value once, e.g. --{where}='({once},)'")


def _positive(value, where: str) -> None:
  _need(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
        f"{where}={value!r} must be a positive integer")


def _lr(value, where: str) -> None:
  _need(isinstance(value, (int, float)) and math.isfinite(value) and value > 0,
        f"{where} has {value!r}; every learning rate must be a positive finite number")
