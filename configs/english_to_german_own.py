r"""English -> German without shared documents (#34): `english_to_german` with the target `german-own`.

  transfer-scaling corpora prepare english german-own
  transfer-scaling sweep   --config configs/english_to_german_own.py:decision --workdir runs/german_own_decision
  transfer-scaling analyze --workdir runs/german_own_decision

46% of the bytes of `german` translate pages that `english` holds (same translation key);
`german-own` keeps only the documents with no version in `english` (0.0% by key, 0.1% by shared
tokens; what is left: man pages, fortunes and the package descriptions english does not hold: 14.2
of 26.3 MB; docs/corpora.md, "Targets without shared documents"). The source stays `english`, so
against `english_to_german` only the target's shared documents differ. `:decision` is the decision
scale (as decision_python), `:cpu` the quickstart's; without a scale, the GPU scale.
Runtime (`:decision`): 938 runs (the bracketing took 25k's from-scratch curve to 6 MB), 44.4 min of
sweep on a 2-core AMD EPYC (2026-12-07, beside a low-priority re-analysis), 3.0 min to copy and analyse.
Expected result (`:decision`, results/english_to_german_own_decision): multiplier at the design centre
(26,892 parameters, 2,785 B) 6.88 [5.19, 9.23]; alpha 1.02 [0.792, 1.28], beta 0.086 [-0.259, 0.442];
fine-tuning gain 0.360 [0.342, 0.378] nats/byte; G <= 3.32 (<= 3.56 before the gap grid was widened
with `--config.gap.d_f.num=5`: 108 more runs, 5.6 min).
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_german_own", "english", ("german-own",)
  c.scratch_d_max = 12_000_000  # ~12 MB of training text (german has ~23 MB)
  return study_config.at_scale(c, scale)  # ":decision" / ":cpu": the same pair at those scales
