"""Should you pre-train more or collect more fine-tuning data? The mission's question, answered from the fits.

advise(fits, d_f, N, cost_ratio) reads the fitted laws a study's analysis saved (fits/<target>.json,
every bootstrap replicate included) and returns, with 95% intervals:
  - the effective-data multiplier (D_F + D_T) / D_F at (N, D_F), from the joint fit;
  - the loss change from doubling the fine-tuning data, from the joint fit at N;
  - the loss change from doubling pre-training, from the transfer-gap law (at the gap size);
  - with a cost ratio (pre-training steps that cost as much as one fine-tuning byte): the loss
    change from spending what doubling the data costs on pre-training instead;
  - which option lowers the loss more, and the fraction of bootstrap replicates that agree;
  - warnings where N or D_F lie outside the measured range, with the held-out-size verdict.
Everything is evaluated through the law registry.
"""
import dataclasses
import json
import math
from typing import Optional

import numpy as np

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.laws.registry import get_law


@dataclasses.dataclass
class Interval:
  value: float
  lo: float
  hi: float

  def text(self, fmt=".3g") -> str:
    return f"{self.value:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}]"


@dataclasses.dataclass
class Advice:
  target: str
  N: float
  d_f: float
  cost_ratio: Optional[float]
  multiplier: Interval
  more_data: Interval             # loss change (nats/byte) from doubling D_F, at N
  more_pretraining: Optional[Interval]        # from doubling pre-training p (gap law, gap size)
  same_budget_pretraining: Optional[Interval]  # from the pre-training the cost of doubling D_F buys
  better: str                     # "more fine-tuning data" | "more pre-training" | "not determined"
  agree: float                    # fraction of bootstrap replicates that pick the same option
  compared_at: str                # which law and size the comparison used
  warnings: list
  units: str = "bytes"            # what D_F counts
  pretrain_steps: Optional[float] = None  # the pre-training the study's fine-tuned runs started from

  def to_json(self) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(self)))

  def text(self) -> str:
    per = f"nats/{self.units[:-1]}"
    lines = [f"{self.target}: N = {self.N:,.0f}, D_F = {_amount(self.d_f)} {self.units}",
             f"  effective-data multiplier (D_F + D_T) / D_F: {self.multiplier.text()}",
             f"  loss change from doubling the fine-tuning data: {self.more_data.text('+.4f')} {per}"]
    if self.more_pretraining is not None:
      steps = (f" ({self.pretrain_steps:,.0f} -> {2 * self.pretrain_steps:,.0f} steps)"
               if self.pretrain_steps else "")
      lines.append(f"  loss change from doubling pre-training{steps}: {self.more_pretraining.text('+.4f')} {per}")
    if self.same_budget_pretraining is not None:
      extra = self.cost_ratio * self.d_f
      lines.append(f"  loss change from spending the cost of doubling the data on pre-training instead "
                   f"(cost ratio {self.cost_ratio:g} pre-training steps per fine-tuning {self.units[:-1]}: "
                   f"{extra:,.0f} more steps): {self.same_budget_pretraining.text('+.4f')} {per}")
    if self.better == "not determined":
      lines.append(f"  which is better: not determined ({self.compared_at})")
    else:
      lines.append(f"  better: {self.better} ({100 * self.agree:.0f}% of bootstrap replicates agree; "
                   f"{self.compared_at})")
    lines += [f"  warning: {w}" for w in self.warnings]
    return "\n".join(lines)


def _amount(x: float) -> str:
  """An amount of data: whole numbers with thousands separators, a small one with its digits (0.5, not 0)."""
  return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def load(workdir, target: Optional[str] = None) -> dict:
  """The fits `analyze` saved for `target` (None: the only one) in `workdir` (UsageError naming the fix when
  there are none)."""
  from transfer_scaling.report import runs_file, workdir_report
  from transfer_scaling.study import workdir as workdir_lib
  study = fileio.path(workdir_lib.study_path(workdir))
  targets = (workdir_lib.study_config(workdir, workdir_lib.read_study(workdir)).targets if study.exists()
             else runs_file.targets(workdir))
  if targets is None:
    raise UsageError(f"{workdir} holds no study (no study.json); run `transfer-scaling sweep` there first, or "
                     f"`transfer-scaling analyze --runs FILE --workdir {workdir}` for runs trained elsewhere")
  if target is None:
    if len(targets) > 1:
      raise UsageError(f"the runs in {workdir} have several targets ({', '.join(targets)}); choose one with --target")
    target = targets[0]
  if target not in targets:
    raise UsageError(f"the study in {workdir} has no target {target!r}; its targets are {', '.join(targets)}")
  path = workdir_report.fits_path(workdir, target)
  if not path.exists():
    raise UsageError(f"no fitted laws for {target!r} in {workdir}; run `transfer-scaling analyze --workdir {workdir}` "
                     "first (if it ran, its report says why the joint fit was not made)")
  fits = fileio.read_json_checked(path, f"delete it and rerun `transfer-scaling analyze --workdir {workdir}` "
                                        "to fit again")
  if not isinstance(fits, dict) or not all(k in fits for k in ("joint", "sizes", "N_range", "D_F_range")):
    raise UsageError(f"{path} is damaged (not the fits analyze writes); delete it and rerun "
                     f"`transfer-scaling analyze --workdir {workdir}` to fit again")
  return fits


