"""Does the grid determine a parameter? A verdict in words, under a stated rule on the interval's width.

A quantity of the joint fit is *determined* only when its 95% interval is narrow enough to act on
(WIDTH: alpha and beta at most 0.5 wide; RATIO: the multiplier, D_T and k at most a factor 2 from
lo to hi); *bounded* when the interval is finite but wider; *not determined* when the profile
likelihood never rises above the chi-square quantile on a side within the searched range, or the
design cannot pin the parameter down at all (three sizes for beta, three D_F for k and alpha), and
then the report says what grid would determine it; one-sided bounds (G below some value) are kept.
The bootstrap and the profile intervals are compared, and a disagreement is shown.
"""
import dataclasses
import math
from typing import Optional

import numpy as np


@dataclasses.dataclass
class Verdict:
  status: str            # "determined", "upper bound only", "lower bound only", "not determined"
  text: str              # one sentence for the report
  fix: str = ""          # what grid would determine it
  bootstrap: Optional[tuple] = None   # (lo, hi)
  profile: Optional[tuple] = None     # (lo, hi), nan for an open side
  disagree: bool = False

  @property
  def determined(self) -> bool:
    return self.status == "determined"


# The rule: a 95% interval at most this wide (alpha, beta) or this hi/lo ratio (multiplier, D_T, k) is
# "determined"; wider but finite is "bounded". A reader can act on alpha +- 0.25 or a multiplier within 2x.
WIDTH = {"alpha": 0.5, "beta": 0.5}
RATIO = {"multiplier": 2.0, "D_T": 2.0, "k": 2.0}
RULE = ("determined: the 95% interval of alpha or beta at most 0.5 wide, of the multiplier, D_T or k at most a "
        "factor 2 from lo to hi; bounded: a finite interval wider than that; not determined: no finite interval")


def quantity(name: str, lo: float, hi: float) -> Verdict:
  """The verdict on a 95% interval [lo, hi] of `name` under the width rule (WIDTH, RATIO)."""
  if not (np.isfinite(lo) and np.isfinite(hi)) or name in RATIO and not (lo > 0 and hi > 0):
    return Verdict("not determined", f"{name}: no finite 95% interval")
  if name in RATIO:
    r = hi / lo
    ok, how = r <= RATIO[name], f"hi/lo = {r:.3g}" + (" <= " if r <= RATIO[name] else " > ") + f"{RATIO[name]:g}"
  else:
    w = hi - lo
    ok, how = w <= WIDTH[name], f"width {w:.3g}" + (" <= " if w <= WIDTH[name] else " > ") + f"{WIDTH[name]:g}"
  word = "determined" if ok else "bounded, not determined"
  return Verdict("determined" if ok else "bounded", f"{name} is {word}: 95% interval [{lo:.3g}, {hi:.3g}], {how}",
                 bootstrap=(lo, hi))


# A scale parameter (k, G) bounded only within more decades than this is reported as not
# determined: such an interval says nothing a user can act on.
MAX_DECADES = 3.0


def decades(lo: float, hi: float) -> float:
  """How many decades a positive interval spans (nan unless both ends are positive)."""
  return math.log10(hi / lo) if lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi) else math.nan


def too_wide(lo: float, hi: float) -> bool:
  """True when a positive interval spans more than MAX_DECADES: it says nothing a user can act on."""
  return decades(lo, hi) > MAX_DECADES


def _disagree(boot, prof, log_scale: bool) -> bool:
  """True when an end of the bootstrap and profile intervals differ by more than a quarter of the wider one."""
  if boot is None or prof is None or not all(np.isfinite(prof)):
    return False
  f = (lambda x: math.log(max(x, 1e-300))) if log_scale else (lambda x: x)
  (b0, b1), (p0, p1) = (f(boot[0]), f(boot[1])), (f(prof[0]), f(prof[1]))
  return max(abs(b0 - p0), abs(b1 - p1)) > 0.25 * max(b1 - b0, p1 - p0, 1e-12)


