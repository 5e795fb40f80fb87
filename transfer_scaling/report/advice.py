"""Should you pre-train more or collect more fine-tuning data? The mission's question, answered from one model.

advise(fits, d_f, N, cost_ratio) reads the laws a study's analysis saved (fits/<target>.json, every
bootstrap replicate included) and evaluates both options with one model: the fine-tuned loss as a
function of (N, D_F, p) (`decision`, the pretrain_<scratch> law of laws/pretrain.py, fitted to every
fine-tuned run at every kept pre-training amount and size), at the user's N. It returns, with 95%
intervals over the same replicates:
  - the predicted loss now, with 2x D_F, and with 2x pre-training (or `extra_steps` more steps);
  - the effective-data multiplier (D_F + D_T) / D_F at (N, D_F, p);
  - the break-even cost ratio C_f/C_p: the pre-training steps per fine-tuning unit at which spending what
    doubling D_F costs on pre-training instead buys the same loss. Below it more data is the better buy;
  - with a cost ratio: the loss from spending the cost of doubling D_F on pre-training instead;
  - `better`: the option that lowers the loss more (at the same budget when a cost ratio is given), when
    at least THRESHOLD of the replicates favour it, else "not determined"; `probability` is that share
    (docs/advise.md calibrates it on simulated studies with known answers);
  - extrapolation flags for every axis the comparison touches (N, D_F, 2 D_F, p and the p it moves to).
The transfer-gap law is a reading of the gap size's runs, printed beside, never the decision. Runs of one
pre-training amount cannot value more pre-training: the joint law then gives the multiplier and the value
of more data, and the decision is "not determined". Everything is evaluated through the law registry.
"""
import dataclasses
import json
import math
from typing import Optional

import numpy as np
import pandas as pd

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import mixed, pretrain
from transfer_scaling.laws.registry import get_law
from transfer_scaling.report import runs_file, workdir_report
from transfer_scaling.study import workdir as workdir_lib

# The share of replicates that must favour an option before advise names it (docs/advise.md: at a tie,
# about 2 (1 - THRESHOLD) of studies name one when the replicates are calibrated).
THRESHOLD = 0.95
DATA, PRETRAIN, UNDECIDED = "more fine-tuning data", "more pre-training", "not determined"


@dataclasses.dataclass
class Interval:
  value: float
  lo: float
  hi: float

  def text(self, fmt=".3g") -> str:
    return f"{self.value:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}]"

  def triple(self) -> list:
    return [self.value, self.lo, self.hi]


