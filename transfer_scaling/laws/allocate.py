"""Budget allocation: compute-optimal (N, D) under Chinchilla, and pre-training vs fine-tuning under Barnett.

compute_optimal: minimise E + A N^-alpha + B D^-beta subject to C = 6 N D (Hoffmann et al. 2022):
  N_opt = G (C/6)^a, D_opt = (C/6)^b / G, a = beta/(alpha+beta), b = alpha/(alpha+beta),
  G = (alpha A / (beta B))^(1/(alpha+beta)).
allocate_budget: minimise L(p, f) = (A p^-alpha + G) f^-beta + E subject to C_p p + C_f f = budget.
  log(L - E) is convex in the pre-training share s = C_p p / budget (a log-sum-exp of convex
  terms plus -beta log(1 - s)), so the optimum is the unique zero of its derivative, found by
  Brent's method over logit(s). With G = 0 it is s = alpha / (alpha + beta) exactly.
"""
import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from transfer_scaling.errors import UsageError
from transfer_scaling.laws.fitting import FitResult

_NEEDS = {"chinchilla": ("E", "A", "B", "alpha", "beta"), "barnett": ("A", "G", "E", "alpha", "beta")}


def _params(fit_or_params, law: str) -> dict:
  if isinstance(fit_or_params, FitResult):
    if fit_or_params.law != law:
      raise UsageError(f"this allocation needs a {law} fit, got a {fit_or_params.law} fit")
    if not fit_or_params.converged:
      raise UsageError(f"the {law} fit did not converge; refit before allocating")
    fit_or_params = fit_or_params.params
  missing = [k for k in _NEEDS[law] if k not in fit_or_params]
  if missing:
    raise UsageError(f"{law} allocation needs parameters {', '.join(_NEEDS[law])}; missing {', '.join(missing)}")
  p = {k: float(fit_or_params[k]) for k in _NEEDS[law]}
  bad = [k for k, v in p.items() if not np.isfinite(v) or (v < 0) or (v == 0 and k != "G")]
  if bad:
    raise UsageError(f"{law} parameters {', '.join(bad)} must be positive and finite (G may be 0): got {p}")
  return p


def compute_optimal(fit_or_params, flops) -> pd.DataFrame:
  """N_opt, D_opt and the predicted loss for each compute budget C (FLOPs, C = 6 N D)."""
  p = _params(fit_or_params, "chinchilla")
  C = np.atleast_1d(np.asarray(flops, np.float64))
  if not np.all(np.isfinite(C) & (C > 0)):
    raise UsageError(f"compute budgets must be positive and finite, got {C.tolist()}")
  s = p["alpha"] + p["beta"]
  G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / s)
  a, b = p["beta"] / s, p["alpha"] / s
  N = G * (C / 6) ** a
  D = (C / 6) ** b / G
  loss = p["E"] + p["A"] * N ** -p["alpha"] + p["B"] * D ** -p["beta"]
  return pd.DataFrame({"C": C, "N_opt": N, "D_opt": D, "loss": loss, "a": a, "b": b, "G": G})


def barnett_loss(params: Mapping[str, float], p, f):
  """L(p, f) = (A p^-alpha + G) f^-beta + E."""
  return (params["A"] * np.asarray(p, np.float64) ** -params["alpha"] + params["G"]) * \
      np.asarray(f, np.float64) ** -params["beta"] + params["E"]


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


def allocate_budget(fit_or_params, budget: float, cost_p: float, cost_f: float) -> Allocation:
  """The (p, f) minimising the Barnett law subject to cost_p p + cost_f f = budget."""
  q = _params(fit_or_params, "barnett")
  for name, v in (("budget", budget), ("cost_p", cost_p), ("cost_f", cost_f)):
    if not (np.isfinite(v) and v > 0):
      raise UsageError(f"{name} must be positive and finite, got {v}")

  # d/ds log(L - E) = -alpha w / s + beta / (1 - s), w = A p^-alpha / (A p^-alpha + G): zero where
  # h(u) = beta s - alpha w (1 - s) changes sign, s = sigmoid(u); h runs from -alpha to +beta.
  def h(u):
    s, one_minus_s = expit(u), expit(-u)
    log_p = np.log(budget / cost_p) - np.logaddexp(0.0, -u)  # log(s * budget / cost_p), stable for s -> 0
    w = expit(-(np.log(q["G"]) - np.log(q["A"]) + q["alpha"] * log_p)) if q["G"] > 0 else 1.0
    return q["beta"] * s - q["alpha"] * w * one_minus_s

  u_best = brentq(h, -700.0, 40.0, xtol=1e-14, rtol=4 * np.finfo(float).eps)
  s = float(expit(u_best))
  p, f = s * budget / cost_p, (1 - s) * budget / cost_f
  return Allocation(budget=float(budget), cost_p=float(cost_p), cost_f=float(cost_f), p=p, f=f,
                    loss=float(barnett_loss(q, p, f)), share_p=s)


def isoloss_grid(fit_or_params, p_range, f_range, n: int = 100) -> pd.DataFrame:
  """L(p, f) on a log-spaced n x n grid (long format: p, f, loss) for isoloss contour plots."""
  q = _params(fit_or_params, "barnett")
  (p0, p1), (f0, f1) = p_range, f_range
  if not (0 < p0 < p1 and 0 < f0 < f1):
    raise UsageError(f"ranges must be 0 < lo < hi, got p {p_range}, f {f_range}")
  P, F = np.meshgrid(np.geomspace(p0, p1, n), np.geomspace(f0, f1, n))
  return pd.DataFrame({"p": P.ravel(), "f": F.ravel(), "loss": barnett_loss(q, P, F).ravel()})
