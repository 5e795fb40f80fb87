"""Effective data transferred (Hernandez et al. 2021): D_E, D_T = D_E - D_F, the multiplier, the law's fit.

D_E of a fine-tuned run is the data a from-scratch model of the same N needs to reach its loss,
found two ways:
  (a) interpolation, as in the paper: each N's from-scratch loss-vs-data curve, made monotone by
      isotonic (pool-adjacent-violators) regression of log loss on log D, inverted piecewise
      linearly in log-log space. A loss outside the measured curve gives NaN and a flag, never an
      extrapolated number.
  (b) a law fitted to all from-scratch runs (default chinchilla), inverted numerically; values
      outside the measured range of D (or at N outside the measured sizes) are kept but flagged
      'extrapolated'.
D_E, D_T, multiplier and transfer_fraction use (a); the *_law columns use (b). Ossification
(fine-tuned worse than from scratch: D_T < 0) is reported in column `ossified`, never dropped.
"""
import dataclasses
import warnings
from typing import Optional

import numpy as np
import pandas as pd

from transfer_scaling.errors import UsageError
from transfer_scaling.laws.measurements import check_columns
from transfer_scaling.laws.fitting import FitResult, fit
from transfer_scaling.laws.definitions import TRANSFER
from transfer_scaling.laws.registry import get_law, in_role

_LOG_D_RANGE = (-20.0, 120.0)  # bisection bracket for log D when inverting a law


def _isotonic_decreasing(y):
  # pool adjacent violators: the non-increasing sequence closest to y in least squares
  blocks = []  # [mean, count]
  for v in y:
    blocks.append([v, 1])
    while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
      m2, c2 = blocks.pop()
      m1, c1 = blocks.pop()
      blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
  return np.concatenate([np.full(c, m) for m, c in blocks])


def interpolate_data(D, loss, target_loss):
  """D at which the monotone log-log curve through (D, loss) reaches target_loss, with a flag per target.

  Flags: 'ok'; 'below_range' (worse than the smallest-D run: D_E < min D); 'above_range' (better than
  the largest-D run: D_E > max D). Out-of-range targets give NaN.
  """
  order = np.argsort(D)
  lx, ly = np.log(np.asarray(D, np.float64)[order]), _isotonic_decreasing(np.log(np.asarray(loss, np.float64)[order]))
  out, flags = [], []
  for t in np.log(np.atleast_1d(np.asarray(target_loss, np.float64))):
    if t > ly[0]:
      out.append(np.nan), flags.append("below_range")
    elif t < ly[-1]:
      out.append(np.nan), flags.append("above_range")
    else:
      j = int(np.argmax(ly <= t))  # first point at or below the target: the least data that reaches it
      if j == 0:
        out.append(np.exp(lx[0]))
      else:
        x = lx[j - 1] + (t - ly[j - 1]) * (lx[j] - lx[j - 1]) / (ly[j] - ly[j - 1])
        out.append(np.exp(x))
      flags.append("ok")
  return np.array(out), np.array(flags, dtype=object)


def invert_law(scratch_fit: FitResult, N, target_loss):
  """D with L_fit(N, D) = target_loss, by bisection in log D (NaN where the law never reaches it)."""
  law = get_law(scratch_fit.law)
  N = np.asarray(N, np.float64)
  t = np.asarray(target_loss, np.float64)
  lo, hi = np.full_like(t, _LOG_D_RANGE[0]), np.full_like(t, _LOG_D_RANGE[1])
  loss_at = lambda logD: law.predict(scratch_fit.params, {"N": N, "D": np.exp(logD)})
  reachable = (loss_at(hi) < t) & (loss_at(lo) > t)
  for _ in range(200):
    mid = 0.5 * (lo + hi)
    above = loss_at(mid) > t
    lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    if np.all(hi - lo < 1e-12):
      break
  return np.where(reachable, np.exp(0.5 * (lo + hi)), np.nan)


