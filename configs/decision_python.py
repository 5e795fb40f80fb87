r"""Code-free English text -> Python at the decision scale: the study whose answers can decide.

  transfer-scaling sweep --config decision_python --workdir runs/decision_python
  transfer-scaling analyze --workdir runs/decision_python

The pair of text_to_python (source `english-prose`, no code; target `python`) at
study_config.decision_scale: sizes 13k, 25k, 56k; eight seeds; D_F 600 B - 12.9 kB on 5 points;
from scratch 600 B - 50 kB (more where a D_E needs them); learning rates extended until interior;
pre-training 2,000 steps for four seeds, every kept p a model that finished there.
`decision_python_redraw` is the same study with other seeds and another data_seed.

Runtime: about 55-60 min of sweep on 2 CPU cores with the corpora prepared (measured on a 2-core AMD
EPYC shared with other jobs, 2026-12-07: the from-scratch runs took about 30 min in an earlier sweep
of the same runs, the 512 others 21.0 min). Expected result (results/decision_python,
docs/results.md): multiplier at the design centre (26,892 parameters, 2,785 bytes) 12.0 [10.3, 13.9];
alpha 0.559 [0.458, 0.743], beta 0.502 [0.353, 0.67]; fine-tuning gain 0.477 [0.458, 0.496]
nats/byte; every D_E bracketed.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.defaults()
  c.source, c.targets = "english-prose", ("python",)
  c = study_config.decision_scale(c)
  c.study = "decision_python"
  return c
