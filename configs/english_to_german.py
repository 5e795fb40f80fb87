r"""English -> German (Kim 2021), byte-level on software documentation.

  transfer-scaling sweep   --config configs/english_to_german.py:cpu --workdir runs/english_to_german_cpu
  transfer-scaling analyze --workdir runs/english_to_german_cpu
  transfer-scaling sweep   --config configs/english_to_german.py:decision --workdir runs/english_to_german_decision

`:cpu` is the quickstart's scale (sizes 13k, 25k, 56k; seeds 0-2; D_F 1.0-4.6 kB; from scratch from
1 kB until every D_E is bracketed; lr chosen per cell on validation). Runtime: 243 runs, 1,071 s of
sweep (the English and German corpora prepared in it; another study shared the 2 cores throughout)
and 78 s of analysis on a 2-core AMD EPYC (2026-12-02).
Result (docs/results.md, results/english_to_german_cpu; re-analysed 2026-12-07): multiplier at the
design centre (26,892 parameters, 2,155 B) 5.34 [4.45, 6.28], at 56k and 4,642 B 5.18 [3.94, 6.61];
alpha 0.857 [0.671, 1.05], beta 0.098 [-0.102, 0.293]; fine-tuning gain 0.299 [0.260, 0.339]
nats/byte; G not determined; held-out size 3 of 3 inside; every D_E bracketed. 46% of the target's
bytes are versions of pages the source holds: `english_to_german_own` is the pair without them.
`:decision` (the decision scale, as decision_python; results/english_to_german_decision): 1,010 runs, 50.4
min of sweep on a 2-core AMD EPYC (2026-12-07), 6.3 min to copy and analyse at low priority beside another
sweep. Result: multiplier at the design centre (26,892 parameters, 2,785 B) 9.76 [7.5, 13.3], 1.42x the
pair without shared documents' 6.88 (docs/results.md); alpha 1.07 [0.875, 1.31], beta 0.199 [-0.123,
0.512]; fine-tuning gain 0.366 [0.347, 0.383] nats/byte; G <= 3.62; held-out size 5 of 5. Its pre-training
runs are bit-identical to english_to_german_own_decision's: the two studies differ in the target only.
Expected (Kim 2021): the largest transfer of the languages, German > Spanish > Chinese.
Without a scale: the GPU scale (sizes up to 14M; not run yet). Several machines: add --shard i/n.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "english_to_german", "english", ("german",)
  c.scratch_d_max = 20_000_000  # ~23 MB of German
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