@dataclasses.dataclass
class Advice:
  target: str
  N: float
  d_f: float
  cost_ratio: Optional[float]
  multiplier: Interval
  more_data: Interval                         # loss change (nats/unit) from doubling D_F, at N
  more_pretraining: Optional[Interval]        # from pre-training extra_steps more (doubling by default)
  same_budget_pretraining: Optional[Interval]  # from the pre-training the cost of doubling D_F buys
  better: str                     # DATA | PRETRAIN | UNDECIDED
  probability: float              # share of replicates favouring `better` (when undecided: the likelier option)
  compared_at: str                # what the decision compared, and why it is undecided
  warnings: list
  units: str = "bytes"            # what D_F counts
  pretrain_steps: Optional[float] = None  # p: the pre-training the user's model starts from
  extra_steps: Optional[float] = None     # the pre-training option: p -> p + extra_steps
  loss_now: Optional[Interval] = None
  loss_more_data: Optional[Interval] = None
  loss_more_pretraining: Optional[Interval] = None
  break_even_cost_ratio: Optional[Interval] = None
  favours: str = UNDECIDED        # the option more replicates favour (= better when decided)
  threshold: float = THRESHOLD
  extrapolated: list = dataclasses.field(default_factory=list)  # axes outside the measured ranges
  model: str = ""                 # the law both options were evaluated with
  reading: str = ""               # the transfer-gap law's reading of the same runs (not the decision)
  next_runs: list = dataclasses.field(default_factory=list)  # when undecided: what would narrow it (next_runs)
  # the transfer law's multiplier (runs of p alone) where it and `multiplier` each lie outside the other's interval:
  # the multiplier is then not determined (_multiplier_check)
  multiplier_transfer_law: Optional[Interval] = None

  def to_json(self) -> dict:
    out = json.loads(json.dumps(dataclasses.asdict(self), default=float))
    for k in ("multiplier", "break_even_cost_ratio", "more_data", "more_pretraining", "same_budget_pretraining",
              "loss_now", "loss_more_data", "loss_more_pretraining", "multiplier_transfer_law"):
      v = getattr(self, k)
      out[k] = v.triple() if v is not None else None
    return json.loads(json.dumps(out).replace("Infinity", "null").replace("NaN", "null"))

  def text(self) -> str:
    unit = self.units[:-1]
    per = f"nats/{unit}"
    lines = [f"{self.target}: N = {self.N:,.0f}, D_F = {_amount(self.d_f)} {self.units}"
             + (f", fine-tuned from {self.pretrain_steps:,.0f} pre-training steps" if self.pretrain_steps else ""),
             f"  effective-data multiplier (D_F + D_T) / D_F: {self.multiplier.text()}"
             if self.multiplier_transfer_law is None else
             f"  effective-data multiplier (D_F + D_T) / D_F: not determined: {self.multiplier.text()} from this "
             f"model, {self.multiplier_transfer_law.text()} from the transfer law (see the warning)"]
    if self.loss_now is not None:
      lines.append(f"  predicted loss now: {self.loss_now.text('.4f')} {per}")
      lines.append(f"    with 2x the fine-tuning data ({_amount(2 * self.d_f)} {self.units}): "
                   f"{self.loss_more_data.text('.4f')} (change {self.more_data.text('+.4f')})")
      p0, p1 = self.pretrain_steps, self.pretrain_steps + self.extra_steps
      lines.append(f"    with pre-training {p0:,.0f} -> {p1:,.0f} steps: {self.loss_more_pretraining.text('.4f')} "
                   f"(change {self.more_pretraining.text('+.4f')})")
    else:
      lines.append(f"  loss change from doubling the fine-tuning data: {self.more_data.text('+.4f')} {per}")
    if self.break_even_cost_ratio is not None:
      b = self.break_even_cost_ratio
      lines.append(f"  break-even cost ratio C_f/C_p: {_ratio(b.value)} [{_ratio(b.lo)}, {_ratio(b.hi)}] pre-training "
                   f"steps per fine-tuning {unit}: more data is the better buy unless a fine-tuning {unit} costs "
                   f"more than {_ratio(b.value)} pre-training steps")
    if self.same_budget_pretraining is not None:
      extra = self.cost_ratio * self.d_f
      lines.append(f"  loss change from spending the cost of doubling the data on pre-training instead "
                   f"(cost ratio {self.cost_ratio:g} pre-training steps per fine-tuning {unit}: "
                   f"{extra:,.0f} more steps): {self.same_budget_pretraining.text('+.4f')} {per}")
    if self.better == UNDECIDED:
      lines.append(f"  better: not determined ({self.compared_at})")
    else:
      lines.append(f"  better: {self.better} ({100 * self.probability:.0f}% of bootstrap replicates favour it, "
                   f"threshold {100 * self.threshold:.0f}%; {self.compared_at})")
    if self.next_runs:
      lines.append("  what to run next (the decision's interval, predicted from the fitted noise model; "
                   "cost from the study's measured wall time):")
      for r in self.next_runs:
        cost = f"about {r['seconds'] / 60:,.0f} min" if r["seconds"] is not None else "cost unknown"
        lines.append(f"    {r['what']}: {r['runs']} runs, {cost}; sd of the difference {r['sd_now']:.3g} -> "
                     f"{r['sd_after']:.3g} nats/{unit}" + (" (would likely decide)" if r["decides"] else ""))
        if r.get("command"):
          lines.append(f"      {r['command']}")
    if self.reading:
      lines.append(f"  reading, not the decision: {self.reading}")
    lines += [f"  warning: {w}" for w in self.warnings]
    return "\n".join(lines)


def _ratio(x: float) -> str:
  return "unbounded" if not math.isfinite(x) else f"{x:.3g}"


def _amount(x: float) -> str:
  """An amount of data: whole numbers with thousands separators, a small one with its digits (0.5, not 0)."""
  return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def load(workdir, target: Optional[str] = None) -> dict:
  """The fits `analyze` saved for `target` (None: the only one) in `workdir` (UsageError naming the fix when
  there are none)."""
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


