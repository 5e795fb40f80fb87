"""fit(law, data): robust log-space fit from a grid of starts, with bootstrap uncertainty.

Objective (Hoffmann et al. 2022, approach 3): sum_i w_i Huber_delta(log L_pred(x_i) - log L_i),
parameters in log space where positive, predictions through log-sum-exp, float64.

One jitted call does everything: every start of the grid takes `screen_iters` damped Newton
steps; the `keep` best (by objective) run on to convergence and the best converged one wins;
then B bootstrap refits (multinomial resampling weights) start from that optimum, and, when
asked, n leave-one-out refits (weight 0 on one point) do too. float64 is switched on only
inside this module's calls (jax.enable_x64 context), so a training run in the same process
keeps its float32 defaults.
"""
import dataclasses
import functools
import math
import warnings
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from transfer_scaling.errors import UsageError
from transfer_scaling.laws import solver
from transfer_scaling.laws.measurements import check_columns, drop_highest_rows
from transfer_scaling.laws.registry import Law, get_law


@dataclasses.dataclass
class FitResult:
  """A fitted law. params/derived are natural-scale values; stderr/ci95 come from the bootstrap."""
  law: str
  params: dict
  derived: dict
  stderr: Optional[dict]
  ci95: Optional[dict]
  converged: bool
  objective: float
  n_points: int
  n_starts: int
  n_converged: int       # starts that converged (to any local minimum)
  n_at_best: int         # converged starts within 1e-6 (relative) of the best objective
  n_refined: int         # starts run to convergence after the screening steps
  rmse_log: float        # root mean square of log(predicted) - log(measured)
  residuals: np.ndarray  # log(predicted) - log(measured), in data order
  delta: float
  n_bootstrap: int = 0
  n_bootstrap_converged: int = 0
  bootstrap: Optional[pd.DataFrame] = None  # one row per converged refit: params and derived
  loo_rmse_log: Optional[float] = None      # leave-one-out RMSE in log target, when asked
  holdout_rmse_log: Optional[float] = None  # on held-out data, when given

  def predict(self, data) -> np.ndarray:
    """The fitted law's target (e.g. loss) at the covariates in `data`."""
    law = get_law(self.law)
    return law.predict(self.params, check_columns(data, law.covariates, f"law {self.law!r} prediction"))

  def to_dict(self) -> dict:
    """The JSON written by `transfer-scaling fit`."""
    out = {k: getattr(self, k) for k in ("law", "params", "derived", "stderr", "ci95", "converged", "objective",
                                         "n_points", "n_starts", "n_converged", "n_at_best", "n_refined",
                                         "rmse_log", "delta", "n_bootstrap", "n_bootstrap_converged",
                                         "loo_rmse_log", "holdout_rmse_log")}
    if out["ci95"] is not None:
      out["ci95"] = {k: list(v) for k, v in out["ci95"].items()}
    return out

  def table(self) -> str:
    """A readable summary (what the command line prints)."""
    lines = [f"law {self.law}: {get_law(self.law).doc}"]
    if not self.converged:
      lines.append(f"NOT CONVERGED: no start reached a minimum (best objective {self.objective:.6g}); "
                   "no parameters reported. Check the data, widen the start grid or raise max_iter.")
      return "\n".join(lines)
    lines.append(f"{self.n_points} points, {self.n_starts} starts: {self.n_refined} refined after screening, "
                 f"{self.n_converged} converged, {self.n_at_best} at the best objective {self.objective:.6g}")
    boot = f"bootstrap ({self.n_bootstrap_converged}/{self.n_bootstrap} refits converged)" if self.n_bootstrap else ""
    lines.append(f"{'':>16} {'value':>12}  {'stderr':>10}  {'95% interval':>25}   {boot}")
    for name, value in list(self.params.items()) + list(self.derived.items()):
      se = self.stderr.get(name, math.nan) if self.stderr else math.nan
      lo, hi = self.ci95.get(name, (math.nan, math.nan)) if self.ci95 else (math.nan, math.nan)
      kind = "" if name in self.params else "  (derived)"
      lines.append(f"{name:>16} {value:12.5g}  {se:10.3g}  [{lo:11.5g}, {hi:11.5g}]{kind}")
    lines.append(f"RMSE of log {get_law(self.law).target}: {self.rmse_log:.4g}"
                 + (f"; leave-one-out: {self.loo_rmse_log:.4g}" if self.loo_rmse_log is not None else "")
                 + (f"; held-out: {self.holdout_rmse_log:.4g}" if self.holdout_rmse_log is not None else ""))
    return "\n".join(lines)

  def __str__(self):
    return self.table()


