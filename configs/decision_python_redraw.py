r"""decision_python drawn again: other seeds and other D_F subsets, the same protocol.

  transfer-scaling sweep --config decision_python_redraw --workdir runs/decision_python_redraw
  transfer-scaling analyze --workdir runs/decision_python_redraw

Seeds 8-15 (initialisations, batch orders, nested D_F subsets), data_seed 1 and pre-training seeds 2
and 3: no run is shared with decision_python, so the two studies' estimates are independent draws
of one protocol, and each should fall inside the other's interval.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.defaults()
  c.source, c.targets = "english-prose", ("python",)
  c = study_config.decision_scale(c)
  c.study = "decision_python_redraw"
  c.seeds = tuple(range(8, 16))
  c.data_seed = 1
  c.pretrain.seeds = (2, 3)
  return c