def _check(name: str, v, unit: str = "") -> None:
  if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0)):
    raise UsageError(f"{name} must be a positive finite number{unit}, got {v!r}")


def advise(fits: dict, d_f: float, N: float, cost_ratio: Optional[float] = None,
           extra_steps: Optional[float] = None, plan: bool = True, workdir=None) -> Advice:
  """See the module docstring; fits: what `load` returns; extra_steps: the pre-training option adds these steps
  (default: doubles the pre-training the study's runs started from); plan: say what to run next when undecided;
  workdir: the study's, so that what to run next is a change to its config that `sweep` takes as it is."""
  _check("D_F", d_f)
  _check("N", N)
  _check("the cost ratio", cost_ratio, " (pre-training steps per fine-tuning byte)")
  _check("the extra pre-training steps", extra_steps)
  if fits.get("decision"):
    return _decide(fits, float(d_f), float(N), cost_ratio, extra_steps, plan, workdir)
  return _joint_only(fits, float(d_f), float(N), cost_ratio)


def _replicates(law_json: dict):
  """(natural-scale point parameters, replicate parameters {name: [B]} or None)."""
  b = law_json.get("bootstrap") or {}
  reps = {k: np.asarray(v, np.float64) for k, v in b.items()} if b else None
  return law_json["params"], (reps if reps and len(next(iter(reps.values()))) >= 2 else None)


def _both(fn, point, reps):
  """fn at the point ([n]) and at every replicate ([B, n] or None)."""
  return np.atleast_1d(fn(point)), (np.atleast_2d(fn(reps)) if reps is not None else None)


def _quantiles(x_B) -> tuple:
  x = np.sort(np.asarray(x_B, np.float64))  # inverted_cdf: no interpolation between infinite replicates
  return tuple(float(np.quantile(x, q, method="inverted_cdf")) for q in (0.025, 0.975))


def _iv(point, reps) -> Interval:
  point = float(np.ravel(point)[0])
  if reps is None:
    return Interval(point, math.nan, math.nan)
  return Interval(point, *_quantiles(np.asarray(reps).reshape(len(reps), -1)[:, 0]))


# Where the break-even ratio is searched: extra pre-training steps per fine-tuning unit.
_RATIOS = np.geomspace(1e-8, 1e8, 801)


def break_even(loss, params, N: float, d_f: float, p0: float) -> np.ndarray:
  """C_f/C_p at which p0 -> p0 + ratio * d_f pre-training steps buys the loss that 2 d_f fine-tuning units buy.

  loss: the law's finetuned_loss; params: natural-scale values, scalars (-> [1]) or [B] arrays (-> [B]).
  inf where no pre-training within the searched 1e8 steps per unit reaches it (gamma <= 0 in a replicate).
  """
  target = np.atleast_2d(loss(params, N=np.array([N]), D_F=np.array([2 * d_f]), p=np.array([p0])))  # [B, 1]
  p = p0 + _RATIOS * d_f
  curve = np.atleast_2d(loss(params, N=np.full(len(p), N), D_F=np.full(len(p), d_f), p=p))  # [B, R]
  below = curve <= target
  first = np.where(below.any(1), below.argmax(1), -1)
  out = np.full(len(curve), np.inf)
  lr = np.log(_RATIOS)
  for b in np.flatnonzero(first >= 0):
    j = first[b]
    if j == 0:
      out[b] = _RATIOS[0]
      continue
    y0, y1, t = np.log(curve[b, j - 1]), np.log(curve[b, j]), np.log(target[b, 0])
    out[b] = math.exp(lr[j - 1] + (lr[j] - lr[j - 1]) * (y0 - t) / (y0 - y1))
  return out


