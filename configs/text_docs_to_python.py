r"""English text with code examples -> Python: the `english` corpus, whose documentation holds code.

  transfer-scaling sweep --config configs/text_docs_to_python.py:cpu --workdir runs/text_docs_to_python_cpu
  transfer-scaling analyze --workdir runs/text_docs_to_python_cpu

`english` mixes ten sources, among them the Python documentation with its examples (10 of 70 MB),
the Linux kernel's documentation and other manuals; set against `text_to_python` (code-free
English) it measures what a little Python in the source is worth (Hernandez et al. 2021, Appendix F).
Runtime and result: not yet run under the current protocol; `:cpu` is the quickstart's scale.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "text_docs_to_python", "english", ("python",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # the python corpus has ~10.7 MB
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
