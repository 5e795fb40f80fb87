r"""English -> Spanish (Kim 2021), byte-level on software documentation.

  transfer-scaling sweep --config configs/english_to_spanish.py --workdir runs/english_to_spanish
  transfer-scaling analyze --workdir runs/english_to_spanish

Runtime (estimated from the per-step speed of the sizes, not measured end to end):
about 3-5 hours on one H100 (this scale has not been run yet).
On 2 CPU cores: `--config configs/english_to_spanish.py:cpu` runs the same pair at the quickstart's
scale (sizes 13k-100k, D_F 1-32 kB, 51 runs) in about 4-6 minutes; results in
results/english_to_spanish_cpu and docs/results.md.
Several machines: add --shard i/n to split the runs.
Expected outcome: transfer between German's and Chinese's; the Spanish corpus is smaller, so d_f.max is lower.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_spanish", "english", ("spanish",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # the Spanish corpus has ~10 MB
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
