r"""English -> French, the fourth language on the same documentation.

  transfer-scaling sweep   --config configs/english_to_french.py:cpu --workdir runs/english_to_french_cpu
  transfer-scaling analyze --workdir runs/english_to_french_cpu

`:cpu` is the quickstart's scale (sizes 13k, 25k, 56k; seeds 0-2; D_F 1.0-4.6 kB; from scratch from
1 kB until every D_E is bracketed; lr chosen per cell on validation). Runtime: 261 runs, 736 s of
sweep (the French corpus prepared in it; another study shared the 2 cores) and 18 s of analysis on
a 2-core AMD EPYC (2026-12-02).
Result (docs/results.md, results/english_to_french_cpu; re-analysed 2026-12-07): multiplier at the
design centre (26,892 parameters, 2,155 B) 5.77 [4.22, 8.28], at 56k and 4,642 B 7.28 [4.21, 14.1];
alpha 1.16 [0.690, 1.74], beta 0.207 [-0.306, 0.670]; fine-tuning gain 0.349 [0.339, 0.359]
nats/byte; G not determined; held-out size 3 of 3 inside; every D_E bracketed.
Expected: transfer close to Spanish and German (Latin script, shared documentation).
Without `:cpu`: the GPU scale (sizes up to 14M; not run yet). Several machines: add --shard i/n.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_french", "english", ("french",)
  c.scratch_d_max = 20_000_000  # ~21 MB of French
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
