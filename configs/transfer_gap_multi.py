r"""One source, several targets: the transfer gap G of Barnett (2024) per target.

  transfer-scaling sweep   --config configs/transfer_gap_multi.py:cpu --workdir runs/transfer_gap_multi_cpu
  transfer-scaling analyze --workdir runs/transfer_gap_multi_cpu

English is pre-trained once per size; each target (Python code, German, fruit-fly DNA) gets its
own zero-shot, from-scratch and fine-tuning runs and its own fit of
L(p, f) = (A p^-alpha + G) f^-beta + E over the (p, f) grid of the gap size.
Runtime (`:cpu`, the quickstart's scale): 741 runs, 1,039 s of sweep with the 216 initial
from-scratch runs of Python and German (same ids, from the quickstart and english_to_german)
already in the workdir and another study sharing the 2 cores part of the time, and 48 s of
analysis on a 2-core AMD EPYC (2026-12-02).
Result (docs/results.md, results/transfer_gap_multi_cpu; re-analysed 2026-12-07): G not determined
for any target; multipliers at the design centre (26,892 parameters, 2,155 B): German 5.34, DNA
1.00 [1.00, 1.46] (gain -0.004 [-0.009, 0.001]: English pre-training gives DNA nothing); Python: no
joint fit (its fine-tuned runs are best at step 0), gain 0.701. Without `:cpu`: the GPU scale (sizes
793k-4.7M; not run yet).
Expected outcome (Barnett): a small G for German, a larger one for Python, the largest for DNA.
"""
from transfer_scaling.study import config as study_config


def get_config(scale=None):
  c = study_config.defaults()
  c.study, c.source, c.targets = "transfer_gap_multi", "english", ("python", "german", "dna")
  c.sizes = ("793k", "1.8M", "4.7M")
  c.d_f.max, c.d_f.num, c.scratch_d_max = 3_000_000, 5, 10_000_000
  c.pretrain.num_kept = 6
  c.gap.d_f.num = 5
  return study_config.at_scale(c, scale)  # ":cpu": the same pair at the quickstart's scale