def effective_data(scratch, finetuned, *, scratch_law="chinchilla", scratch_fit: Optional[FitResult] = None,
                   rtol_N: float = 1e-6) -> pd.DataFrame:
  """One row per fine-tuned run: its columns plus D_E (interpolated and from the law), D_T, multiplier, flags.

  scratch: from-scratch runs, columns N, D, loss. finetuned: fine-tuned runs, columns N, D_F, loss
  (other columns are kept). scratch_fit: a FitResult of a law in (N, D) to reuse; otherwise
  `scratch_law` is fitted to `scratch` (None: skip the law-based columns).
  The scratch fit is kept in result.attrs['scratch_fit'] for fit_transfer.
  """
  sc = check_columns(scratch, ("N", "D", "loss"), "from-scratch runs", min_rows=2)
  ft_raw = finetuned if isinstance(finetuned, pd.DataFrame) else pd.DataFrame(finetuned)
  ft = check_columns(ft_raw, ("N", "D_F", "loss"), "fine-tuned runs")
  out = ft_raw.reset_index(drop=True).copy()
  N_ft, DF, L_ft = ft["N"].to_numpy(), ft["D_F"].to_numpy(), ft["loss"].to_numpy()
  N_sc = sc["N"].to_numpy()

  D_E = np.full(len(ft), np.nan)
  flag = np.full(len(ft), "no_scratch_runs", dtype=object)
  ossified = pd.array([pd.NA] * len(ft), dtype="boolean")
  lo_sc, hi_sc = np.full(len(ft), np.nan), np.full(len(ft), np.nan)
  for n in np.unique(N_ft):
    rows = np.isclose(N_ft, n, rtol=rtol_N, atol=0)
    same = np.isclose(N_sc, n, rtol=rtol_N, atol=0)
    if np.unique(sc["D"].to_numpy()[same]).size < 2:
      flag[rows] = "too_few_scratch_runs" if same.any() else "no_scratch_runs"
      continue
    d, fl = interpolate_data(sc["D"].to_numpy()[same], sc["loss"].to_numpy()[same], L_ft[rows])
    D_E[rows], flag[rows] = d, fl
    lo_sc[rows], hi_sc[rows] = sc["D"].to_numpy()[same].min(), sc["D"].to_numpy()[same].max()

  out["D_E"] = D_E
  out["interp_flag"] = flag
  out["D_T"] = D_E - DF
  out["multiplier"] = D_E / DF
  out["transfer_fraction"] = (D_E - DF) / D_E
  known = np.isfinite(D_E)
  ossified[known] = (D_E < DF)[known]
  # Out of range, the sign of D_T can still be certain: worse than the smallest-D scratch run
  # with D_F at least that D means D_E < D_F; better than the largest with D_F at most that D, D_E > D_F.
  ossified[(flag == "below_range") & (DF >= lo_sc)] = True
  ossified[(flag == "above_range") & (DF <= hi_sc)] = False
  out["ossified"] = ossified

  if scratch_fit is None and scratch_law is not None:
    try:
      scratch_fit = fit(scratch_law, sc, bootstrap=0)
    except UsageError as e:
      warnings.warn(f"no law-based D_E: fitting {scratch_law!r} to the from-scratch runs failed: {e}")
    if scratch_fit is not None and not scratch_fit.converged:
      warnings.warn(f"no law-based D_E: the {scratch_law!r} fit to the from-scratch runs did not converge")
      scratch_fit = None
  if scratch_fit is not None:
    if tuple(get_law(scratch_fit.law).covariates) != ("N", "D"):
      raise UsageError(f"scratch_fit must be a law in (N, D) such as chinchilla or kaplan, not {scratch_fit.law!r}")
    D_law = invert_law(scratch_fit, N_ft, L_ft)
    outside = (D_law < sc["D"].min()) | (D_law > sc["D"].max()) | (N_ft < N_sc.min()) | (N_ft > N_sc.max())
    out["D_E_law"] = D_law
    out["law_flag"] = np.where(~np.isfinite(D_law), "unreachable", np.where(outside, "extrapolated", "ok"))
    out["D_T_law"] = D_law - DF
    out["multiplier_law"] = D_law / DF
    out["ossified_law"] = pd.array(np.where(np.isfinite(D_law), D_law < DF, None), dtype="boolean")
  out.attrs["scratch_fit"] = scratch_fit
  return out


