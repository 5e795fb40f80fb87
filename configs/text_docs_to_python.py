r"""English text with code examples -> Python: the `english` corpus, whose documentation holds code.

  transfer-scaling sweep   --config configs/text_docs_to_python.py:cpu --workdir runs/text_docs_to_python_cpu
  transfer-scaling analyze --workdir runs/text_docs_to_python_cpu

`english` mixes ten sources, among them the Python documentation with its examples (10 of 70 MB),
the Linux kernel's documentation and other manuals; set against `text_to_python` (code-free
English) it measures what a little Python in the source is worth (Hernandez et al. 2021, Appendix F).
Runtime (`:cpu`, the quickstart's scale): 297 runs (the bracketing extended every size to 1 MB),
839 s of sweep with the quickstart's 108 from-scratch runs (same ids) already in the workdir and
another study sharing the 2 cores, and 31 s of analysis on a 2-core AMD EPYC (2026-12-02).
Result (docs/results.md, results/text_docs_to_python_cpu; re-analysed 2026-12-07): fine-tuning gain
0.701 [0.548, 0.854] nats/byte; 46 of the 54 runs fine-tuned from 2,000 steps are best at step 0
(lr 1e-3 and 3e-3), and too few fine-tuned runs lie in the low-data regime for a transfer law: no joint
fit. Use `:decision`.
`:decision` (results/text_docs_to_python_decision; docs/results.md): 1,062 runs, 390 of them decision_python's
from-scratch runs (same ids); the other 672 in 19.8 min alone on a 2-core AMD EPYC after 44 at low priority beside
other work (2026-12-07), 73 s to copy and analyse; alpha 0.311 [0.189, 0.602], 0.248 [0.136, 0.36] below
decision_python's (paired by seed; 99.3%, results/comparisons/decision.csv); multiplier at the design
centre 86.5 [67.3, 118], 7.2x decision_python's; 5 of 5 held-out losses inside.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "text_docs_to_python", "english", ("python",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # the python corpus has ~10.7 MB
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
