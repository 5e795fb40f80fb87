r"""Transfer against a known distance: the synthetic encyclopedia family (docs/synthetic.md).

  transfer-scaling sweep   --config configs/synthetic_distance.py --workdir runs/synthetic_distance
  transfer-scaling analyze --workdir runs/synthetic_distance

Pre-train on knob 0 (the source world rendered the source way), then measure transfer
to the same world at knobs 0.25, 0.5, 0.75 and 1 (words, grammar and facts changed
for a nested fraction t of the vocabulary, templates and facts). Quickstart scale:
sizes 13k-100k, D_F 1-32 kB, one seed.
Runtime: about 15-20 minutes on 2 CPU cores (4 targets, about 200 runs); a few minutes
on one H100 (not measured).
Expected outcome (the acceptance of the synthetic family): the fitted alpha of
D_T = k D_F^alpha N^beta and the transfer gap G grow with the knob (distance), and
the effective-data multiplier falls. Whether the bootstrap intervals separate the
extremes at this scale is what the run is for: see docs/results.md.
"""
from transfer_scaling.study import config as study_config


def get_config():
  c = study_config.cpu_scale(study_config.defaults())  # the quickstart's scale
  c.study = "synthetic_distance"
  c.source = "synthetic-0"
  c.targets = ("synthetic-0.25", "synthetic-0.5", "synthetic-0.75", "synthetic-1")
  return c
