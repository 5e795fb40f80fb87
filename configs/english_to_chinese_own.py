r"""English -> Chinese without shared documents (#34): `english_to_chinese` with the target `chinese-own`.

  transfer-scaling corpora prepare english chinese-own
  transfer-scaling sweep   --config configs/english_to_chinese_own.py:decision --workdir runs/chinese_own_decision
  transfer-scaling analyze --workdir runs/chinese_own_decision

14% of the bytes of `chinese` translate pages that `english` holds (same translation key);
`chinese-own` keeps only the documents with no version in `english` (0.0% by key; 3.2% by shared
tokens: Debian tips in fortunes-zh that partly translate the Debian Reference; what is left:
People's Daily and reviews, man pages, poems and tips, the package descriptions english does not
hold: 22.1 of 25.7 MB; docs/corpora.md, "Targets without shared documents"). The source stays
`english`, so against `english_to_chinese` only the target's shared documents differ. `:decision` is
the decision scale (as decision_python), `:cpu` the quickstart's; without a scale, the GPU scale.
Runtime (`:decision`): 873 runs, 43.5 min of sweep on a 2-core AMD EPYC (2026-12-07, a test run at low
priority beside it), 3 min to copy and analyse.
Expected result (`:decision`, results/english_to_chinese_own_decision): multiplier at the design centre
(26,892 parameters, 2,785 B) 3.39 [2.85, 4.07]; alpha 0.141 [-0.144, 0.278], beta 0.555 [0.329, 0.791];
fine-tuning gain 0.559 [0.442, 0.671] nats/byte (2.37 bytes per character); held-out size 5 of 5; 2 runs
failed (no improvement at lr 1e-4) and are left out.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_chinese_own", "english", ("chinese-own",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 12_000_000  # as english_to_chinese
  return study_config.at_scale(c, scale)  # ":decision" / ":cpu": the same pair at those scales