def _decide(fits: dict, d_f: float, N: float, cost_ratio, extra_steps, plan: bool, workdir=None) -> Advice:
  dec = fits["decision"]
  law = get_law(dec["law"])
  loss = law.functions["finetuned_loss"]
  point, reps = _replicates(dec)
  p0 = float(fits.get("pretrain_steps") or dec["ranges"]["p"][1])
  dp = float(extra_steps) if extra_steps else p0
  at = lambda D, p: (lambda prm: loss(prm, N=np.array([N]), D_F=np.array([D]), p=np.array([p])))
  if reps is not None:  # a replicate whose predictions overflow here says nothing about them: every quantity drops it
    with np.errstate(all="ignore"):
      ok = np.all([np.isfinite(at(d, p)(reps)[:, 0]) for d, p in ((d_f, p0), (2 * d_f, p0), (d_f, p0 + dp),
                                                                    (d_f, p0 + (cost_ratio or 0) * d_f))], 0)
    reps = {k: v[ok] for k, v in reps.items()} if ok.sum() >= 2 else None
  now, data2, pre = _both(at(d_f, p0), point, reps), _both(at(2 * d_f, p0), point, reps), \
      _both(at(d_f, p0 + dp), point, reps)
  change = lambda a: (a[0] - now[0], a[1] - now[1] if a[1] is not None else None)
  mult = _both(lambda prm: law.functions["multiplier"](prm, N=np.array([N]), D_F=np.array([d_f]),
                                                        p=np.array([p0])), point, reps)
  be_point = float(break_even(loss, point, N, d_f, p0)[0])
  be = Interval(be_point, *(_quantiles(break_even(loss, reps, N, d_f, p0)) if reps is not None
                            else (math.nan, math.nan)))
  same = None
  if cost_ratio is not None:
    same = _both(at(d_f, p0 + cost_ratio * d_f), point, reps)
    alt, what = same, f"at the same budget ({cost_ratio * d_f:,.0f} more pre-training steps against {_amount(d_f)} " \
                      f"more {fits.get('units', 'bytes')})"
  else:
    alt, what = pre, ("doubling the data against the pre-training option, costs not counted (give a cost ratio "
                      "to compare equal budgets; the break-even ratio says where the answer turns)")
  better, prob, favours, where = _verdict(data2, alt, what)
  warnings, flags = _flags(fits, dec, N, d_f, p0, p0 + dp, cost_ratio, be_point)
  other = _multiplier_check(fits, N, d_f, p0, _iv(*mult))
  if other is not None:
    warnings.append(f"the transfer law, fitted to the runs from {p0:,.0f} pre-training steps alone, puts the "
                    f"multiplier at {other.text()}, and each model's value lies outside the other's interval: they "
                    "disagree on the from-scratch loss the multiplier is read through, so it is not determined here "
                    "(the decision compares the two options' predicted losses, not the multiplier)")
  p_alt = p0 + (cost_ratio * d_f if cost_ratio is not None else dp)
  nxt = next_runs(fits, N, d_f, p0, p_alt, workdir=workdir) if better == UNDECIDED and plan else []
  return Advice(fits["target"], N, d_f, cost_ratio, _iv(*mult), _iv(*change(data2)), _iv(*change(pre)),
                _iv(*change(same)) if same is not None else None, better, prob, where, warnings,
                fits.get("units", "bytes"), p0, dp, loss_now=_iv(*now), loss_more_data=_iv(*data2),
                loss_more_pretraining=_iv(*pre), break_even_cost_ratio=be, favours=favours, extrapolated=flags,
                model=f"{law.name}: {law.doc}", reading=_gap_reading(fits, d_f), next_runs=nxt,
                multiplier_transfer_law=other)


def _multiplier_check(fits: dict, N: float, d_f: float, p0: float, mult: Interval) -> Optional[Interval]:
  """The transfer law's multiplier (fitted to the runs of p0 alone) where it and the (N, D_F, p) model's each lie
  outside the other's interval; else None. The model reads the multiplier through its own from-scratch curve,
  fitted together with every pre-training amount under one gamma for all sizes; where that structure does not
  hold, the fit moves the from-scratch curve (which the GLS weighs less: from-scratch runs are the noisier) and
  the multiplier with it, while the losses both options are judged by stay fitted."""
  joint = fits.get("joint")
  if not joint or float(fits.get("pretrain_steps") or math.nan) != p0 or math.isnan(mult.lo):
    return None
  law = get_law(joint["law"])
  point, reps = _replicates(joint)
  with np.errstate(all="ignore"):
    other = _iv(*_both(lambda prm: law.functions["multiplier"](prm, N=np.array([N]), D_F=np.array([d_f])),
                       point, reps))
  if math.isnan(other.lo) or mult.lo <= other.value <= mult.hi or other.lo <= mult.value <= other.hi:
    return None
  return other


