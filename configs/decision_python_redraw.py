r"""decision_python drawn again: other seeds and other D_F subsets, the same protocol.

  transfer-scaling sweep --config decision_python_redraw --workdir runs/decision_python_redraw
  transfer-scaling analyze --workdir runs/decision_python_redraw

Seeds 8-15 (initialisations, batch orders, nested D_F subsets), data_seed 1 and pre-training seeds 2
and 3: no run is shared with decision_python, so the two studies' estimates are independent draws
of one protocol, and each should fall inside the other's interval.

Runtime: 828 runs, 50.0 min of sweep and 87 s of analysis on a 2-core AMD EPYC shared with other
jobs (2026-12-07). Expected result (results/decision_python_redraw): multiplier at the design centre
11.9 [9.12, 15.8]; alpha 0.569 [0.443, 0.736], beta 0.553 [0.257, 0.827]; each inside the other
draw's interval.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.defaults()
  c.source, c.targets = "english-prose", ("python",)
  c = study_config.decision_scale(c)
  c.study = "decision_python_redraw"
  c.seeds = tuple(range(8, 16))
  c.data_seed = 1
  c.pretrain.seeds = (4, 5, 6, 7)
  return c
