r"""Code-free English text -> Python (Hernandez et al. 2021, Table 1 row 1).

  transfer-scaling sweep --config configs/text_to_python.py:cpu --workdir runs/text_to_python_cpu
  transfer-scaling analyze --workdir runs/text_to_python_cpu

The source is `english-prose` (plays, speeches, a dictionary, package descriptions: no code), so
that "text -> Python" holds no Python; `text_docs_to_python` is the same pair from `english`, whose
documentation sources carry code examples (10 of its 70 MB are the Python documentation).
Runtime (`:cpu`, the quickstart's scale): 243 runs (the bracketing extended every size to 100 kB),
430 s of sweep with its 108 initial from-scratch runs (the quickstart's, same ids) already in the
workdir, and 42 s of analysis, on a 2-core AMD EPYC shared with another study (2026-12-02); the
quickstart trained those 108 runs in 204 s of ensemble time. Result (docs/results.md,
results/text_to_python_cpu; re-analysed 2026-12-07): multiplier at the design centre (26,892
parameters, 2,155 B) 6.55 [4.96, 8.89], at 56k and 4,642 B 6.11 [4.60, 9.20]; alpha 0.695 [0.363,
1.19], beta 0.205 [0.021, 0.363]; fine-tuning gain 0.437 [0.316, 0.559] nats/byte; G not
determined; held-out size 2 of 2 inside; every D_E bracketed. The decision-scale pair is
`decision_python`. Without `:cpu`, the GPU scale (sizes 335k-14M), not run yet. Several machines:
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
