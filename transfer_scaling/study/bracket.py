"""Extend the from-scratch grid until the measured curve brackets every D_E.

D_E, the data a from-scratch model needs for a fine-tuned run's loss, is known only after
fine-tuning. Where it falls beyond the largest from-scratch D, or in a gap of the curve
wider than `max_gap` decades, the interpolation would draw a straight line through an
unmeasured region (or could not answer at all); one within half a gap of the curve's end is
extended too, because a D_E decided on validation may fall beyond the end on test. So once
the fine-tuned and from-scratch runs of a size are done, the sweep asks `new_points` for more
from-scratch D, trains them and asks again, a bounded number of rounds. Decisions read
validation losses only.
"""
import numpy as np

from transfer_scaling.laws.transfer import interpolate_data


def new_points(scratch: dict, finetuned: dict, grid: list, max_gap: float) -> list:
  """From-scratch D (bytes, from `grid`) to add so that every fine-tuned loss is bracketed.

  scratch: D -> validation loss (mean over seeds); finetuned: D_F -> validation loss;
  grid: the candidate D, ascending (the study's 3-per-decade grid up to the corpus size).
  """
  D = np.array(sorted(scratch), np.float64)
  if len(D) < 2 or not finetuned:
    return []
  L = np.array([scratch[d] for d in sorted(scratch)], np.float64)
  d_e, flags = interpolate_data(D, L, np.array(list(finetuned.values()), np.float64))
  grid = np.asarray(sorted(grid), np.float64)
  add = set()
  for x, flag in zip(d_e, flags):
    # Beyond the curve, or within half a gap of its end (decided on validation, a D_E that close to
    # the edge can fall beyond it on test): measure a decade further.
    if flag == "above_range" or (flag == "ok" and np.log10(D[-1] / x) < max_gap / 2):
      add.update(grid[(grid > D[-1]) & (grid <= 10 * D[-1] * (1 + 1e-9))].tolist())
    if flag == "ok":
      i = int(np.clip(np.searchsorted(D, x), 1, len(D) - 1))
      lo, hi = D[i - 1], D[i]
      if np.log10(hi / lo) > max_gap + 1e-9:
        inside = grid[(grid > lo) & (grid < hi)]
        add.update(inside.tolist() if len(inside) else [float(np.sqrt(lo * hi))])
  return sorted(int(round(d)) for d in add if int(round(d)) not in scratch)


def outside(scratch: dict, finetuned: dict, max_gap: float, units: str = "bytes") -> dict:
  """D_F -> why its D_E is not bracketed ('beyond the largest D', 'in a gap of X decades', ...); empty if all are."""
  D = np.array(sorted(scratch), np.float64)
  if len(D) < 2:
    return {d_f: "fewer than two from-scratch points" for d_f in finetuned}
  L = np.array([scratch[d] for d in sorted(scratch)], np.float64)
  keys = list(finetuned)
  d_e, flags = interpolate_data(D, L, np.array([finetuned[k] for k in keys], np.float64))
  out = {}
  for k, x, flag in zip(keys, d_e, flags):
    if flag == "above_range":
      out[k] = f"beyond the largest from-scratch D ({D[-1]:,.0f} {units})"
    elif flag == "below_range":
      out[k] = f"below the smallest from-scratch D ({D[0]:,.0f} {units}): fine-tuning does worse than from scratch"
    else:
      i = int(np.clip(np.searchsorted(D, x), 1, len(D) - 1))
      gap = np.log10(D[i] / D[i - 1])
      if gap > max_gap + 1e-9:
        out[k] = f"in a gap of {gap:.2f} decades ({D[i - 1]:,.0f}-{D[i]:,.0f} {units})"
  return out
