"""A study's records -> a typed result: what each target's runs say, with honest uncertainty.

Pure: no files are read or written here (commands/analyze.py does that); the markdown and
the figures are drawn from the result by markdown.py and figures.py. Per target:

  selection   the learning rate (and warm-up) of each cell, chosen on validation (study/selection.py)
  left out    failed runs (with reasons) and runs cut off at their ceiling (upper bounds, not losses)
  no gain     fine-tuned cells where most seeds were best at step 0 (fine-tuning did not help): their loss
              is the pre-trained model's, a bound, so they are listed and kept out of every D_F-dependence
  brackets    per size, the measured from-scratch D range and every D_E still outside it
  law-free    D_E by interpolating each size's measured from-scratch curve; the fine-tuning gain
  joint fit   scratch and fine-tuned losses fitted together; k, alpha, beta, the multiplier at the
              reference point, with bootstrap and profile intervals and identifiability verdicts
  held out    the largest size predicted from the others
  gap law     the study's gap law L(p, f) (config.analysis.gap_law) on the (p, f) grid of the gap size
  decision    the fine-tuned loss in (N, D_F, p) fitted to every fine-tuned run (laws/pretrain.py): advise's model

The laws are the config's (analysis.scratch_law, transfer_law, gap_law); what is profiled and judged
of each is what its registry entry's hints say (laws/registry.py), so no law is named here.
"""
import dataclasses
import warnings
from typing import Optional

import numpy as np
import pandas as pd

from transfer_scaling import laws
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import fitting, identify, joint, pretrain
from transfer_scaling.laws.fitting import few_cluster_factor, seed_resample
from transfer_scaling.study import arms, bracket, results, selection
from transfer_scaling.study.config import StudyConfig


@dataclasses.dataclass
class Quantity:
  value: float
  lo: float = np.nan
  hi: float = np.nan

  def text(self, fmt: str = ".3g") -> str:
    if np.isfinite(self.lo) and np.isfinite(self.hi):
      return f"{self.value:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}]"
    return f"{self.value:{fmt}}"


@dataclasses.dataclass
class GapResult:
  size: str
  N: float
  points: pd.DataFrame            # one row per run: p, f, loss, seed
  fit: Optional[object] = None    # FitResult of the gap law
  profiles: dict = dataclasses.field(default_factory=dict)
  identified: dict = dataclasses.field(default_factory=dict)
  grid: Optional[dict] = None     # isoloss contours
  allocation: Optional[pd.DataFrame] = None
  p_max: float = np.nan


@dataclasses.dataclass
class TargetResult:
  target: str
  runs: pd.DataFrame              # chosen runs (every seed), failed and cut-off ones excluded
  choices: pd.DataFrame           # per cell: the chosen lr / warm-up, grid edges
  cut_off: pd.DataFrame
  scratch: pd.DataFrame           # cell means: N, size, D_F, loss, seeds, flops (as in the figures)
  finetuned: pd.DataFrame
  zeroshot: pd.DataFrame
  brackets: dict                  # size -> {"D": (lo, hi), "outside": {D_F: why}}
  eff: Optional[pd.DataFrame] = None      # law-free effective data per fine-tuned cell
  gain: Optional[dict] = None
  joint: Optional[object] = None          # laws.joint.JointFit
  example: Optional[dict] = None          # the multiplier at the reference point
  comparison: Optional[pd.DataFrame] = None  # joint-fit D_T against the law-free D_T per cell
  heldout: Optional[object] = None        # laws.joint.HeldOut
  gap: Optional[GapResult] = None
  notes: list = dataclasses.field(default_factory=list)
  no_gain: Optional[pd.DataFrame] = None  # cells where fine-tuning did not help: size, D_F, p, seeds, no_gain
  # What the sweep decided, as its plan.json says (None for runs read from a file, or a plan written before):
  lr_grids: Optional[list] = None   # per tuned cell: stage, size, D_F, p, its final grid and the limit that stopped it
  bracketing: Optional[dict] = None  # size -> rounds, the D added, D_F still outside on validation
  decision: Optional[object] = None       # laws.pretrain.PretrainFit: advise's (N, D_F, p) model
  decision_note: str = ""                 # why there is none


