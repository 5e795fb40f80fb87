r"""Code-free English text -> Python at the decision scale: the study whose answers can decide.

  transfer-scaling sweep --config decision_python --workdir runs/decision_python
  transfer-scaling analyze --workdir runs/decision_python

The pair of text_to_python (source `english-prose`, no code; target `python`) at
study_config.decision_scale: sizes 13k, 25k, 56k; eight seeds; D_F 600 B - 12.9 kB on 5 points;
from scratch 600 B - 50 kB (more where a D_E needs them); learning rates extended until interior;
pre-training 2,000 steps for two seeds, every kept p a model that finished there.
`decision_python_redraw` is the same study with other seeds and another data_seed.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.defaults()
  c.source, c.targets = "english-prose", ("python",)
  c = study_config.decision_scale(c)
  c.study = "decision_python"
  return c
