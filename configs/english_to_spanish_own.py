r"""English -> Spanish without shared documents (#34): `english_to_spanish` with the target `spanish-own`.

  transfer-scaling corpora prepare english spanish-own
  transfer-scaling sweep   --config configs/english_to_spanish_own.py:decision --workdir runs/spanish_own_decision
  transfer-scaling analyze --workdir runs/spanish_own_decision

76% of the bytes of `spanish` translate pages that `english` holds (same translation key);
`spanish-own` keeps only the documents with no version in `english` (0.0% by either detector; what
is left: man pages, fortunes and the package descriptions english does not hold: 3.2 of 13.1 MB;
docs/corpora.md, "Targets without shared documents"). The source stays `english`, so against
`english_to_spanish` only the target's shared documents differ. `:decision` is the decision scale
(as decision_python), `:cpu` the quickstart's; without a scale, the GPU scale.
Runtime (`:decision`): 1,053 runs (the bracketing took every size's from-scratch curve to 1.29 MB), 57.0
min of sweep on a 2-core AMD EPYC (2026-12-07), 1.5 min to copy and analyse.
Expected result (`:decision`, results/english_to_spanish_own_decision): multiplier at the design centre
(26,892 parameters, 2,785 B) 8.59 [6.85, 10.9]; alpha 0.900 [0.744, 1.05], beta 0.182 [-0.098, 0.455];
fine-tuning gain 0.381 [0.355, 0.407] nats/byte; transfer gap G = 1.87 [1.24, 3.13] at 13k with the gap
grid widened by `--config.gap.d_f.num=5` (112 more runs, 6.4 min; 2.22 [1.63, 3.95] before, E not
determined); held-out size 5 of 5; 5 fine-tuned cells at the lowest rate tried
(9.5e-6) and 1 from-scratch cell (1e-4).
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_spanish_own", "english", ("spanish-own",)
  # ~3.2 MB in all: held-out splits of a quarter each (~0.8 MB), ~1.6 MB to train on
  c.valid_bytes = c.test_bytes = 500_000
  c.d_f.max, c.gap.d_f.max, c.scratch_d_max = 1_000_000, 1_000_000, 1_500_000
  return study_config.at_scale(c, scale)  # ":decision" / ":cpu": the same pair at those scales
