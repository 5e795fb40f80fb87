r"""English -> French, the fourth language on the same documentation.

  transfer-scaling sweep --config configs/english_to_french.py --workdir runs/english_to_french
  transfer-scaling analyze --workdir runs/english_to_french

Runtime (estimated from the per-step speed of the sizes, not measured end to end):
about 3-5 hours on one H100 (this scale has not been run yet).
On 2 CPU cores: `--config configs/english_to_french.py:cpu` runs the same pair at the quickstart's
scale (sizes 13k-100k, D_F 1-32 kB, 51 runs) in about 4-6 minutes; results in
results/english_to_french_cpu and docs/results.md.
Several machines: add --shard i/n to split the runs.
Expected outcome: transfer close to Spanish and German (Latin script, shared vocabulary).
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_french", "english", ("french",)
  c.scratch_d_max = 20_000_000  # ~21 MB of French
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
