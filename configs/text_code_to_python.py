r"""50% English + 50% non-Python code -> Python (Hernandez et al. 2021, Table 1 row 2).

  transfer-scaling sweep   --config configs/text_code_to_python.py:cpu --workdir runs/text_code_to_python_cpu
  transfer-scaling analyze --workdir runs/text_code_to_python_cpu

`:cpu` is the quickstart's scale. Runtime: 297 runs (the bracketing extended every size to 1 MB),
915 s of sweep with the quickstart's 108 from-scratch runs (same ids) already in the workdir, the
two corpora prepared in it and another study sharing the 2 cores, and 35 s of analysis on a 2-core
AMD EPYC (2026-12-02).
Result (docs/results.md, results/text_code_to_python_cpu; re-analysed 2026-12-07): fine-tuning gain
0.828 [0.663, 0.992] nats/byte; 51 of the 54 runs fine-tuned from 2,000 steps are best at step 0 (the
pre-trained model itself; lr 1e-3 and 3e-3), and too few fine-tuned runs lie in the low-data regime for a transfer
law: no joint fit. Use `:decision`. Expected (paper): alpha 0.096 against 0.18 for text -> Python, the same beta.
`:decision` (results/text_code_to_python_decision; docs/results.md): 684 runs beside the 390 from-scratch
runs of decision_python (same ids), 38.4 min of sweep on a 2-core AMD EPYC shared with two other sweeps
(2026-12-07), 120 s of analysis; alpha 0.288 [0.042, 0.791], 0.27 [0.0515, 0.489] below decision_python's
paired by seed (99.3%, results/comparisons/decision.csv); multiplier at the design centre 219 [149, 584];
0 of 5 held-out losses inside.
Without `:cpu`: the GPU scale (not run yet). Several machines: add --shard i/n.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "text_code_to_python", "english+code", ("python",)
  c.d_f.max, c.scratch_d_max = 3_000_000, 10_000_000  # the python corpus has ~10.7 MB
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