def next_runs(fits: dict, N: float, d_f: float, p0: float, p_alt: float, top: int = 3, workdir=None) -> list:
  """The runs that would most narrow the decision's interval, best first: for each candidate, the sd of the
  difference (loss with 2 d_f minus loss at p_alt) that the GLS fit of the study plus those runs gives under the
  fitted noise model (laws.pretrain.linear_sd), and its cost.

  With the study's workdir (a study.json there), each candidate is a change to the study's config
  (study/extend.py: more seeds, pre-training varied at another size, longer pre-training, more kept
  checkpoints), judged on the cells `sweep` would then hold and priced from the workdir's measured throughput;
  its `command` runs it. Without one (runs trained elsewhere), candidates are runs at the measured size nearest
  N, priced from the seconds per run the analysis measured. [] without the design or the noise model (fits of an
  older analyze).
  """
  dec = fits["decision"]
  if not dec.get("design") or not dec.get("noise"):
    return []
  law = get_law(dec["law"])
  n = dec["noise"]
  noise = mixed.Components(seed_d=n["seed_d"], seed=n["seed"], run={0.0: n["run_scratch"], 1.0: n["run_finetuned"]},
                           cell=n.get("cell", 0.0), pretrain=n.get("pretrain", 0.0))
  widen = float((n.get("df") or {}).get("widening", 1.0))
  design = pd.DataFrame(dec["design"])
  design["seed"] = design["seed"].astype(str)
  loss = law.functions["finetuned_loss"]
  at = lambda prm, D, p: float(np.ravel(loss(prm, N=np.array([N]), D_F=np.array([D]), p=np.array([p])))[0])
  diff = lambda prm: at(prm, 2 * d_f, p0) - at(prm, d_f, p_alt)
  sd = lambda d: widen * pretrain.linear_sd(law, dec["params"], d, noise, diff)
  now = sd(design)
  delta = abs(diff(dec["params"]))
  sizes = sorted(design["N"].unique())
  near = min(sizes, key=lambda x: abs(math.log(x / N)))
  study = fileio.path(workdir_lib.study_path(workdir)) if workdir is not None else None
  cands = (_extensions(fits, design, workdir, near, p_alt) if study is not None and study.exists()
           else _runs_at(fits, design, near, p0, p_alt, d_f))
  out = []
  for c in cands:
    after = sd(c.pop("design"))
    out.append({**c, "sd_now": now, "sd_after": after, "decides": bool(delta >= 1.645 * after)})
  return sorted(out, key=lambda r: r["sd_after"])[:top]


def _extensions(fits, design, workdir, near: float, p_alt: float) -> list:
  """Candidates as changes to the study's config (study/extend.py), each with the design the extended study fits."""
  from transfer_scaling.study import extend
  sizes = {v: k for k, v in fits["sizes"].items()}
  hi = fits["decision"]["ranges"]["D_F"][1]
  key = lambda row: (float(row.pretrained), float(row.N), float(row.D), float(row.p), str(row.seed))
  have = [key(r) for r in design.itertuples()]
  study = extend.Study.read(workdir)
  planned = extend.keys(study.cfg, study.runs, fits["target"])
  out = []
  for e in extend.proposals(workdir, fits["target"], sizes.get(near, sizes[min(sizes)]), p_alt, study=study):
    # What the change drops: fine-tuned cells from a checkpoint no longer kept (bracketing rounds the extended
    # plan has not repeated yet drop nothing).
    kept = {(k[1], k[3]) for k in e.keys if k[0] == 1.0}
    keep = design[[k[0] == 0.0 or (k[1], k[3]) in kept for k in have]]
    # cells the change adds, of the kind the fit uses (fine-tuned ones in the low-data regime it found)
    add = sorted(k for k in e.keys - planned if k[0] == 0.0 or k[2] <= hi * (1 + 1e-9))
    added = pd.DataFrame(add, columns=["pretrained", "N", "D", "p", "seed"])[list(pretrain.DESIGN)]
    after = pd.concat([keep, added], ignore_index=True)
    out.append({"what": e.what, "runs": len(e.runs), "seconds": e.seconds, "command": e.command(workdir),
                "overrides": list(e.overrides), "design": after})
  return out