@dataclasses.dataclass(frozen=True)
class Setting:
  """What the analysis reads besides the runs: from a study's config (`of_config`) or a runs file (report/runs_file.py).

  sizes: size name -> N; last_p: the pre-training steps of the checkpoint whose fine-tuned runs enter the
  joint fit (None: every fine-tuned run, when the runs do not say p); gap_size: the size whose (p, f) grid
  the transfer-gap law is fitted on; units: what D counts (bytes, tokens or characters), in every label.
  """
  study: str
  source: str
  targets: tuple
  sizes: dict
  analysis: object                # study.config.Analysis (example_size names a key of sizes)
  last_p: Optional[int] = None
  gap_size: Optional[str] = None
  max_gap: float = 0.5            # decades (study.config.Bracket)
  units: str = "bytes"
  origin: str = ""                # where the runs came from, for the report's set-up paragraph

  @staticmethod
  def of_config(cfg: StudyConfig, sizes: dict) -> "Setting":
    """sizes: name -> N of the config's sizes and its example size (the sweep's plan.json holds them)."""
    return Setting(study=cfg.study, source=cfg.source, targets=tuple(cfg.targets),
                   sizes={s: sizes[s] for s in dict.fromkeys(cfg.sizes + (cfg.analysis.example_size,))},
                   analysis=cfg.analysis, last_p=cfg.pretrain.steps,
                   gap_size=cfg.gap.sizes[0] if cfg.gap.sizes else None, max_gap=cfg.bracket.max_gap)

  @property
  def unit(self) -> str:
    """The singular of units: 'byte' in 'nats/byte'."""
    return self.units[:-1]


@dataclasses.dataclass
class StudyResult:
  config: Optional[StudyConfig]   # None for runs read from a file
  table: pd.DataFrame             # every run of the plan with a record
  failed: pd.DataFrame
  not_in_plan: int                # records of runs this config does not define
  targets: dict                   # target -> TargetResult
  throughput: list                # one dict per ensemble
  settled: bool
  setting: Optional[Setting] = None
  planned: Optional[int] = None   # runs the plan held when analysed (None: runs read from a file)


def _cell_means(runs: pd.DataFrame, keys) -> pd.DataFrame:
  return runs.groupby(list(keys), as_index=False, dropna=False).agg(
      loss=("loss", "mean"), valid_loss=("valid_loss", "mean"), flops=("flops", "mean"), tokens=("tokens", "mean"),
      seeds=("seed", "count"), loss_sd=("loss", "std"))


def fine_tuning_gain(scratch_runs: pd.DataFrame, ft_runs: pd.DataFrame, n_boot: int = 2000, seed: int = 0):
  """Mean over (N, D_F) of scratch loss - fine-tuned loss (nats/byte), with a 95% cluster-bootstrap interval.

  Law-free: it needs no law to hold. A replicate draws the seeds once for every cell of both arms
  (fitting.seed_resample), since a seed fixes the D_F subset that both arms and every size train
  on: their deviations move together, and the difference is measured on pairs. The interval is
  widened for the few seeds that carry it (fitting.few_cluster_factor).
  """
  keys = ["N", "D_F"]
  pairs = sorted(set(map(tuple, scratch_runs[keys].to_numpy())) & set(map(tuple, ft_runs[keys].to_numpy())))
  if len(pairs) < 2:
    return None
  rows = pd.concat([scratch_runs.assign(arm=0.0), ft_runs.assign(arm=1.0)])
  rows = rows[[k in set(pairs) for k in map(tuple, rows[keys].to_numpy())]]
  cells = np.array([f"{a:g}|{n:g}|{d:g}" for a, n, d in zip(rows["arm"], rows["N"], rows["D_F"])])
  y = rows["loss"].to_numpy(float)
  sim_BxR = seed_resample(y, cells, rows["seed"].astype(int).to_numpy(), n_boot, np.random.default_rng(seed))

  def gain(y_R):  # mean over pairs of the cells' scratch mean minus fine-tuned mean; y_R: [..., R]
    m = pd.DataFrame(np.atleast_2d(y_R).T).groupby(cells).mean().T  # [B, cells]
    return sum(m[f"0|{n:g}|{d:g}"] - m[f"1|{n:g}|{d:g}"] for n, d in pairs).to_numpy() / len(pairs)

  mean = float(gain(y)[0])
  S = int(rows["seed"].nunique())
  lo, hi = mean + few_cluster_factor(S) * (np.percentile(gain(sim_BxR), [2.5, 97.5]) - mean)
  return dict(mean=mean, lo=float(lo), hi=float(hi), n=len(pairs), seeds=S)