def _from_profile(name, fit, prof, log_scale, fix_open, rule=False):
  boot = tuple(fit.ci95[name]) if fit.ci95 and name in fit.ci95 else None
  pr = (prof.lo, prof.hi) if prof is not None else None
  dis = _disagree(boot, pr, log_scale)
  if prof is None:
    if rule and boot is not None:
      return quantity(name, *boot)
    return Verdict("determined" if boot else "not determined", "", bootstrap=boot)
  if prof.bounded and log_scale and too_wide(prof.lo, prof.hi):
    return Verdict("not determined", f"{name} is not determined by this grid: its 95% profile interval "
                   f"[{prof.lo:.3g}, {prof.hi:.3g}] spans {decades(prof.lo, prof.hi):.0f} decades",
                   fix_open, bootstrap=boot, profile=pr, disagree=dis)
  if prof.bounded:
    note = ("; the bootstrap and profile intervals disagree: read both" if dis else "")
    if rule and boot is not None:  # the width rule on the interval the report prints beside the verdict
      v = quantity(name, *boot)
      return Verdict(v.status, v.text + note, bootstrap=boot, profile=pr, disagree=dis)
    return Verdict("determined", f"{name} is determined by this grid{note}", bootstrap=boot, profile=pr, disagree=dis)
  if prof.lo_open and not prof.hi_open:
    return Verdict("upper bound only", f"{name} <= {prof.hi:.3g} (95%); the grid sets no lower bound", fix_open,
                   bootstrap=boot, profile=pr)
  if prof.hi_open and not prof.lo_open:
    return Verdict("lower bound only", f"{name} >= {prof.lo:.3g} (95%); the grid sets no upper bound", fix_open,
                   bootstrap=boot, profile=pr)
  return Verdict("not determined", f"{name} is not determined by this grid (its profile likelihood is flat)",
                 fix_open, bootstrap=boot, profile=pr)


def transfer_parameter(name: str, fit, prof, design: dict) -> Verdict:
  """k, alpha or beta of the joint fit; design: sizes, d_f (counts in the low-data regime), their decades."""
  if name == "beta" and design["sizes"] < 3:
    return Verdict("not determined", f"beta is not determined by this grid: {design['sizes']} model size(s) in the "
                   "low-data fit", "measure 3 or more sizes spanning at least a decade of N")
  if name in ("k", "alpha") and design["d_f"] < 3:
    return Verdict("not determined", f"{name} is not determined by this grid: {design['d_f']} D_F value(s) in the "
                   "low-data regime", "measure 3 or more D_F spanning at least a decade in the low-data regime")
  fix = {"beta": "more sizes, spanning more than the present "
                 f"{design['n_decades']:.1f} decades of N",
         "alpha": f"D_F over more than the present {design['d_f_decades']:.1f} decades (and more seeds)",
         "k": "a wider D_F and N range (k trades off against alpha and beta)"}[name]
  v = _from_profile(name, fit, prof, name == "k", fix, rule=True)
  if name == "k" and v.status in ("determined", "bounded"):
    v.text += "; k is D_T at D_F = 1 and N = 1, far outside the grid: read D_T and the multiplier at the design centre"
  return v


def gap_parameter(name: str, fit, prof, p_max: float) -> Verdict:
  """A parameter of the transfer-gap law L(p, f) = (A p^-alpha + G) f^-beta + E fitted on a (p, f) grid."""
  v = _from_profile(name, fit, prof, name in ("A", "G", "E"), "")
  if name != "G":
    return v
  A, alpha, G = fit.params["A"], fit.params["alpha"], fit.params["G"]
  reach = A * p_max ** -alpha  # pre-training's term at the largest p measured
  if v.status == "determined" and reach > G:
    v.text += (f"; at the largest p ({p_max:,.0f}) pre-training's term A p^-alpha = {reach:.3g} still exceeds G, "
               "so G rests on the law's form beyond the grid")
  elif v.status != "determined":
    bound = v.profile[1] if v.profile and np.isfinite(v.profile[1]) else None
    target = bound or (G if G > 0 else None)  # the largest G the data allow, else the estimate
    log_p = (math.log(A) - math.log(target)) / alpha if target and alpha > 0 else math.inf
    where = (f"to about p = {math.exp(log_p):,.0f} steps, where A p^-alpha falls to G"
             if log_p < math.log(1e4 * p_max) else "far beyond this grid (the fitted pre-training exponent is too "
             "small to say where)")
    if target and target >= reach:  # the grid does reach where G would show: G is just small
      v.fix = (f"at p = {p_max:,.0f} pre-training's term A p^-alpha = {reach:.3g} is already below what G may be; "
               "more fine-tuning sizes f and more seeds would tighten G's bound")
    else:
      v.fix = (f"pre-train further: the grid stops at p = {p_max:,.0f}, where A p^-alpha = {reach:.3g}; "
               f"G shows only where that term falls below it, so keep checkpoints {where}")
    if v.status == "upper bound only":
      v.text = f"G <= {v.profile[1]:.3g} (95%): not distinguishable from 0 by this grid"
    elif v.status == "not determined":
      v.text = "G is not determined by this grid"
  return v
