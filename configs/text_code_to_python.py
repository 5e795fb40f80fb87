r"""50% English + 50% non-Python code -> Python (Hernandez et al. 2021, Table 1 row 2).

  transfer-scaling sweep --config configs/text_code_to_python.py --workdir runs/text_code_to_python
  transfer-scaling analyze --workdir runs/text_code_to_python

Runtime (estimated from the per-step speed of the sizes, not measured end to end):
about 3-5 hours on one H100; not practical on 2 CPU cores (use quickstart there, or
--config.sizes='("100k","335k","793k")' --config.seq_len=128 for a day-long CPU run).
Several machines: add --shard i/n to split the runs.
Expected outcome: a smaller alpha than text_to_python (code is closer to Python; the paper has 0.096 vs 0.18), about the same beta (it depends on the target only), and a larger k.
"""
from transfer_scaling.study import defaults


def get_config(scale=None):
  c = defaults.base(source="english+code", target="python", study="text_code_to_python")
  c.d_f.max, c.d_f_large = 3_000_000, (10_000_000,)  # the python corpus has ~10.7 MB
  return defaults.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
