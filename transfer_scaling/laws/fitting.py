"""fit(law, data): robust log-space fit from a grid of starts, with bootstrap uncertainty.

Objective (Hoffmann et al. 2022, approach 3): sum_i w_i Huber_delta(log L_pred(x_i) - log L_i),
parameters in log space where positive, predictions through log-sum-exp, float64.

One jitted call does everything: every start of the grid takes `screen_iters` damped Newton
steps; the `keep` best (by objective) run on to convergence and the best converged one wins;
then B bootstrap refits start from that optimum, and, when asked, n leave-one-out refits
(weight 0 on one point) do too. Resampling (`resample`):
  points      multinomial weights over the rows (each row an independent measurement);
  cells       rows are runs and `cells` labels the design point of each: the runs (seeds) of
              every cell are resampled with replacement within it, independently between
              cells, so the spread between seeds is what the intervals measure, and every
              parameter is refitted. Each run enters as its cell mean plus its deviation
              scaled by sqrt(n/(n-1)) (Davison and Hinkley 1997, modified residuals):
              resampling n runs as they are gives a cell mean (n-1)/n of its variance,
              intervals too narrow by sqrt(2/3) at 3 seeds;
  seeds       as cells, but `clusters` also names the seed of each run, and one draw per
              seed serves every cell of a replicate (a wild cluster bootstrap, seed_resample):
              a seed that fixes
              the D_F subset and the batch order of runs of several sizes and of both arms
              makes their deviations move together (the project's own runs correlate at
              0.8-0.9 across sizes), which independent draws per cell would miss. The seeds
              are the independent units, so the intervals' own uncertainty has S - 1
              degrees of freedom: the replicates' deviations from the optimum are widened
              by t_{S-1} / z (the few-cluster critical values of Cameron and Miller 2015);
  parametric  one run per cell: new targets drawn from the fitted law with the residual
              scale (log space), refitted the same way.
profile() gives profile-likelihood intervals, a second opinion beside the bootstrap. float64 is switched on only
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
  resample: str = ""                        # how the bootstrap resampled: points, cells, seeds or parametric
  theta: Optional[np.ndarray] = dataclasses.field(default=None, repr=False)  # the optimum in fitted coordinates
  data: Optional[pd.DataFrame] = dataclasses.field(default=None, repr=False)  # the rows it was fitted to
  bootstrap: Optional[pd.DataFrame] = None  # one row per converged refit: params and derived
  loo_rmse_log: Optional[float] = None      # leave-one-out RMSE in log target, when asked
  holdout_rmse_log: Optional[float] = None  # on held-out data, when given
  ci95_gls: Optional[dict] = None           # the GLS bootstrap's intervals, where ci95 holds their hull with others

  def predict(self, data) -> np.ndarray:
    """The fitted law's target (e.g. loss) at the covariates in `data`."""
    law = get_law(self.law)
    return law.predict(self.params, check_columns(data, law.covariates, f"law {self.law!r} prediction",
                                                  linear=law.linear_covariates))

  def to_dict(self) -> dict:
    """The JSON written by `transfer-scaling fit`."""
    out = {k: getattr(self, k) for k in ("law", "params", "derived", "stderr", "ci95", "converged", "objective",
                                         "n_points", "n_starts", "n_converged", "n_at_best", "n_refined",
                                         "rmse_log", "delta", "n_bootstrap", "n_bootstrap_converged",
                                         "resample", "loo_rmse_log", "holdout_rmse_log")}
    if out["ci95"] is not None:
      out["ci95"] = {k: list(v) for k, v in out["ci95"].items()}
    if self.ci95_gls:
      out["ci95_gls"] = {k: list(v) for k, v in self.ci95_gls.items()}
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
    boot = (f"{self.resample} bootstrap ({self.n_bootstrap_converged}/{self.n_bootstrap} refits converged)"
            if self.n_bootstrap else "")
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


