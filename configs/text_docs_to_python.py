r"""English text with code examples -> Python: the `english` corpus, whose documentation holds code.

  transfer-scaling sweep --config configs/text_docs_to_python.py:cpu --workdir runs/text_docs_to_python_cpu
  transfer-scaling analyze --workdir runs/text_docs_to_python_cpu

`english` mixes ten sources, among them the Python documentation with its examples (10 of 70 MB),
the Linux kernel's documentation and other manuals; set against `text_to_python` (code-free
English) it measures what a little Python in the source is worth (Hernandez et al. 2021, Appendix F).
Runtime (`:cpu`, the quickstart's scale): 261 runs, 943 s of sweep and 34 s of analysis on a 2-core
AMD EPYC (2026-12-02). Result (docs/results.md): fine-tuning gain 0.745 [0.698, 0.791] nats/byte;
every D_E beyond the largest from-scratch D (1 MB at 56k), so D_T, alpha and beta are not determined
at this scale.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "text_docs_to_python", "english", ("python",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # the python corpus has ~10.7 MB
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
