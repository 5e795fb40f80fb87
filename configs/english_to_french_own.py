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
Runtime: not run yet (decision_python took 46.6 min of sweep on 2 shared cores).
Expected: less transfer than `english_to_french` (a smaller multiplier and fine-tuning gain), since
that pair's target held the source's own pages in translation; how much less is what this study
measures.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_french_own", "english", ("french-own",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 7_000_000  # ~7 MB of training text (french has ~21 MB)
  return study_config.at_scale(c, scale)  # ":decision" / ":cpu": the same pair at those scales
