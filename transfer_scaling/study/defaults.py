"""The defaults every study config starts from (configs/*.py change what differs).

Scale: sizes 335k-14M, context 256, D_F 100 kB-30 MB; sized for one GPU in hours.
`at_scale(c, "cpu")` shrinks any study to the quickstart's scale (minutes on 2 CPU cores),
which every study config offers as `--config configs/NAME.py:cpu`.
"""
import ml_collections

from transfer_scaling import config as config_lib
from transfer_scaling.errors import UsageError


def base(source: str, target: str, study: str) -> ml_collections.ConfigDict:
  """A study config with every field; see configs/quickstart.py for what each one means."""
  c = ml_collections.ConfigDict()
  c.study, c.source, c.target, c.targets = study, source, target, ()
  c.sizes = ("335k", "793k", "1.8M", "4.7M", "14M")
  c.seq_len, c.batch_size, c.dtype = 256, 32, "bfloat16"
  c.seeds = (0,)
  c.data_seed = 0
  c.eval_bytes = 1_000_000
  c.d_f = ml_collections.ConfigDict(dict(min=100_000, max=10_000_000, num=6))
  c.d_f_large = (30_000_000,)
  c.eval_every, c.patience, c.ckpt_every = 200, 5, 1000
  c.pretrain = ml_collections.ConfigDict(dict(steps=20_000, lr=1e-3, schedule="cosine", warmup=500,
                                              eval_every=1000, seed=0, first_kept_step=1000, num_kept=5))
  stage = dict(lrs=(), schedule="constant", warmup=100, max_epochs=50.0, min_steps=400, max_steps=20_000)
  c.scratch = ml_collections.ConfigDict(dict(stage, lr=1e-3))
  c.finetune = ml_collections.ConfigDict(dict(stage, lr=3e-4))
  c.gap = ml_collections.ConfigDict(dict(sizes=("1.8M",), d_f_min=100_000, d_f_max=3_000_000, d_f_num=4))
  # Step budgets are rounded up to eval_every * budget_base^j: runs with budgets within that factor share an ensemble.
  c.ensemble = ml_collections.ConfigDict(dict(max_members=8, budget_base=4.0))
  c.analysis = ml_collections.ConfigDict(dict(bootstrap=1000, example_size="4.7M", example_d_f=300_000,
                                              cost_ratio=0.01, low_data_max_d_f=0))
  return c


def at_scale(c: ml_collections.ConfigDict, scale=None) -> ml_collections.ConfigDict:
  """c itself (scale None or "gpu"), or the same pair at the quickstart's scale (scale "cpu").

  The cpu scale keeps the study's source and targets and takes everything else (sizes
  13k-100k, context 64, D_F 1-32 kB, budgets, learning rates, analysis) from
  configs/quickstart.py, so that all CPU studies are comparable with each other.
  """
  if scale in (None, "", "gpu"):
    return c
  if scale != "cpu":
    raise UsageError(f"unknown scale {scale!r} after ':' in --config; use NAME.py:cpu, or nothing for the GPU scale")
  q = config_lib.load_config("quickstart")
  q.study, q.source, q.target, q.targets = f"{c.study}_cpu", c.source, c.target, tuple(c.targets)
  return q