@functools.lru_cache(maxsize=None)
def _objective(law: Law):
  # One function object per law, so jit caches by it (a fresh closure per call would recompile).
  def residuals(theta_P, lx, ly):
    q = {p: theta_P[i] for i, p in enumerate(law.params)}
    return law.log_predict(q, lx) - ly

  def objective(theta_P, lx, ly, w_N, delta):
    return jnp.sum(w_N * solver.huber(residuals(theta_P, lx, ly), delta))

  return residuals, objective


@functools.partial(jax.jit, static_argnames=("law", "keep"))
def _multistart(law, theta0_SxP, lx, ly, w_N, delta, keep, screen_iters, max_iter):
  _, objective = _objective(law)
  args, axes = (lx, ly, w_N, delta), (None, None, None, None)
  s = solver.init(objective, theta0_SxP, args, axes)
  s = solver.run(objective, s, args, axes, min_iter=screen_iters, max_iter=screen_iters)
  _, top_K = jax.lax.top_k(-s.f, keep)
  refined = solver.run(objective, jax.tree.map(lambda a: a[top_K], s), args, axes, max_iter=max_iter)
  return s, top_K, refined


@functools.partial(jax.jit, static_argnames=("law",))
def _refit(law, theta_P, lx, ly, w_BxN, delta, max_iter):
  # Bootstrap / leave-one-out: every member starts at the full-data optimum with its own weights.
  _, objective = _objective(law)
  args, axes = (lx, ly, w_BxN, delta), (None, None, 0, None)
  B = w_BxN.shape[0]
  theta_BxP = jnp.broadcast_to(theta_P, (B,) + theta_P.shape)
  return solver.run_compacted(objective, solver.init(objective, theta_BxP, args, axes), args, axes,
                              chunk=max(1, B // 8), first_iters=16, max_iter=max_iter)


def _derived(law: Law, params: dict) -> dict:
  with np.errstate(all="ignore"):
    return {name: np.asarray(fn(params), np.float64) for name, fn in law.derived.items()}


def fit(law, data, *, bootstrap: int = 1000, seed: int = 0, delta: float = 1e-3, drop_highest: int = 0,
        grid: Optional[np.ndarray] = None, screen_iters: int = 10, keep: int = 64, max_iter: int = 500,
        loo: bool = False, holdout=None) -> FitResult:
  """Fit `law` (a name or Law) to `data` (DataFrame with the law's columns); see the module docstring.

  grid: starting points [S, P] in fitted coordinates (default: the law's grid).
  bootstrap: number of resampled refits for stderr / ci95 (0: none).
  loo: also refit without each point in turn and report the leave-one-out RMSE.
  holdout: a DataFrame of further measurements to report the held-out RMSE on.
  """
  law = get_law(law)
  df = check_columns(data, law.columns, f"law {law.name!r}")
  if drop_highest:
    df = drop_highest_rows(df, law.target, drop_highest)
  n, P = len(df), len(law.params)
  if n <= P:
    raise UsageError(f"law {law.name!r} has {P} parameters and needs at least {P + 1} points; got {n}: add measurements")
  if not (delta > 0):
    raise UsageError(f"delta must be positive, got {delta}")
  if bootstrap < 0:
    raise UsageError(f"bootstrap must be 0 (none) or a number of resamples, got {bootstrap}")
  theta0_SxP = law.start_grid() if grid is None else np.asarray(grid, np.float64).reshape(-1, P)
  S = len(theta0_SxP)
  keep = int(min(keep, S))

  # Pad the points to a power of two with weight-0 copies of the first row: fits of 20 or 30
  # points then share one compiled program instead of paying seconds of compilation each.
  n_pad = max(16, 1 << (n - 1).bit_length())
  pad = lambda v: np.concatenate([v, np.full(n_pad - n, v[0])])
  with jax.enable_x64(True):
    lx = {c: jnp.log(jnp.asarray(pad(df[c].to_numpy()))) for c in law.covariates}
    ly = jnp.log(jnp.asarray(pad(df[law.target].to_numpy())))
    w_N = jnp.asarray(np.arange(n_pad) < n, jnp.float64)
    s, top_K, ref = _multistart(law, jnp.asarray(theta0_SxP), lx, ly, w_N, delta, keep, screen_iters, max_iter)
    s, top_K, ref = jax.device_get((s, top_K, ref))
    screened_out = np.ones(S, bool)
    screened_out[top_K] = False
    n_converged = int(s.converged[screened_out].sum() + ref.converged.sum())
    f_ref = np.where(ref.converged, ref.f, np.inf)
    best = int(np.argmin(f_ref))
    converged = bool(np.isfinite(f_ref[best]))
    if not converged:
      best = int(np.argmin(ref.f))
    f_best, theta_P = float(ref.f[best]), ref.theta[best]
    at_best = lambda f, c: int(np.sum(c & (f <= f_best * (1 + 1e-6) + 1e-300)))
    n_at_best = at_best(ref.f, ref.converged) + at_best(s.f[screened_out], s.converged[screened_out])
    params = {k: float(v) for k, v in law.from_coords(theta_P).items()}
    residuals_N = np.asarray(_objective(law)[0](jnp.asarray(theta_P), lx, ly))[:n]

    result = FitResult(
        law=law.name, params=params, derived={k: float(v) for k, v in _derived(law, params).items()},
        stderr=None, ci95=None, converged=converged, objective=f_best, n_points=n, n_starts=S,
        n_converged=n_converged, n_at_best=n_at_best, n_refined=keep,
        rmse_log=float(np.sqrt(np.mean(residuals_N ** 2))), residuals=residuals_N, delta=delta)
    if not converged:
      warnings.warn(f"fit of {law.name!r} did not converge from any of {S} starts; its parameters are not a minimum")
      return result

    if bootstrap:
      w_BxN = np.zeros((bootstrap, n_pad))
      w_BxN[:, :n] = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=bootstrap)
      b = jax.device_get(_refit(law, jnp.asarray(theta_P), lx, ly, jnp.asarray(w_BxN), delta, max_iter))
      _summarize_bootstrap(result, law, b.theta[b.converged], bootstrap)
    if loo:
      w_NxN = np.zeros((n, n_pad))
      w_NxN[:, :n] = 1.0 - np.eye(n)
      o = jax.device_get(_refit(law, jnp.asarray(theta_P), lx, ly, jnp.asarray(w_NxN), delta, max_iter))
      res_NxN = jax.vmap(_objective(law)[0], in_axes=(0, None, None))(jnp.asarray(o.theta), lx, ly)
      res_loo = np.diagonal(np.asarray(res_NxN)[:, :n])
      if not o.converged.all():
        warnings.warn(f"{int((~o.converged).sum())} of {n} leave-one-out refits did not converge")
      result.loo_rmse_log = float(np.sqrt(np.mean(res_loo ** 2)))
    if holdout is not None:
      h = check_columns(holdout, law.columns, f"held-out data for law {law.name!r}")
      res_h = np.log(law.predict(params, h)) - np.log(h[law.target].to_numpy())
      result.holdout_rmse_log = float(np.sqrt(np.mean(res_h ** 2)))
  return result


def _summarize_bootstrap(result: FitResult, law: Law, theta_BxP: np.ndarray, requested: int) -> None:
  samples = law.from_coords(theta_BxP)
  samples.update(_derived(law, samples))
  table = pd.DataFrame({k: np.asarray(v, np.float64).reshape(-1) for k, v in samples.items()})
  result.bootstrap = table
  result.n_bootstrap, result.n_bootstrap_converged = requested, len(table)
  if len(table) < 2:
    warnings.warn(f"only {len(table)} of {requested} bootstrap refits converged; no standard errors")
    return
  result.stderr = {k: float(table[k].std(ddof=1)) for k in table}
  result.ci95 = {k: (float(table[k].quantile(0.025)), float(table[k].quantile(0.975))) for k in table}
