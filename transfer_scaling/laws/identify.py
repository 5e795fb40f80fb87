"""Does the grid determine a parameter? A verdict in words, under a stated rule on the interval's width.

Each law in a study role says, per parameter it reports, its rule (registry.Param): a parameter with
a width or ratio rule is *determined* only when its 95% interval is narrow enough to act on (the
transfer law's alpha and beta at most 0.5 wide, k at most a factor 2 from lo to hi; RATIO: the
multiplier and D_T likewise), *bounded* when the interval is finite but wider; a parameter without
one is determined when its profile likelihood bounds it. It is *not determined* when the profile
likelihood never rises above the chi-square quantile on a side within the searched range, or the
design cannot pin it down at all (Param.needs: three sizes for beta, three D_F for k and alpha),
and then the report says what grid would determine it; one-sided bounds (G below some value) are
kept. The bootstrap and the profile intervals are compared, and a disagreement is shown.
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


# The rule for the joint fit's derived quantities: a 95% interval at most this hi/lo ratio is "determined";
# wider but finite is "bounded". A reader can act on a multiplier within 2x (a law's parameters: its hints).
RATIO = {"multiplier": 2.0, "D_T": 2.0}


def _or(names) -> str:
  return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def rule(law) -> str:
  """The width rule of a joint law's hinted parameters and derived quantities, as the report states it."""
  groups = {}
  for name, h in law.hints.items():
    if h.rule:
      groups.setdefault((h.rule, h.limit), []).append(name)
  for name, limit in RATIO.items():
    groups.setdefault(("ratio", limit), []).insert(0 if name == "multiplier" else 1, f"the {name}"
                                                   if name == "multiplier" else name)
  parts = [f"of {_or(names)} " + (f"at most {limit:g} wide" if kind == "width" else
                                  f"at most a factor {limit:g} from lo to hi")
           for (kind, limit), names in sorted(groups.items(), key=lambda kv: kv[0][0] != "width")]
  return ("determined: the 95% interval " + ", ".join(parts) + "; bounded: a finite interval wider than that; "
          "not determined: no finite interval")


def quantity(name: str, lo: float, hi: float, kind: str = "ratio", limit: float = 0.0) -> Verdict:
  """The verdict on a 95% interval [lo, hi] of `name` under a width rule: kind 'ratio' (hi/lo at most limit) or
  'width' (hi - lo at most limit); limit 0: RATIO[name], a derived quantity's."""
  limit = limit or RATIO[name]
  if not (np.isfinite(lo) and np.isfinite(hi)) or kind == "ratio" and not (lo > 0 and hi > 0):
    return Verdict("not determined", f"{name}: no finite 95% interval")
  if kind == "ratio":
    r = hi / lo
    ok, how = r <= limit, f"hi/lo = {r:.3g}" + (" <= " if r <= limit else " > ") + f"{limit:g}"
  else:
    w = hi - lo
    ok, how = w <= limit, f"width {w:.3g}" + (" <= " if w <= limit else " > ") + f"{limit:g}"
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


def _from_profile(name, fit, prof, log_scale, fix_open, hint=None):
  boot = tuple(fit.ci95[name]) if fit.ci95 and name in fit.ci95 else None
  pr = (prof.lo, prof.hi) if prof is not None else None
  dis = _disagree(boot, pr, log_scale)
  rule = hint is not None and bool(hint.rule)
  if prof is None:
    if rule and boot is not None:
      return quantity(name, *boot, hint.rule, hint.limit)
    return Verdict("determined" if boot else "not determined", "", bootstrap=boot)
  if prof.bounded and log_scale and too_wide(prof.lo, prof.hi):
    return Verdict("not determined", f"{name} is not determined by this grid: its 95% profile interval "
                   f"[{prof.lo:.3g}, {prof.hi:.3g}] spans {decades(prof.lo, prof.hi):.0f} decades",
                   fix_open, bootstrap=boot, profile=pr, disagree=dis)
  if prof.bounded:
    note = ("; the bootstrap and profile intervals disagree: read both" if dis else "")
    if rule and boot is not None:  # the width rule on the interval the report prints beside the verdict
      v = quantity(name, *boot, hint.rule, hint.limit)
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


def parameter(law, name: str, fit, prof, design: dict) -> Verdict:
  """The verdict on parameter `name` of a law in a study role, under its hint (law.hints[name]).

  design: what the grid holds, the keys its hints name (the joint fit: sizes, d_f (counts in the
  low-data regime), n_decades, d_f_decades; the gap law: p_max).
  """
  h = law.hints[name]
  for key, least, what, fix in h.needs:
    if design[key] < least:
      return Verdict("not determined", f"{name} is not determined by this grid: {design[key]} {what}", fix)
  v = _from_profile(name, fit, prof, h.log_scale, h.fix.format(**design), hint=h)
  if h.note and v.status in ("determined", "bounded"):
    v.text += f"; {h.note}"
  return h.explain(v, fit, design) if h.explain else v


def profiled(law) -> list:
  """The parameters of `law` that get a verdict (from their profile likelihood), in the report's order."""
  return [name for name, h in law.hints.items() if h.profile]
