r"""decision_python drawn again: other seeds and other D_F subsets, the same protocol.

  transfer-scaling sweep --config decision_python_redraw --workdir runs/decision_python_redraw
  transfer-scaling analyze --workdir runs/decision_python_redraw

Seeds 8-15 (initialisations, batch orders, nested D_F subsets), data_seed 1 and pre-training seeds 4-7:
no run is shared with decision_python, so the two studies' estimates are independent draws of one
protocol, and each should fall inside the other's interval.

Runtime: about 55-60 min of sweep on 2 CPU cores (2-core AMD EPYC shared with other jobs, 2026-12-07:
31.4 min for the 536 runs beside the from-scratch ones, which an earlier sweep had trained). Expected
result (results/decision_python_redraw): multiplier at the design centre 11.6 [9.76, 13.9]; alpha
0.562 [0.232, 0.828] (bounded: the profile's [0.498, 0.663] is narrower), beta 0.475 [0.332, 0.626]; each
inside the other draw's interval.
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