def _values(law_json: dict, fn, **inputs):
  """(point, replicates [B, n]) of fn(params, **inputs) at the fitted parameters and every bootstrap replicate."""
  point = fn(law_json["params"], **inputs)
  b = law_json.get("bootstrap") or {}
  reps = fn({k: np.asarray(v) for k, v in b.items()}, **inputs) if b else None
  return np.atleast_1d(point), (np.atleast_2d(reps) if reps is not None else None)


def _interval(point, reps) -> Interval:
  """The 95% percentile interval of one scalar quantity (point [1], reps [B, 1])."""
  point = float(np.ravel(point)[0])
  if reps is None or len(reps) < 2:
    return Interval(point, math.nan, math.nan)
  reps = np.asarray(reps).reshape(len(reps), -1)[:, 0]
  return Interval(point, float(np.quantile(reps, 0.025)), float(np.quantile(reps, 0.975)))


def advise(fits: dict, d_f: float, N: float, cost_ratio: Optional[float] = None) -> Advice:
  """See the module docstring; fits: what `load` returns."""
  for name, v in (("D_F", d_f), ("N", N)):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
      raise UsageError(f"{name} must be a positive number, got {v!r}")
  if cost_ratio is not None and (isinstance(cost_ratio, bool) or not isinstance(cost_ratio, (int, float))
                                 or not (math.isfinite(cost_ratio) and cost_ratio > 0)):
    raise UsageError(f"the cost ratio must be a positive finite number (pre-training steps per fine-tuning byte), "
                     f"got {cost_ratio!r}")
  joint = fits["joint"]
  law = get_law(joint["law"])
  warnings = []
  lo_N, hi_N = fits["N_range"]
  lo_f, hi_f = fits["D_F_range"]
  if not lo_N <= N <= hi_N:
    warnings.append(f"N = {N:,.0f} lies outside the measured sizes ({lo_N:,.0f}-{hi_N:,.0f}): an extrapolation"
                    + (f"; {fits['heldout']}" if fits.get("heldout") else ""))
  if not lo_f <= d_f <= hi_f:
    warnings.append(f"D_F = {_amount(d_f)} lies outside the fitted D_F ({_amount(lo_f)}-{_amount(hi_f)}): "
                    "an extrapolation")
  for k, v in fits.get("identified", {}).items():
    if v["status"] != "determined":
      warnings.append(v["text"])
  mult = _interval(*_values(joint, law.functions["multiplier"], N=np.array([N]), D_F=np.array([d_f])))
  loss = lambda p, D: law.predict(p, {"N": np.array([N]), "D": np.array([D]), "pretrained": np.array([1.0])})
  delta_f = _interval(*_values(joint, lambda p: loss(p, 2 * d_f) - loss(p, d_f)))
  gap = fits.get("gap")
  if gap is None:
    return Advice(fits["target"], float(N), float(d_f), cost_ratio, mult, delta_f, None, None, "not determined",
                  math.nan, "no transfer-gap law was fitted, so the value of more pre-training is not measured",
                  warnings, fits.get("units", "bytes"))
  g = get_law(gap["law"])
  p0 = float(fits["pretrain_steps"])
  at = lambda p, pp, f: g.predict(p, {"p": np.array([pp]), "f": np.array([f])})
  d_data_pt, d_data = _values(gap, lambda p: at(p, p0, 2 * d_f) - at(p, p0, d_f))
  d_pre_pt, d_pre = _values(gap, lambda p: at(p, 2 * p0, d_f) - at(p, p0, d_f))
  more_pre = _interval(d_pre_pt, d_pre)
  same = None
  if cost_ratio is not None:
    steps = cost_ratio * d_f  # what doubling the data costs, in pre-training steps
    s_pt, s_reps = _values(gap, lambda p: at(p, p0 + steps, d_f) - at(p, p0, d_f))
    same = _interval(s_pt, s_reps)
    alt_pt, alt = s_pt, s_reps
    compared = "same budget"
  else:
    alt_pt, alt = d_pre_pt, d_pre
    compared = "doubling either, costs not counted (give a cost ratio to compare equal budgets)"
  where = f"transfer-gap law at size {gap['size']} (N = {gap['N']:,.0f}), {compared}"
  if abs(gap["N"] - N) > 1e-9 * N:
    warnings.append(f"the value of pre-training is measured at size {gap['size']} only (N = {gap['N']:,.0f})")
  from transfer_scaling.report.workdir_report import gap_verdicts
  warnings += [v["text"] for v in gap_verdicts(gap).values() if v["status"] != "determined"]
  data_wins = float(d_data_pt[0] < alt_pt[0])
  if d_data is None or alt is None:
    agree = math.nan
  else:
    agree = float(np.mean((d_data[:, 0] < alt[:, 0]) == bool(data_wins)))
  better = "more fine-tuning data" if data_wins else "more pre-training"
  if np.isfinite(agree) and agree < 0.8:
    better, where = "not determined", where + f"; only {100 * max(agree, 1 - agree):.0f}% of replicates agree"
  return Advice(fits["target"], float(N), float(d_f), cost_ratio, mult, delta_f, more_pre, same, better,
                agree, where, warnings, fits.get("units", "bytes"), p0)
