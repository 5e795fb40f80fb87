r"""English -> Chinese (Kim 2021). A byte-level model sidesteps the tokenizer penalty Kim noted.

  transfer-scaling sweep --config configs/english_to_chinese.py --workdir runs/english_to_chinese
  transfer-scaling analyze --workdir runs/english_to_chinese

Runtime (estimated from the per-step speed of the sizes, not measured end to end):
about 3-5 hours on one H100 (this scale has not been run yet).
On 2 CPU cores: `--config configs/english_to_chinese.py:cpu` runs the same pair at the quickstart's
scale (sizes 13k-100k, D_F 1-32 kB, 51 runs) in about 4-6 minutes; results in
results/english_to_chinese_cpu and docs/results.md.
Several machines: add --shard i/n to split the runs.
Expected outcome: the smallest transfer of the languages (large alpha or small k); losses in nats per byte are not comparable to nats per character (about 3 bytes per Chinese character).
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_chinese", "english", ("chinese",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 12_000_000  # ~15 MB of Chinese
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