def data_for_saturation(scratch_fit: FitResult, N, level: float = 0.99):
  """D(N): data a from-scratch model of size N needs to reach `level` of its infinite-data performance.

  "Performance" is read as inverse loss: D(N) solves L(N, D) = L(N, inf) / level.
  """
  law = get_law(scratch_fit.law)
  N = np.asarray(N, np.float64)
  L_inf = law.predict(scratch_fit.params, {"N": N, "D": np.full_like(N, np.exp(_LOG_D_RANGE[1]))})
  return invert_law(scratch_fit, N, L_inf / level)


@dataclasses.dataclass
class TransferFit:
  """D_T = k D_F^alpha N^beta fitted on the low-data regime; `rows` says which runs were used and why not."""
  fit: FitResult
  rows: pd.DataFrame
  boundary: str
  D_max: dict  # N -> largest D_F counted as low-data

  def __str__(self):
    used = int(self.rows["used"].sum())
    return f"{self.boundary}\n{used} of {len(self.rows)} fine-tuned runs used\n{self.fit.table()}"


def fit_transfer(eff: pd.DataFrame, *, scratch_fit: Optional[FitResult] = None, fraction: float = 0.1,
                 level: float = 0.99, max_D_F: Optional[float] = None, use_law: bool = False,
                 bootstrap: int = 1000, seed: int = 0, law: str = TRANSFER, **fit_kwargs) -> TransferFit:
  """Fit a transfer law D_T(N, D_F) (`law`, in the registry's transfer role) to effective_data(...) output,
  restricted to the low-data regime.

  Low-data regime (Hernandez et al. 2021): D_F <= fraction * D(N), D(N) from data_for_saturation(level)
  on the from-scratch law (eff.attrs['scratch_fit'] unless scratch_fit is given); or D_F <= max_D_F
  if that is given instead. Rows with no D_E or with D_T <= 0 (ossified) cannot enter a log-space
  fit; they are kept in `rows` with the reason. use_law: take D_T from the law column, not interpolation.
  """
  law = in_role(law, "transfer", "law")
  rows = eff.copy()
  col = "D_T_law" if use_law else "D_T"
  if col not in rows:
    raise UsageError(f"column {col!r} missing: pass the output of effective_data(...)"
                     + (" with a scratch law" if use_law else ""))
  N, DF, DT = rows["N"].to_numpy(np.float64), rows["D_F"].to_numpy(np.float64), rows[col].to_numpy(np.float64)
  if max_D_F is not None:
    limit = np.full(len(rows), float(max_D_F))
    boundary = f"low-data regime: D_F <= {max_D_F:.4g} (given)"
  else:
    scratch_fit = scratch_fit or eff.attrs.get("scratch_fit")
    if scratch_fit is None:
      raise UsageError("no from-scratch law to place the low-data boundary: pass scratch_fit=... or max_D_F=...")
    limit = fraction * data_for_saturation(scratch_fit, N, level)
    boundary = (f"low-data regime: D_F <= {fraction:g} * D(N), D(N) = data for a from-scratch model to reach "
                f"{level:g} of its infinite-data performance (L = L_inf/{level:g}) "
                f"under the fitted {scratch_fit.law} law")
  reason = np.full(len(rows), "", dtype=object)
  reason[~np.isfinite(DT)] = "no D_E"
  reason[np.isfinite(DT) & (DT <= 0)] = "D_T <= 0 (ossified)"
  reason[(reason == "") & ~(DF <= limit)] = "outside the low-data regime"
  rows["D_F_max"] = limit
  rows["used"] = reason == ""
  rows["excluded_because"] = reason
  used = rows[rows["used"]]
  if len(used) < 4:
    raise UsageError(f"only {len(used)} fine-tuned runs are usable for the transfer law (need 4); "
                     f"{boundary}; add low-data runs or set max_D_F")
  result = fit(law, pd.DataFrame({"N": used["N"], "D_F": used["D_F"], "D_T": used[col]}),
               bootstrap=bootstrap, seed=seed, **fit_kwargs)
  D_max = {float(n): float(l) for n, l in zip(N, limit)}
  return TransferFit(fit=result, rows=rows, boundary=boundary, D_max=D_max)