def _runs_at(fits, design, near: float, p0: float, p_alt: float, d_f: float) -> list:
  """Candidates as runs at the measured size nearest the user's, priced from the analysis's seconds per run."""
  dec = fits["decision"]
  seeds = sorted(design["seed"].unique())
  ft = design[design["pretrained"] == 1]
  gap_p = sorted(set(ft["p"]) - {p0})
  gap_d = sorted(set(ft[ft["p"] != p0]["D"])) or sorted(set(ft["D"]))
  cost = dec.get("cost") or {}
  key = f"{near:g}"
  rows = lambda pre, Ds, ps: pd.DataFrame([(near, D, p, pre, s) for D in Ds for p in ps for s in seeds],
                                          columns=list(pretrain.DESIGN))
  cands = [("one more seed on every cell", design.assign(seed="next"), None)]
  if gap_p and not (ft[ft["N"] == near]["p"].nunique() > 1):
    cands.append((f"fine-tune at {near:,.0f} from {', '.join(f'{p:,.0f}' for p in gap_p)} pre-training steps "
                  f"(D_F {', '.join(_amount(d) for d in gap_d)})", rows(1.0, gap_d, gap_p), None))
  if p_alt > p0:
    cands.append((f"pre-train {near:,.0f} on to {p_alt:,.0f} steps and fine-tune from there (D_F "
                  f"{', '.join(_amount(d) for d in gap_d)})", rows(1.0, gap_d, [p_alt]), p_alt - p0))
  cands.append((f"fine-tuned and from-scratch runs at {near:,.0f} with D_F = {_amount(2 * d_f)}",
                pd.concat([rows(1.0, [2 * d_f], [p0]), rows(0.0, [2 * d_f], [1.0])]), None))
  out = []
  for what, extra, steps in cands:
    each = [(cost.get("finetune" if a else "scratch") or {}).get(f"{n:g}") for a, n in
            zip(extra["pretrained"], extra["N"])]
    secs = None
    if cost and None not in each:
      secs = float(sum(each)) + (steps or 0) * ((cost.get("pretrain_step") or {}).get(key) or 0.0)
    out.append({"what": what, "runs": len(extra), "seconds": secs, "command": None, "overrides": [],
                "design": pd.concat([design, extra], ignore_index=True)})
  return out


def _verdict(data2, alt, what: str) -> tuple:
  """(better, probability, favours, text): the share of replicates in which doubling the data gives the lower loss."""
  if data2[1] is None or alt[1] is None:
    return UNDECIDED, math.nan, UNDECIDED, f"{what}; no bootstrap replicates, so no probability"
  share = float(np.mean(data2[1][:, 0] < alt[1][:, 0]))
  favours, prob = (DATA, share) if share >= 0.5 else (PRETRAIN, 1 - share)
  if prob >= THRESHOLD:
    return favours, prob, favours, what
  return UNDECIDED, prob, favours, (f"{100 * prob:.0f}% of bootstrap replicates favour {favours}, below the "
                                    f"{100 * THRESHOLD:.0f}% threshold; {what}")


