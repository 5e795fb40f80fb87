r"""English -> French without shared documents (#34): `english_to_french` with the target `french-own`.

  transfer-scaling corpora prepare english french-own
  transfer-scaling sweep   --config configs/english_to_french_own.py:decision --workdir runs/french_own_decision
  transfer-scaling analyze --workdir runs/french_own_decision

62% of the bytes of `french` translate pages that `english` holds (same translation key);
`french-own` keeps only the documents with no version in `english` (0.0% by key, 0.1% by shared
tokens; what is left: man pages and the package descriptions english does not hold: 9.3 of 24.5 MB;
docs/corpora.md, "Targets without shared documents"). The source stays `english`, so against
`english_to_french` only the target's shared documents differ. `:decision` is the decision scale (as
decision_python), `:cpu` the quickstart's; without a scale, the GPU scale.
Runtime (`:decision`): 885 runs (the bracketing took every size's from-scratch curve to 278 kB),
48.0 min of sweep on a 2-core AMD EPYC (2026-12-07), 3.4 min to copy and analyse beside another sweep.
Result (`:decision`, results/english_to_french_own_decision): multiplier at the design centre (26,892
parameters, 2,785 B) 7.44 [5.94, 9.18], at 56k 8.65 [6.52, 11.3]; alpha 0.895 [0.682, 1.08], beta
0.229 [-0.048, 0.494]; fine-tuning gain 0.447 [0.428, 0.466] nats/byte; G not determined; held-out
size 5 of 5. Expected: less transfer than `english_to_french`, whose target held the source's own
pages in translation (that pair has not run at `:decision`).
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_french_own", "english", ("french-own",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 7_000_000  # ~7 MB of training text (french has ~21 MB)
  return study_config.at_scale(c, scale)  # ":decision" / ":cpu": the same pair at those scales
