r"""50% English + 50% non-Python code -> Python (Hernandez et al. 2021, Table 1 row 2).

  transfer-scaling sweep --config configs/text_code_to_python.py --workdir runs/text_code_to_python
  transfer-scaling analyze --workdir runs/text_code_to_python

Runtime (estimated from the per-step speed of the sizes, not measured end to end):
about 3-5 hours on one H100 (this scale has not been run yet).
On 2 CPU cores: `--config configs/text_code_to_python.py:cpu` runs the same pair at the quickstart's
scale (sizes 13k-100k, D_F 1-32 kB, 51 runs) in about 4-6 minutes; results in
results/text_code_to_python_cpu and docs/results.md.
Several machines: add --shard i/n to split the runs.
Expected outcome: a smaller alpha than text_to_python (code is closer to Python; the paper has 0.096 vs 0.18), about the same beta (it depends on the target only), and a larger k.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "text_code_to_python", "english+code", ("python",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # the python corpus has ~10.7 MB
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