def _flags(fits, dec, N, d_f, p0, p1, cost_ratio, be_point) -> tuple:
  """(warnings, extrapolated axes): every value the comparison evaluates against the measured ranges."""
  r = dec["ranges"]
  units = fits.get("units", "bytes")
  checks = [("N", N, r["N"], f"N = {N:,.0f}", "measured sizes"),
            ("D_F", d_f, r["D_F"], f"D_F = {_amount(d_f)}", f"fitted D_F ({units})"),
            ("2 D_F", 2 * d_f, r["D_F"], f"2 D_F = {_amount(2 * d_f)}", f"fitted D_F ({units})"),
            ("p", p0, r["p"], f"p = {p0:,.0f} steps", "measured pre-training amounts"),
            ("p + extra", p1, r["p"], f"the pre-training option's p = {p1:,.0f} steps",
             "measured pre-training amounts")]
  if cost_ratio is not None:
    checks.append(("p at the same budget", p0 + cost_ratio * d_f, r["p"],
                   f"the same budget's p = {p0 + cost_ratio * d_f:,.0f} steps", "measured pre-training amounts"))
  warnings, flags = [], []
  for axis, v, (lo, hi), what, where in checks:
    if not lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
      flags.append(axis)
      warnings.append(f"{what} lies outside the {where} ({_amount(lo)}-{_amount(hi)}): an extrapolation"
                      + (f"; {fits['heldout']}" if axis == "N" and fits.get("heldout") else ""))
  varied = [float(n) for n, ps in dec.get("p_by_size", {}).items() if len(ps) > 1]
  if varied and not any(math.isclose(N, n, rel_tol=1e-6) for n in varied):
    warnings.append(f"pre-training was varied at N = {', '.join(f'{n:,.0f}' for n in varied)} only: at N = {N:,.0f} "
                    "the value of more pre-training rests on the law's gamma not depending on N")
  if dec.get("pretrain_seeds", 1) < 2:
    warnings.append("each pre-training amount is one checkpoint of one pre-training run: its own luck is part of "
                    "the measured effect of p, which the intervals do not hold")
  elif "pretrain" not in ((dec.get("noise") or {}).get("df") or {}):  # with the component the intervals hold it
    warnings.append(f"the runs start from {dec['pretrain_seeds']} pre-training seeds, but a pre-trained model's luck "
                    "has no component of its own in these fits, so it counts as the fine-tuning seed's (rerun "
                    "transfer-scaling analyze if they predate it)")
  if dec.get("form_note"):  # the model is not of the scratch form the study asked for
    warnings.append(dec["form_note"])
  return warnings, flags


def _gap_reading(fits: dict, d_f: float) -> str:
  """The transfer-gap law's effect of doubling p at its size: a reading of the same runs, not a second decision."""
  gap = fits.get("gap")
  if not gap:
    return ""
  g = get_law(gap["law"])
  p0 = float(gap.get("p_max") or fits.get("pretrain_steps") or 1)
  point, reps = _replicates(gap)
  at = lambda pp: (lambda prm: g.predict(prm, {"p": np.array([pp]), "f": np.array([d_f])}))
  a, b = _both(at(p0), point, reps), _both(at(2 * p0), point, reps)
  d = _iv(b[0] - a[0], b[1] - a[1] if reps is not None else None)
  loose = [f"{k} {v['status']}" for k, v in workdir_report.gap_verdicts(gap).items() if v["status"] != "determined"]
  return (f"the transfer-gap law at size {gap['size']} (N = {gap['N']:,.0f}) puts doubling pre-training at "
          f"{d.text('+.4f')}" + (f" ({', '.join(loose)})" if loose else ""))


def _joint_only(fits: dict, d_f: float, N: float, cost_ratio) -> Advice:
  """Without the (N, D_F, p) model: the joint law's multiplier and value of more data; the decision undetermined."""
  joint = fits["joint"]
  law = get_law(joint["law"])
  point, reps = _replicates(joint)
  mult = _both(lambda prm: law.functions["multiplier"](prm, N=np.array([N]), D_F=np.array([d_f])), point, reps)
  loss = lambda prm, D: law.predict(prm, {"N": np.array([N]), "D": np.array([D]), "pretrained": np.array([1.0])})
  delta = _both(lambda prm: loss(prm, 2 * d_f) - loss(prm, d_f), point, reps)
  warnings = []
  lo_N, hi_N = fits["N_range"]
  lo_f, hi_f = fits["D_F_range"]
  if not lo_N <= N <= hi_N:
    warnings.append(f"N = {N:,.0f} lies outside the measured sizes ({lo_N:,.0f}-{hi_N:,.0f}): an extrapolation"
                    + (f"; {fits['heldout']}" if fits.get("heldout") else ""))
  if not lo_f <= d_f <= hi_f:
    warnings.append(f"D_F = {_amount(d_f)} lies outside the fitted D_F ({_amount(lo_f)}-{_amount(hi_f)}): "
                    "an extrapolation")
  warnings += [v["text"] for v in fits.get("identified", {}).values() if v["status"] != "determined"]
  why = fits.get("decision_note") or ("these fits predate the (N, D_F, p) model; rerun `transfer-scaling analyze` "
                                      "to fit it")
  return Advice(fits["target"], N, d_f, cost_ratio, _iv(*mult), _iv(*delta), None, None, UNDECIDED, math.nan,
                f"the value of more pre-training is not measured: {why}", warnings, fits.get("units", "bytes"),
                fits.get("pretrain_steps"), reading=_gap_reading(fits, d_f))
