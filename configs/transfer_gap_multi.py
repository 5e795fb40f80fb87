r"""One source, several targets: the transfer gap G of Barnett (2024) per target.

  transfer-scaling sweep --config configs/transfer_gap_multi.py --workdir runs/transfer_gap_multi
  transfer-scaling analyze --workdir runs/transfer_gap_multi

English is pre-trained once per size; each target (Python code, German, fruit-fly
DNA) gets its own zero-shot, from-scratch and fine-tuning runs and its own fit of
L(p, f) = (A p^-alpha + G) f^-beta + E over the (p, f) grid of the gap size.
Runtime (estimated, not measured end to end): about 4-6 hours on one H100 (not run yet).
On 2 CPU cores: `--config configs/transfer_gap_multi.py:cpu` (the quickstart's scale,
three targets) in about 15 minutes; results in results/transfer_gap_multi_cpu.
Expected outcome: a small G for German (pre-training keeps paying off), a larger one
for Python, and the largest for DNA, where English pre-training buys little and
fine-tuning data must do the work; the report tabulates G with intervals per target.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "transfer_gap_multi", "english", ("python", "german", "dna")
  c.sizes = ("793k", "1.8M", "4.7M")
  c.d_f.max, c.d_f.num, c.scratch_d_max = 3_000_000, 5, 10_000_000
  c.pretrain.num_kept = 6
  c.gap.d_f.num = 5
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