def no_gain(ft: pd.DataFrame) -> pd.Series:
  """Per chosen fine-tuned run: whether its cell (size, D_F, p) is one where fine-tuning did not help.

  A cell is when more than half its seeds were best at step 0: its mean is then mostly the
  pre-trained model's loss, which says nothing about how the loss falls with D_F. A seed or two
  best at step 0 in a cell that otherwise improved stays in it (dropping them would flatter the cell).
  """
  flag = ft["no_gain"].astype(bool) if "no_gain" in ft else pd.Series(False, index=ft.index)
  key = [f"{s}|{d}|{p}" for s, d, p in zip(ft["size"], ft["D_F"], ft["p"])]
  share = flag.groupby(key).transform("mean") if len(ft) else flag
  return share > 0.5


def cut_off(df: pd.DataFrame) -> pd.DataFrame:
  """Trained runs stopped at their ceiling while still improving: their loss is an upper bound."""
  return df[df["status"] == "cut_off"]


def analyze(cfg: StudyConfig, records: dict, plan: dict, throughput=()) -> StudyResult:
  """The analysis of a study: cfg (typed), records (id -> record), the plan its sweep wrote (workdir.read_plan)."""
  wanted = set(plan["runs"])
  table = results.frame(rec for rid, rec in records.items() if rid in wanted)
  if table.empty:
    if records:  # records there are, but of runs this config does not define
      raise UsageError(f"none of the {len(records)} run records belongs to a run of this study's config (they come "
                       "from another config or an earlier version of it); run `transfer-scaling sweep` with this "
                       "config to train its runs")
    raise UsageError("no run records of this study yet; run `transfer-scaling sweep` first")
  out = analyze_table(Setting.of_config(cfg, plan["sizes"]), table, config=cfg,
                      not_in_plan=sum(rid not in wanted for rid in records), throughput=throughput,
                      settled=plan["settled"])
  out.planned = len(wanted)
  for target, t in out.targets.items():
    if plan.get("lrs") is not None:
      t.lr_grids = [r for r in plan["lrs"] if r["target"] == target]
    if plan.get("brackets") is not None:
      t.bracketing = {r["size"]: r for r in plan["brackets"] if r["target"] == target}
  return out


def analyze_table(setting: Setting, table: pd.DataFrame, config=None, not_in_plan=0, throughput=(),
                  settled=True) -> StudyResult:
  """The analysis of a results table (study.results.frame's columns), a study's or a runs file's."""
  failed = table[table["status"].str.startswith("failed")]
  out = StudyResult(config=config, table=table, failed=failed, not_in_plan=not_in_plan, targets={},
                    throughput=list(throughput), settled=settled, setting=setting)
  for target in setting.targets:
    rows = table[(table["target"] == target) | (table["stage"] == arms.PRETRAIN.name)]
    out.targets[target] = _target(setting, rows, target)
  return out


def _target(cfg: Setting, df: pd.DataFrame, target: str) -> TargetResult:
  chosen, choices = selection.choose(df)
  cut = cut_off(chosen)
  usable = chosen[(chosen["status"] == "done") & chosen["loss"].notna()]
  sc_runs = usable[usable["stage"] == arms.REFERENCE.name]
  ft_every = usable[usable["stage"] == arms.TRANSFERRED.name]
  helped = ~no_gain(ft_every)
  ft_all = ft_every[helped]
  last = cfg.last_p if cfg.last_p is not None else ft_every["p"].max()
  at_last = lambda runs: runs[runs["p"] == last] if pd.notna(last) else runs
  ft_runs = at_last(ft_all)
  zs = usable[usable["stage"] == arms.ZEROSHOT.name]
  res = TargetResult(target=target, runs=usable, choices=choices, cut_off=cut,
                     scratch=_cell_means(sc_runs, ["N", "size", "D_F"]),
                     finetuned=_cell_means(ft_runs, ["N", "size", "D_F"]),
                     zeroshot=_cell_means(zs[zs["p"] == last], ["N", "size"]), brackets={})
  bound = ft_every[~helped]
  res.no_gain = _cell_means(bound, ["N", "size", "D_F", "p"]).assign(
      no_gain=bound.groupby(["N", "size", "D_F", "p"], dropna=False)["no_gain"].sum().astype(int).to_numpy())
  if res.scratch.empty or res.finetuned.empty:
    res.notes.append(f"no fine-tuned cell on {target} where fine-tuning helped (see the cells listed as such)"
                     if len(res.no_gain) and not res.scratch.empty else
                     f"no finished from-scratch and fine-tuned runs on {target} yet")
    return res
  for size, g in res.scratch.groupby("size"):
    f = res.finetuned[res.finetuned["size"] == size]
    res.brackets[size] = {"D": (int(g["D_F"].min()), int(g["D_F"].max())), "points": len(g),
                          "outside": bracket.outside(dict(zip(g["D_F"].astype(int), g["loss"])),
                                                     dict(zip(f["D_F"].astype(int), f["loss"])), cfg.max_gap,
                                                     cfg.units)}
  _law_free(cfg, res, sc_runs, at_last(ft_every))  # the gain counts every cell: not fine-tuning is an outcome
  _joint(cfg, res, sc_runs, ft_runs)
  _gap(cfg, res, ft_all, zs)
  _decision(cfg, res, sc_runs, ft_all, df)
  return res


