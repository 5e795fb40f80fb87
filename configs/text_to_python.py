r"""Code-free English text -> Python (Hernandez et al. 2021, Table 1 row 1).

  transfer-scaling sweep --config configs/text_to_python.py:cpu --workdir runs/text_to_python_cpu
  transfer-scaling analyze --workdir runs/text_to_python_cpu

The source is `english-prose` (plays, speeches, a dictionary, package descriptions: no code), so
that "text -> Python" holds no Python; `text_docs_to_python` is the same pair from `english`, whose
documentation sources carry code examples (10 of its 70 MB are the Python documentation).
Runtime and result: not yet run under the current protocol (seeds, validation split, bracketing);
the CPU scale (`:cpu`, study_config.cpu_scale) is the quickstart's, about 12 minutes on 2 cores
for the quickstart's source. Without `:cpu`, the GPU scale (sizes 335k-14M). Several machines:
add --shard i/n to split the runs.
Expected outcome: the paper (BPE tokens, characters) has alpha 0.18, beta 0.38; a smaller multiplier
than text_docs_to_python and text_code_to_python (Appendix F: 0.3% Python in pre-training raised
effective data 4.5x).
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "text_to_python", "english-prose", ("python",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # the python corpus has ~10.7 MB
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
