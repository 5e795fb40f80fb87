r"""English -> Chinese (Kim 2021). A byte-level model sidesteps the tokenizer penalty Kim noted.

  transfer-scaling sweep   --config configs/english_to_chinese.py:cpu --workdir runs/english_to_chinese_cpu
  transfer-scaling analyze --workdir runs/english_to_chinese_cpu

`:cpu` is the quickstart's scale (sizes 13k, 25k, 56k; seeds 0-2; D_F 1.0-4.6 kB; from scratch from
1 kB until every D_E is bracketed; lr chosen per cell on validation). Runtime: 207 runs, 655 s of
sweep (the Chinese corpus prepared in it; another study shared the 2 cores throughout) and 73 s of
analysis on a 2-core AMD EPYC (2026-12-02).
Result (docs/results.md, results/english_to_chinese_cpu): multiplier at 56k, D_F = 4,642 B: 1.63
[1.13, 11.4], the smallest of the languages; fine-tuning gain 0.365 [-0.116, 0.846] nats/byte (not
comparable across targets: about 3 bytes per Chinese character); alpha -0.01 [-1.63, 3.61], beta
0.32 [0.18, 0.49]; k and G not determined; held-out size 3 of 3 inside.
Expected (Kim 2021): the smallest transfer of the languages.
Without `:cpu`: the GPU scale (sizes up to 14M; not run yet). Several machines: add --shard i/n.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_chinese", "english", ("chinese",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 12_000_000  # ~15 MB of Chinese
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
