r"""English -> fruit-fly DNA (Barnett 2024's most distant target): where pre-training should give nothing.

  transfer-scaling corpora prepare english dna
  transfer-scaling sweep   --config configs/english_to_dna.py:decision --workdir runs/english_to_dna_decision
  transfer-scaling analyze --workdir runs/english_to_dna_decision

The DNA target of `transfer_gap_multi` on its own, so that it can run at the decision scale (as
decision_python: 8 seeds, D_F 600 B - 12.9 kB, four pre-training seeds, p = 100 - 2,000 steps).
`:cpu` is the quickstart's scale; without a scale, the GPU scale.
Runtime at `:decision`: 44.8 min of sweep on a 2-core AMD EPYC (2026-12-07), 1,047 runs (its 12
pre-training runs copied by id from english_to_chinese_decision, the same runs; they take about 2 min).
Result (results/english_to_dna_decision): pre-training on English is worth nothing for DNA, a fine-tuning
gain of -0.001 [-0.002, 0.001] nats/byte; no joint fit (no fine-tuned run lies in the low-data regime:
DNA's from-scratch loss levels off at once), law-free multipliers 0.50-1.97 over the 11 cells that have
one; gap law at 13k: G = 0.318 [0.189, 2.31], alpha not determined.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_dna", "english", ("dna",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # as transfer_gap_multi
  return study_config.at_scale(c, scale)  # ":decision" / ":cpu": the same pair at those scales
