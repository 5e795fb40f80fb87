"""Budget allocation through the law registry: compute-optimal (N, D), and pre-training vs fine-tuning data.

compute_optimal: the chinchilla entry's `compute_optimal` function (N_opt(C), D_opt(C) for
  C = 6 N D, Hoffmann et al. 2022) and its predicted loss there.
allocate_budget: the (p, f) minimising a law in (p, f) (default: definitions.GAP, the gap law) subject to
  C_p p + C_f f = budget. The share s = C_p p / budget is found where d log L / d logit(s),
  taken by autodiff of the law's own log_predict, changes sign (Brent's method): exact to
  machine precision where L is nearly flat, and valid for any law registered in (p, f).
  Under the built-in gap law with G = 0 the optimum is s = alpha / (alpha + beta).
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.optimize import brentq

from transfer_scaling.errors import UsageError
from transfer_scaling.laws.definitions import GAP
from transfer_scaling.laws.fitting import FitResult
from transfer_scaling.laws.registry import get_law

COMPUTE = "chinchilla"  # the law whose `compute_optimal` function compute_optimal reads


def law_params(fit_or_params, law: str) -> dict:
  """Natural-scale parameters of `law` from a FitResult or a mapping, checked (UsageError naming the fix)."""
  entry = get_law(law)
  if isinstance(fit_or_params, FitResult):
    if fit_or_params.law != entry.name:
      raise UsageError(f"this needs a {entry.name} fit, got a {fit_or_params.law} fit")
    if not fit_or_params.converged:
      raise UsageError(f"the {entry.name} fit did not converge; refit before allocating")
    fit_or_params = fit_or_params.params
  unknown = sorted(set(fit_or_params) - set(entry.params))
  missing = [k for k in entry.params if k not in fit_or_params]
  if missing:
    raise UsageError(f"{entry.name} needs parameters {', '.join(entry.params)}; missing {', '.join(missing)}")
  if unknown:
    raise UsageError(f"{entry.name} has no parameter(s) {', '.join(unknown)}; "
                     f"its parameters are {', '.join(entry.params)}")
  p = {k: float(fit_or_params[k]) for k in entry.params}
  # Allocation is meaningful for positive parameters only (exponents included), and 0 where the law means it
  # (Param.zero: the gap law's G).
  zero = [k for k, h in entry.hints.items() if h.zero]
  bad = [k for k, v in p.items() if not np.isfinite(v) or v < 0 or (v == 0 and k not in zero)]
  if bad:
    may = f" ({' and '.join(zero)} may be 0)" if zero else ""
    raise UsageError(f"{entry.name} parameters {', '.join(bad)} must be positive and finite{may}: got {p}")
  return p


def compute_optimal(fit_or_params, flops) -> pd.DataFrame:
  """N_opt, D_opt and the predicted loss for each compute budget C (FLOPs, C = 6 N D)."""
  law = get_law(COMPUTE)
  p = law_params(fit_or_params, COMPUTE)
  C = np.atleast_1d(np.asarray(flops, np.float64))
  if not np.all(np.isfinite(C) & (C > 0)):
    raise UsageError(f"compute budgets must be positive and finite, got {C.tolist()}")
  N, D = law.functions["compute_optimal"](p, C)
  d = law.derived
  return pd.DataFrame({"C": C, "N_opt": N, "D_opt": D, "loss": law.predict(p, {"N": N, "D": D}),
                       "a": d["a"](p), "b": d["b"](p), "K": d["K"](p)})


@dataclasses.dataclass
class Allocation:
  """The loss-minimising split of one budget."""
  budget: float
  cost_p: float
  cost_f: float
  p: float
  f: float
  loss: float
  share_p: float  # fraction of the budget spent on pre-training, C_p p / budget

  def __str__(self):
    return (f"budget {self.budget:.4g} (cost {self.cost_p:.4g} per unit of pre-training, {self.cost_f:.4g} per "
            f"fine-tuning datum): pre-train p = {self.p:.4g}, fine-tune on f = {self.f:.4g}; "
            f"{100 * self.share_p:.1f}% of the budget on pre-training; predicted loss {self.loss:.5g}")


def _log_loss(law: str, u, coords, lp0, lf0):
  # s = sigmoid(u) of the budget on pre-training: log p = log(s B / C_p), log f = log((1 - s) B / C_f)
  return get_law(law).log_predict(coords, {"p": lp0 + jax.nn.log_sigmoid(u), "f": lf0 + jax.nn.log_sigmoid(-u)})


# Module-level and jitted once per law: a sweep of 25 budgets then compiles once, not 25 times.
_value = jax.jit(jax.vmap(_log_loss, in_axes=(None, 0, None, None, None)), static_argnums=0)
_slope = jax.jit(jax.vmap(jax.grad(_log_loss, argnums=1), in_axes=(None, 0, None, None, None)), static_argnums=0)


def allocate_budget(fit_or_params, budget: float, cost_p: float, cost_f: float, law: str = GAP) -> Allocation:
  """The (p, f) minimising `law` subject to cost_p p + cost_f f = budget."""
  entry = get_law(law)
  if tuple(entry.covariates) != ("p", "f"):
    raise UsageError(f"budget allocation needs a law in (p, f), not {entry.name} in {entry.covariates}")
  q = law_params(fit_or_params, entry.name)
  for name, v in (("budget", budget), ("cost_p", cost_p), ("cost_f", cost_f)):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not (np.isfinite(v) and v > 0):
      raise UsageError(f"{name} must be positive and finite, got {v}")
  lp0, lf0 = np.log(budget / cost_p), np.log(budget / cost_f)
  with jax.enable_x64(True):
    coords = {k: jnp.asarray(v) for k, v in zip(entry.params, entry.to_coords(q))}
    args = (coords, jnp.asarray(lp0), jnp.asarray(lf0))
    u = np.linspace(-700.0, 40.0, 7401)
    g = np.asarray(_slope(entry.name, jnp.asarray(u), *args))
    lo_hi = [(u[i], u[i + 1]) for i in np.flatnonzero((g[:-1] < 0) & (g[1:] >= 0))]
    f1 = lambda x: float(_slope(entry.name, jnp.asarray([x]), *args)[0])
    roots = [brentq(f1, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps) for a, b in lo_hi]
    cand = np.asarray(roots + [u[np.argmin(np.asarray(_value(entry.name, jnp.asarray(u), *args)))]])
    u_best = float(cand[np.argmin(np.asarray(_value(entry.name, jnp.asarray(cand), *args)))])
  s = float(1 / (1 + np.exp(-u_best)))
  p, f = s * budget / cost_p, (1 - s) * budget / cost_f
  return Allocation(budget=float(budget), cost_p=float(cost_p), cost_f=float(cost_f), p=p, f=f,
                    loss=float(entry.predict(q, {"p": [p], "f": [f]})[0]), share_p=s)


def isoloss_grid(fit_or_params, p_range, f_range, n: int = 100, law: str = GAP) -> pd.DataFrame:
  """The law on a log-spaced n x n (p, f) grid (long format: p, f, loss) for isoloss contour plots."""
  q = law_params(fit_or_params, law)
  (p0, p1), (f0, f1) = p_range, f_range
  if not (0 < p0 < p1 and 0 < f0 < f1):
    raise UsageError(f"ranges must be 0 < lo < hi, got p {p_range}, f {f_range}")
  P, F = np.meshgrid(np.geomspace(p0, p1, n), np.geomspace(f0, f1, n))
  return pd.DataFrame({"p": P.ravel(), "f": F.ravel(),
                       "loss": get_law(law).predict(q, {"p": P.ravel(), "f": F.ravel()})})


def loss_at(fit_or_params, law: str, **covariates) -> np.ndarray:
  """The law's predicted target at the given covariates (arrays), e.g. loss_at(fit, GAP, p=..., f=...)."""
  return get_law(law).predict(law_params(fit_or_params, law), covariates)

