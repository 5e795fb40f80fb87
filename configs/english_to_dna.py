r"""English -> fruit-fly DNA (Barnett 2024's most distant target): where pre-training should give nothing.

  transfer-scaling corpora prepare english dna
  transfer-scaling sweep   --config configs/english_to_dna.py:decision --workdir runs/english_to_dna_decision
  transfer-scaling analyze --workdir runs/english_to_dna_decision

The DNA target of `transfer_gap_multi` on its own, so that it can run at the decision scale (as
decision_python: 8 seeds, D_F 600 B - 12.9 kB, four pre-training seeds, p = 100 - 2,000 steps).
`:cpu` is the quickstart's scale; without a scale, the GPU scale.
Runtime: not run yet; the English -> language studies at `:decision` took 43.5-57.4 min of sweep on
2 cores.
Expected (transfer_gap_multi_cpu): a multiplier of about 1 and a fine-tuning gain of about 0 (there,
1.00 [1.00, 1.46] and -0.004 [-0.009, 0.001] nats/byte at 3 seeds), and Barnett's largest G.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_dna", "english", ("dna",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # as transfer_gap_multi
  return study_config.at_scale(c, scale)  # ":decision" / ":cpu": the same pair at those scales