def _law_free(cfg, res: TargetResult, sc_runs, ft_every) -> None:
  sc = res.scratch.rename(columns={"D_F": "D"})[["N", "D", "loss"]].astype(float)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    eff = laws.effective_data(sc, res.finetuned, scratch_law=None)
  eff["D_T"] = eff["D_T"].astype(float)
  res.eff = eff
  res.gain = fine_tuning_gain(sc_runs, ft_every)


def _runs_for_fit(runs: pd.DataFrame, d: str) -> pd.DataFrame:
  out = pd.DataFrame({"N": runs["N"].astype(float), d: runs["D_F"].astype(float), "loss": runs["loss"].astype(float)})
  out["cell"] = [f"{n:g}|{x:g}" for n, x in zip(out["N"], out[d])]
  out["seed"] = runs["seed"].astype(int).to_numpy()
  if "pretrain_seed" in runs and runs["pretrain_seed"].notna().any():  # the noise model's pre-trained-model part
    out["pretrain_seed"] = runs["pretrain_seed"].to_numpy()
  return out


def _joint(cfg: Setting, res: TargetResult, sc_runs, ft_runs) -> None:
  a = cfg.analysis
  kw = dict(scratch_law=a.scratch_law, transfer_law=a.transfer_law, max_D_F=a.low_data_max_d_f or None,
            units=cfg.units)
  sc, ft = _runs_for_fit(sc_runs, "D"), _runs_for_fit(ft_runs, "D_F")
  try:
    res.joint = joint.fit_joint(sc, ft, bootstrap=a.bootstrap, seed=0, **kw)
  except UsageError as e:
    res.notes.append(f"joint fit not made: {e}")
    return
  jf = res.joint
  n_ex = cfg.sizes[a.example_size]
  q = Quantity(float(jf.value("multiplier", n_ex, a.example_d_f)))
  ci = jf.interval("multiplier", n_ex, a.example_d_f)
  if ci is not None:
    q.lo, q.hi = float(ci[0][0]), float(ci[1][0])
  measured_N = sorted(set(ft["N"]))
  res.example = {"size": a.example_size, "N": n_ex, "D_F": a.example_d_f, "multiplier": q,
                 "inside": (measured_N[0] <= n_ex <= measured_N[-1]
                            and ft["D_F"].min() <= a.example_d_f <= ft["D_F"].max())}
  eff = res.eff.copy()
  eff["D_T_joint"] = jf.value("D_T", eff["N"], eff["D_F"])
  ci = jf.interval("D_T", eff["N"].to_numpy(float), eff["D_F"].to_numpy(float))
  eff["D_T_joint_lo"], eff["D_T_joint_hi"] = (ci if ci is not None else (np.nan, np.nan))
  eff["used_in_fit"] = [bool(jf.rows[(jf.rows["N"] == n) & (jf.rows["D_F"] == d)]["used"].any())
                        for n, d in zip(eff["N"], eff["D_F"])]
  res.comparison = eff
  try:
    res.heldout = joint.heldout_size_check(sc, ft, bootstrap=min(a.bootstrap, 200), seed=0, **kw)
  except UsageError as e:
    res.notes.append(f"held-out-size check not made: {e}")


def _decision(cfg: Setting, res: TargetResult, sc_runs, ft_all, records) -> None:
  """advise's model: every fine-tuned run that fine-tuning helped, at every p and size, with the scratch runs;
  and what a run cost (records: every record of the target, each learning rate tried included)."""
  if "p" not in ft_all or ft_all["p"].isna().any() or ft_all["p"].nunique() < 2:
    res.decision_note = "the runs start from one pre-training amount (or do not say which)"
    return
  a = cfg.analysis
  sc = pd.DataFrame({"N": sc_runs["N"].astype(float), "D": sc_runs["D_F"].astype(float),
                     "loss": sc_runs["loss"].astype(float), "seed": sc_runs["seed"].astype(int)})
  ft = pd.DataFrame({"N": ft_all["N"].astype(float), "D_F": ft_all["D_F"].astype(float), "p": ft_all["p"].astype(float),
                     "loss": ft_all["loss"].astype(float), "seed": ft_all["seed"].astype(int)})
  if "pretrain_seed" in ft_all:
    ft["pretrain_seed"] = ft_all["pretrain_seed"].to_numpy()
  try:
    res.decision = pretrain.fit_pretrain(sc, ft, scratch_law=a.scratch_law, bootstrap=a.bootstrap, seed=0,
                                         max_D_F=a.low_data_max_d_f or None)
  except UsageError as e:
    res.decision_note = str(e)
    return
  res.decision.cost = run_cost(records, sc_runs, ft_all)


