r"""English -> French, the fourth language on the same documentation.

  transfer-scaling sweep --config configs/english_to_french.py --workdir runs/english_to_french
  transfer-scaling analyze --workdir runs/english_to_french

Runtime (estimated from the per-step speed of the sizes, not measured end to end):
about 3-5 hours on one H100; not practical on 2 CPU cores (use quickstart there, or
--config.sizes='("100k","335k","793k")' --config.seq_len=128 for a day-long CPU run).
Several machines: add --shard i/n to split the runs.
Expected outcome: transfer close to Spanish and German (Latin script, shared vocabulary).
"""
from transfer_scaling.study import defaults


def get_config(scale=None):
  c = defaults.base(source="english", target="french", study="english_to_french")
  c.d_f_large = (20_000_000,)  # ~21 MB of French
  return defaults.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
