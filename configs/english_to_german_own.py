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
Runtime: not run yet (decision_python took 46.6 min of sweep on 2 shared cores).
Expected: less transfer than `english_to_german` (a smaller multiplier and fine-tuning gain), since
that pair's target held the source's own pages in translation; how much less is what this study
measures.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_german_own", "english", ("german-own",)
  c.scratch_d_max = 12_000_000  # ~12 MB of training text (german has ~23 MB)
  return study_config.at_scale(c, scale)  # ":decision" / ":cpu": the same pair at those scales