def run_cost(records: pd.DataFrame, sc_runs, ft_all) -> dict:
  """Measured wall seconds per kept run of each arm and size (the learning rates tried for it included), and per
  pre-training step; {} where the records carry no times (runs trained elsewhere)."""
  if "wall_s" not in records or records["wall_s"].isna().all():
    return {}
  # A record's wall_s is its ensemble's: each member is charged its share.
  members = records.groupby("ensemble")["id"].transform("size") if "ensemble" in records else 1
  own = records["ensemble"].fillna("").eq("") if "ensemble" in records else True
  records = records.assign(wall_s=records["wall_s"] / np.where(own, 1, members))
  out = {}
  for arm, kept in ((arms.REFERENCE.name, sc_runs), (arms.TRANSFERRED.name, ft_all)):
    spent = records[records["stage"] == arm].groupby("N")["wall_s"].sum()
    out[arm] = {f"{n:g}": float(spent[n] / c) for n, c in kept.groupby("N").size().items() if n in spent}
  pre = records[(records["stage"] == arms.PRETRAIN.name) & (records["steps"] > 0)]
  out["pretrain_step"] = {f"{n:g}": float(g["wall_s"].sum() / g["steps"].sum()) for n, g in pre.groupby("N")}
  return out


def _gap(cfg: Setting, res: TargetResult, ft_all, zs) -> None:
  if not cfg.gap_size:
    return
  size = cfg.gap_size
  pts = ft_all[ft_all["size"] == size]
  points = pd.DataFrame({"p": pts["p"].astype(float), "f": pts["D_F"].astype(float), "loss": pts["loss"].astype(float),
                         "seed": pts["seed"]})
  gap = GapResult(size=size, N=float(cfg.sizes[size]), points=points,
                  p_max=float(points["p"].max()) if len(points) else np.nan)
  res.gap = gap
  if points["p"].nunique() < 2 or points["f"].nunique() < 2 or len(points.drop_duplicates(["p", "f"])) < 6:
    res.notes.append(f"transfer-gap law not fitted: {len(points)} runs at {points['p'].nunique()} p and "
                     f"{points['f'].nunique()} f for size {size} (needs 6 or more (p, f) points over 2 or more of "
                     "each)")
    return
  cells = [f"{p:g}|{f:g}" for p, f in zip(points["p"], points["f"])]
  law = laws.get_law(cfg.analysis.gap_law)
  try:
    fit = laws.fit(law, points[["p", "f", "loss"]], bootstrap=cfg.analysis.bootstrap, seed=0, max_iter=2000,
                   cells=cells, clusters=points["seed"].to_numpy(), delta="auto")
  except UsageError as e:
    res.notes.append(f"transfer-gap law not fitted: {e}")
    return
  if not fit.converged:
    res.notes.append("transfer-gap law: the fit did not converge; figure 8 shows the measured points only")
    return
  gap.fit = fit
  names = identify.profiled(law)
  gap.profiles = fitting.profile(fit, names)
  gap.identified = {k: identify.parameter(law, k, fit, gap.profiles.get(k), {"p_max": gap.p_max}) for k in names}
  p_range = (points["p"].min() / 2, points["p"].max() * 4)
  f_range = (points["f"].min() / 2, points["f"].max() * 4)
  try:
    g = laws.isoloss_grid(fit, p_range, f_range, n=80, law=law.name)
  except UsageError as e:  # e.g. a fitted alpha <= 0: more pre-training did not help on this grid
    res.notes.append(f"transfer-gap law fitted, but no contours or allocation: {e}")
    return
  gap.grid = {k: g[k].to_numpy().reshape(80, 80) for k in ("p", "f", "loss")}
  c = cfg.analysis.cost_ratio  # budgets in pre-training steps: B = p + c f
  budgets = np.geomspace(p_range[0] + c * f_range[0], p_range[1] + c * f_range[1], 25)
  gap.allocation = pd.DataFrame([vars(laws.allocate_budget(fit, b, cost_p=1.0, cost_f=c, law=law.name))
                                 for b in budgets])
