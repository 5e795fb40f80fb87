r"""English -> Spanish (Kim 2021), byte-level on software documentation.

  transfer-scaling sweep   --config configs/english_to_spanish.py:cpu --workdir runs/english_to_spanish_cpu
  transfer-scaling analyze --workdir runs/english_to_spanish_cpu
  transfer-scaling sweep   --config configs/english_to_spanish.py:decision --workdir runs/english_to_spanish_decision

`:cpu` is the quickstart's scale (sizes 13k, 25k, 56k; seeds 0-2; D_F 1.0-4.6 kB; from scratch from
1 kB until every D_E is bracketed; lr chosen per cell on validation). Runtime: 297 runs (the
bracketing extended every size to 1 MB), 1,453 s of sweep (the Spanish corpus prepared in it;
another study shared the 2 cores throughout) and 55 s of analysis on a 2-core AMD EPYC (2026-12-02).
Result (docs/results.md, results/english_to_spanish_cpu; re-analysed 2026-12-07): multiplier at the
design centre (26,892 parameters, 2,155 B) 11.3 [7.82, 16.7], at 56k and 4,642 B 13.8 [8.19, 23.0];
alpha 0.948 [0.556, 1.36], beta 0.341 [0.107, 0.551]; fine-tuning gain 0.408 [0.329, 0.486]
nats/byte; G not determined; held-out size 1 of 3 inside (do not extrapolate in N). 76% of the
target's bytes are versions of pages the source holds: `english_to_spanish_own` is the pair without them.
`:decision` (the decision scale, as decision_python; results/english_to_spanish_decision): 1,045 runs, 57.4
min of sweep on a 2-core AMD EPYC (2026-12-07), 93 s to copy and analyse. Result: multiplier at the design
centre (26,892 parameters, 2,785 B) 24.7 [17.1, 38.3] (bounded: hi/lo 2.24), 2.9x the pair without shared
documents' 8.59 (docs/results.md); alpha 1.17 [0.914, 1.47], beta 0.354 [-0.056, 0.745]; fine-tuning gain
0.450 [0.425, 0.475] nats/byte; G <= 3.23; held-out size 5 of 5; one cell's D_E beyond the from-scratch
runs; 11 runs cut off at their step ceiling (4 of them chosen, left out of the fits). Its pre-training runs
are bit-identical to the other English-source decision studies'. With pre-training varied at 56k too
(`--config.gap.sizes='("13k","56k")'`, advise's cheapest next step: 184 more runs, 16.1 min) `advise`
decides for more pre-training (99%); the transfer law's numbers are unchanged.
Expected (Kim 2021): less transfer than German, more than Chinese; here Spanish gains more than German.
Without a scale: the GPU scale (sizes up to 14M; not run yet). Several machines: add --shard i/n.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_spanish", "english", ("spanish",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # the Spanish corpus has ~10 MB
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
