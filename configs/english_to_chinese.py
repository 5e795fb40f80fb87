r"""English -> Chinese (Kim 2021). A byte-level model sidesteps the tokenizer penalty Kim noted.

  transfer-scaling sweep   --config configs/english_to_chinese.py:cpu --workdir runs/english_to_chinese_cpu
  transfer-scaling analyze --workdir runs/english_to_chinese_cpu
  transfer-scaling sweep   --config configs/english_to_chinese.py:decision --workdir runs/english_to_chinese_decision

`:cpu` is the quickstart's scale (sizes 13k, 25k, 56k; seeds 0-2; D_F 1.0-4.6 kB; from scratch from
1 kB until every D_E is bracketed; lr chosen per cell on validation). Runtime: 207 runs, 655 s of
sweep (the Chinese corpus prepared in it; another study shared the 2 cores throughout) and 73 s of
analysis on a 2-core AMD EPYC (2026-12-02).
Result (docs/results.md, results/english_to_chinese_cpu; re-analysed 2026-12-07): multiplier at the
design centre (26,892 parameters, 2,155 B) 2.38 [1.78, 3.33], the smallest of the languages, at 56k
and 4,642 B 1.95 [1.49, 3.00]; alpha 0.220 [-0.290, 0.885], beta 0.303 [0.109, 0.421]; fine-tuning
gain 0.365 [-0.116, 0.846] nats/byte (2.29 bytes per character in this corpus); G not determined;
held-out size 3 of 3 inside.
`:decision` (results/english_to_chinese_decision): 943 runs, 52.6 min of sweep on a 2-core AMD EPYC
(2026-12-07); multiplier at the design centre (26,892 parameters, 2,785 B) 3.25 [2.85, 3.70], against
3.39 [2.85, 4.07] without the 14% of shared documents (english_to_chinese_own); alpha 0.166 [0.026,
0.272], beta 0.536 [0.382, 0.682]; gain 0.517 [0.470, 0.562] nats/byte; G not determined; held-out
size not made (the refit without 56k did not converge).
Expected (Kim 2021): the smallest transfer of the languages.
Without a scale: the GPU scale (sizes up to 14M; not run yet). Several machines: add --shard i/n.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_chinese", "english", ("chinese",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 12_000_000  # ~15 MB of Chinese
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