@functools.partial(jax.jit, static_argnames=("law", "ly_batched"))
def _refit(law, theta_P, lx, ly, w_BxN, delta, max_iter, ly_batched=False):
  # Bootstrap / leave-one-out: every member starts at the full-data optimum with its own weights
  # (and, for the parametric bootstrap, its own targets).
  _, objective = _objective(law)
  args, axes = (lx, ly, w_BxN, delta), (None, 0 if ly_batched else None, 0, None)
  B = w_BxN.shape[0]
  theta_BxP = jnp.broadcast_to(theta_P, (B,) + theta_P.shape)
  return solver.run_compacted(objective, solver.init(objective, theta_BxP, args, axes), args, axes,
                              chunk=max(1, B // 8), first_iters=16, max_iter=max_iter)


def _derived(law: Law, params: dict) -> dict:
  with np.errstate(all="ignore"):
    return {name: np.asarray(fn(params), np.float64) for name, fn in law.derived.items()}


def _check_design(law: Law, df: pd.DataFrame) -> None:
  """Data that cannot determine the law (too few distinct points, a constant covariate) is a UsageError."""
  P = len(law.params)
  cov = [c for c in law.covariates if c not in law.linear_covariates]
  distinct = len(df[list(law.covariates)].drop_duplicates())
  if distinct <= P:
    raise UsageError(f"law {law.name!r} has {P} parameters but the data have only {distinct} distinct "
                     f"({', '.join(law.covariates)}) point(s); measure at more settings")
  flat = [c for c in cov if df[c].nunique() < 2]
  if flat:
    raise UsageError(f"law {law.name!r}: covariate(s) {', '.join(flat)} take a single value in the data, so the "
                     "law's dependence on them cannot be fitted; vary them or fit a law without them")


def _count(value, name: str, minimum: int = 0) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise UsageError(f"{name} must be an integer >= {minimum}, got {value!r}")
  return int(value)


def design(law: Law, df: pd.DataFrame):
  """(lx, ly, w_N, n_pad): the padded float64 arrays every fit of `law` to `df` runs on.

  Points are padded to a power of two with weight-0 copies of the first row: fits of 20 or
  30 points then share one compiled program instead of paying seconds of compilation each.
  """
  n = len(df)
  n_pad = max(16, 1 << (n - 1).bit_length())
  pad = lambda v: np.concatenate([v, np.full(n_pad - n, v[0])])
  coords = law.covariate_coords(df)
  lx = {c: jnp.asarray(pad(v)) for c, v in coords.items()}
  ly = jnp.log(jnp.asarray(pad(df[law.target].to_numpy(np.float64))))
  w_N = jnp.asarray(np.arange(n_pad) < n, jnp.float64)
  return lx, ly, w_N, n_pad


def fit(law, data, *, bootstrap: int = 1000, seed: int = 0, delta: float = 1e-3, drop_highest: int = 0,
        grid: Optional[np.ndarray] = None, screen_iters: int = 10, keep: int = 64, max_iter: int = 500,
        loo: bool = False, holdout=None, resample: str = "auto", cells=None, clusters=None,
        refit_iter=None) -> FitResult:
  """Fit `law` (a name or Law) to `data` (DataFrame with the law's columns); see the module docstring.

  grid: starting points [S, P] in fitted coordinates (default: the law's grid).
  bootstrap: number of resampled refits for stderr / ci95 (0: none).
  resample: 'points', 'cells', 'seeds', 'parametric' or 'auto' (seeds when `clusters` is given too
    and names 2 or more seeds; cells when some cell has several runs; parametric when every cell
    has one; points without `cells`).
  cells: one label per row naming its design point (e.g. stage, size, D_F), for 'cells', 'seeds' and 'auto'.
  clusters: one label per row naming the seed of its run (shared across cells), for 'seeds' and 'auto'.
  delta: Huber's delta on log targets, or 'auto' (1.345 robust standard deviations of a first
    fit's residuals: near least squares for noisy runs, where delta = 1e-3 would make it L1).
  refit_iter: most damped Newton steps of a bootstrap refit (default max_iter).
  loo: also refit without each point in turn and report the leave-one-out RMSE.
  holdout: a DataFrame of further measurements to report the held-out RMSE on.
  """
  law = get_law(law)
  if law.build:  # a form the runs fix (registry.Law.build): fit the law built for these runs
    law = law.build(check_columns(data, law.columns, f"law {law.name!r}"))
  bootstrap = _count(bootstrap, "bootstrap")
  seed = _count(seed, "seed")
  df = check_columns(data, law.columns, f"law {law.name!r}", linear=law.linear_covariates)
  if drop_highest:
    df = drop_highest_rows(df, law.target, _count(drop_highest, "drop_highest"))
  n, P = len(df), len(law.params)
  if n <= P:
    raise UsageError(f"law {law.name!r} has {P} parameters and needs at least {P + 1} points; "
                     f"got {n}: add measurements")
  _check_design(law, df)
  auto = isinstance(delta, str)
  if auto and delta != "auto" or not auto and not (delta > 0):
    raise UsageError(f"delta must be positive or 'auto', got {delta!r}")
  kind = _resample_kind(resample, cells, clusters, n)
  theta0_SxP = law.start_grid() if grid is None else np.asarray(grid, np.float64).reshape(-1, P)
  S = len(theta0_SxP)
  keep = int(min(keep, S))

  with jax.enable_x64(True):
    lx, ly, w_N, n_pad = design(law, df)
    if auto:
      # Huber's delta at 1.345 robust standard deviations of the residuals (95% efficiency under
      # Gaussian noise): noisy runs are then fitted near least squares, where Newton converges
      # in a few steps, with outliers still down-weighted. A first fit at 1e-3 gives the residuals.
      with warnings.catch_warnings():  # only the final fit's convergence is reported
        warnings.simplefilter("ignore", UserWarning)
        first = fit(law, df, bootstrap=0, delta=1e-3, grid=theta0_SxP, screen_iters=screen_iters, keep=keep,
                    max_iter=max_iter)
      r = first.residuals
      delta = float(max(1.345 * 1.4826 * np.median(np.abs(r - np.median(r))), 1e-4))
    # With delta='auto' the first fit's minimum is the one start; where Newton at the wider delta
    # stalls from there, the whole grid is tried again.
    attempts = [(np.asarray([first.theta]), 1), (theta0_SxP, keep)] if auto else [(theta0_SxP, keep)]
    for theta0_SxP, keep in attempts:
      s, top_K, ref = jax.device_get(
          _multistart(law, jnp.asarray(theta0_SxP), lx, ly, w_N, delta, keep, screen_iters, max_iter))
      if ref.converged.any():
        break
    S = len(theta0_SxP)
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
    result.theta = np.asarray(theta_P)
    result.data = df
    if not converged:
      warnings.warn(f"fit of {law.name!r} did not converge from any of {S} starts; its parameters are not a minimum")
      return result

    if bootstrap:
      rng = np.random.default_rng(seed)
      ly_B, batched = ly, kind != "points"
      w_BxN = np.zeros((bootstrap, n_pad))
      if kind == "points":
        w_BxN[:, :n] = rng.multinomial(n, np.full(n, 1.0 / n), size=bootstrap)
      else:  # new targets per replicate, every run at weight 1
        if kind == "cells":
          sim = cell_resample(np.asarray(ly)[:n], np.asarray(cells), bootstrap, rng)
        elif kind == "seeds":
          sim = seed_resample(np.asarray(ly)[:n], np.asarray(cells), np.asarray(clusters), bootstrap, rng)
        else:  # parametric: the fitted law plus noise at the residual scale
          fitted = np.asarray(ly)[:n] + residuals_N
          sim = fitted[None, :] + residual_scale(residuals_N, P) * rng.standard_normal((bootstrap, n))
        ly_B = jnp.asarray(np.concatenate([sim, np.broadcast_to(np.asarray(ly)[n:], (bootstrap, n_pad - n))], 1))
        w_BxN[:, :n] = 1.0
      b = jax.device_get(_refit(law, jnp.asarray(theta_P), lx, ly_B, jnp.asarray(w_BxN), delta,
                                refit_iter or max_iter, ly_batched=batched))
      theta_BxP = b.theta[b.converged]
      if kind == "seeds":
        theta_BxP = theta_P + few_cluster_factor(len(np.unique(np.asarray(clusters)))) * (theta_BxP - theta_P)
      _summarize_bootstrap(result, law, theta_BxP, bootstrap)
      result.resample = kind
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
      h = check_columns(holdout, law.columns, f"held-out data for law {law.name!r}", linear=law.linear_covariates)
      res_h = np.log(law.predict(params, h)) - np.log(h[law.target].to_numpy())
      result.holdout_rmse_log = float(np.sqrt(np.mean(res_h ** 2)))
  return result


def _resample_kind(resample: str, cells, clusters, n: int) -> str:
  if resample not in ("auto", "points", "cells", "seeds", "parametric"):
    raise UsageError(f"resample={resample!r}; choose auto, points, cells, seeds or parametric")
  for name, labels in (("cells", cells), ("clusters", clusters)):
    if labels is not None and len(labels) != n:
      raise UsageError(f"{name} has {len(labels)} labels for {n} rows; give one label per row")
  if resample in ("cells", "seeds") and cells is None:
    raise UsageError(f"resample={resample!r} needs cells=, one design-point label per row")
  if resample == "seeds" and clusters is None:
    raise UsageError("resample='seeds' needs clusters=, the seed of each row")
  if resample != "auto":
    return resample
  if cells is None:
    return "points"
  _, counts = np.unique(np.asarray(cells), return_counts=True)
  if not (counts > 1).any():
    return "parametric"
  return "seeds" if clusters is not None and len(np.unique(np.asarray(clusters))) > 1 else "cells"


def few_cluster_factor(S: int) -> float:
  """t_{S-1, 0.975} / z_{0.975}: how much wider an interval must be when S seeds carry its spread."""
  from scipy import stats
  return float(stats.t.ppf(0.975, S - 1) / stats.norm.ppf(0.975)) if S > 1 else 1.0


def cell_resample(y_N: np.ndarray, cells: np.ndarray, B: int, rng) -> np.ndarray:
  """[B, n] targets: within every cell, its runs drawn with replacement, as modified residuals.

  A draw is the cell mean plus a run's deviation from it times sqrt(n_c/(n_c-1)), so the cell
  mean of a replicate has the unbiased variance s^2/n_c, not (n_c-1)/n_c of it. A cell with
  one run keeps its value.
  """
  y_N = np.asarray(y_N, np.float64)
  out = np.empty((B, len(y_N)))
  for label in np.unique(cells):
    idx = np.flatnonzero(cells == label)
    m = len(idx)
    mean = y_N[idx].mean()
    dev = (y_N[idx] - mean) * (np.sqrt(m / (m - 1)) if m > 1 else 0.0)
    out[:, idx] = mean + dev[rng.integers(0, m, size=(B, m))]
  return out


# Webb's (2013) six-point weights: with 3 seeds a draw of seeds with replacement has 10 distinct
# outcomes (one of them the data itself), too coarse for a percentile; 6^S sign-and-scale patterns
# keep the seeds' ties and give a smooth, symmetric distribution around the estimate.
WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def seed_resample(y_N: np.ndarray, cells: np.ndarray, seeds: np.ndarray, B: int, rng) -> np.ndarray:
  """[B, n] targets: a wild cluster bootstrap over seeds, one weight per seed for every cell.

  A run enters as its cell mean plus its deviation from it times w_s sqrt(n_c/(n_c-1)), w_s one of
  Webb's six weights (mean 0, variance 1) drawn once per seed and replicate, so a seed's runs in
  every cell move together and a cell mean keeps the unbiased variance s^2/n_c. A cell with one
  run keeps its value.
  """
  y_N = np.asarray(y_N, np.float64)
  uniq = np.unique(seeds)
  w_BxS = WEBB[rng.integers(0, len(WEBB), size=(B, len(uniq)))]
  out = np.empty((B, len(y_N)))
  for label in np.unique(cells):
    idx = np.flatnonzero(cells == label)
    m = len(idx)
    if len(np.unique(seeds[idx])) < m:
      raise UsageError(f"cell {label!r} has two runs with the same seed; give each run of a cell its own seed")
    mean = y_N[idx].mean()
    dev = (y_N[idx] - mean) * (np.sqrt(m / (m - 1)) if m > 1 else 0.0)
    out[:, idx] = mean + w_BxS[:, np.searchsorted(uniq, seeds[idx])] * dev
  return out


def residual_scale(residuals: np.ndarray, n_params: int) -> float:
  """The residual standard deviation of a fit (log target), with the degrees of freedom counted."""
  r = np.asarray(residuals, np.float64)
  return float(np.sqrt(np.sum(r ** 2) / max(len(r) - n_params, 1)))


def _summarize_bootstrap(result: FitResult, law: Law, theta_BxP: np.ndarray, requested: int) -> None:
  samples = law.from_coords(theta_BxP)
  samples.update(_derived(law, samples))
  table = pd.DataFrame({k: np.asarray(v, np.float64).reshape(-1) for k, v in samples.items()})
  result.bootstrap = table
  result.n_bootstrap, result.n_bootstrap_converged = requested, len(table)
  # The refits that converge are not a random half of the replicates: percentiles of a minority of them
  # once gave an alpha interval that excluded its own estimate, so below half there is no interval at all.
  if len(table) < 2 or 2 * len(table) < requested:
    warnings.warn(f"only {len(table)} of {requested} bootstrap refits converged; no standard errors or intervals "
                  "(raise max_iter / refit_iter)")
    return
  with np.errstate(over="ignore", invalid="ignore"):  # an inf in a column: a nan standard error, no finite spread
    result.stderr = {k: float(table[k].std(ddof=1)) for k in table}
    result.ci95 = {k: (float(table[k].quantile(0.025)), float(table[k].quantile(0.975))) for k in table}


# Profile likelihood: a second opinion on the intervals, and the test of whether the data determine a parameter.

CHI2_1 = {0.95: 3.841458820694124, 0.9: 2.705543454095404, 0.99: 6.634896601021214}


@dataclasses.dataclass
class Profile:
  """The profile of one parameter: its objective minimised over all others at each value."""
  name: str
  estimate: float
  values: np.ndarray      # natural-scale values of the parameter
  deviance: np.ndarray    # twice the log-likelihood drop from the optimum (chi-square, 1 degree of freedom)
  lo: float               # the interval's ends, natural scale; nan where the profile never rises enough
  hi: float
  level: float

  @property
  def lo_open(self) -> bool:
    return not np.isfinite(self.lo)

  @property
  def hi_open(self) -> bool:
    return not np.isfinite(self.hi)

  @property
  def bounded(self) -> bool:
    return not (self.lo_open or self.hi_open)


@functools.lru_cache(maxsize=None)
def _profile_objective(law: Law):
  _, objective = _objective(law)

  def fixed(theta_P, lx, ly, w_N, delta, mask_P, v):
    # The masked coordinate is held at v: its gradient is zero, so the solver never moves it,
    # and one traced program serves every parameter of the law.
    return objective(jnp.where(mask_P, v, theta_P), lx, ly, w_N, delta)

  return fixed


@functools.partial(jax.jit, static_argnames=("law",))
def _profile(law, theta_SxP, mask_P, v_S, lx, ly, w_N, delta, max_iter):
  objective = _profile_objective(law)
  args, axes = (lx, ly, w_N, delta, mask_P, v_S), (None, None, None, None, None, 0)
  return solver.run(objective, solver.init(objective, theta_SxP, args, axes), args, axes, max_iter=max_iter)


def profile(result: FitResult, names=None, *, points: int = 41, level: float = 0.95, max_iter: int = 300,
            spans: Optional[dict] = None) -> dict:
  """{name: Profile} for a converged fit: profile-likelihood intervals at `level`.

  The fit's objective (Huber on log targets) is read as a quasi-likelihood: with residuals in
  Huber's quadratic part it is Gaussian, 2 dlogL = n log(F/F_min); in its linear part Laplace,
  2 n log(F/F_min); in between the two are weighted by the share of residuals beyond delta.
  A side on which the deviance never reaches the chi-square quantile within the span is open
  (nan): the data do not bound the parameter there.
  spans: half-widths of the searched range in fitted coordinates (default 12 for log-scale
  parameters, i.e. a factor of 1.6e5, and 3 for the others).
  """
  if not result.converged or result.theta is None:
    raise UsageError(f"the {result.law} fit did not converge; there is nothing to profile")
  law = get_law(result.law)
  names = list(names or law.params)
  unknown = [n for n in names if n not in law.params]
  if unknown:
    raise UsageError(f"cannot profile {', '.join(unknown)}: not parameters of {law.name} ({', '.join(law.params)})")
  if level not in CHI2_1:
    raise UsageError(f"level must be one of {sorted(CHI2_1)}")
  df = result.data
  frac_linear = float(np.mean(np.abs(result.residuals) > result.delta))
  scale = (1.0 + frac_linear) * result.n_points
  out = {}
  with jax.enable_x64(True):
    lx, ly, w_N, _ = design(law, df)
    theta = np.asarray(result.theta, np.float64)
    t = np.linspace(-1.0, 1.0, points if points % 2 else points + 1)
    for name in names:
      j = law.params.index(name)
      span = (spans or {}).get(name, 12.0 if name in law.log_params else 3.0)
      v = theta[j] + span * np.sign(t) * t ** 2  # dense near the optimum, reaching far
      start = np.broadcast_to(theta, (len(v), len(theta))).copy()
      start[:, j] = v
      mask = np.arange(len(theta)) == j
      r = jax.device_get(_profile(law, jnp.asarray(start), jnp.asarray(mask), jnp.asarray(v), lx, ly, w_N,
                                  result.delta, max_iter))
      f = np.where(np.isfinite(r.f), r.f, np.inf)
      dev = scale * np.log(np.maximum(f, result.objective) / result.objective)
      lo, hi = _crossings(v, dev, CHI2_1[level], len(v) // 2)
      natural = lambda x: float(np.exp(x)) if name in law.log_params else float(x)
      out[name] = Profile(name=name, estimate=result.params[name],
                          values=np.exp(v) if name in law.log_params else v, deviance=dev,
                          lo=natural(lo) if np.isfinite(lo) else math.nan,
                          hi=natural(hi) if np.isfinite(hi) else math.nan, level=level)
  return out


def _crossings(v, dev, threshold, centre):
  """Where the deviance first rises through `threshold` on each side of the centre (linear interpolation)."""
  ends = []
  for side in (-1, 1):
    idx = range(centre, -1, -1) if side < 0 else range(centre, len(v))
    prev, found = None, math.nan
    for i in idx:
      if prev is not None and dev[i] >= threshold > dev[prev]:
        w = (threshold - dev[prev]) / (dev[i] - dev[prev])
        found = v[prev] + w * (v[i] - v[prev])
        break
      prev = i
    ends.append(found)
  return ends[0], ends[1]
