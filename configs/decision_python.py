r"""Code-free English text -> Python at the decision scale: the study whose answers can decide.

  transfer-scaling sweep --config decision_python --workdir runs/decision_python
  transfer-scaling analyze --workdir runs/decision_python

The pair of text_to_python (source `english-prose`, no code; target `python`) at
study_config.decision_scale: sizes 13k, 25k, 56k; eight seeds; D_F 600 B - 12.9 kB on 5 points;
from scratch 600 B - 50 kB (more where a D_E needs them); learning rates extended until interior;
pre-training 2,000 steps for two seeds, every kept p a model that finished there.
`decision_python_redraw` is the same study with other seeds and another data_seed.

Runtime: 795 runs, 46.6 min of sweep and 80 s of analysis on a 2-core AMD EPYC shared with other
jobs (2026-12-07), the corpora already prepared. Expected result (results/decision_python,
docs/results.md): multiplier at the design centre (26,892 parameters, 2,785 bytes) 12.4 [10.6, 14.4];
alpha 0.538 [0.438, 0.655], beta 0.514 [0.357, 0.672]; fine-tuning gain 0.483 [0.460, 0.506]
nats/byte; every D_E bracketed; held-out size 5 of 5 inside.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.defaults()
  c.source, c.targets = "english-prose", ("python",)
  c = study_config.decision_scale(c)
  c.study = "decision_python"
  return c
