"""One model for both of advise's options: the fine-tuned loss as a function of (N, D_F, p).

The joint law (joint.py) is fitted to the fine-tuned runs of one pre-training amount; whether to
pre-train more or collect more fine-tuning data needs the loss at another p too. The `pretrain_<scratch>`
law (definitions.py) adds p to the transferred data, D_T = k D_F^alpha N^beta p^gamma, and is fitted
here to every fine-tuned run (every kept p, every size) together with the from-scratch runs whose law
it shares. Both options are then evaluated with the same parameters at the user's N, and the interval
of any quantity is over the same bootstrap replicates.

Noise model and intervals are the joint fit's (mixed.py): GLS under the seed structure (a seed's runs
share their luck at a D_F across sizes, arms and pre-training amounts, since the seed fixes the D_F
subset), with a parametric bootstrap under the fitted covariance, widened for the few seeds the
components are estimated from. The pre-training seed: runs fine-tuned from one pre-trained model share its
luck. A model is one (size, pre-training seed, p): each kept p is a model finished on its own (its cool-down),
so models of one seed at two p are two models. Records may name the seed (`pretrain_seed`; a record without
one counts as the single seed of older records). With 2 or more pre-training seeds the models' luck is the
noise model's `pretrain` component (mixed.py), estimated from the models of each (size, p) and drawn in the
parametric bootstrap; with one pre-training seed per (size, p), as in a study that pre-trains once, that luck
cannot be told apart from the law's p-dependence, and `pretrain_seeds` says so to the reader.
"""
import dataclasses
import itertools
import warnings
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from transfer_scaling.errors import UsageError
from transfer_scaling.laws import joint, mixed, registry
from transfer_scaling.laws.fitting import FitResult, fit
from transfer_scaling.laws.measurements import check_columns
from transfer_scaling.laws.registry import get_law
from transfer_scaling.laws.transfer import data_for_saturation

PREFIX = "pretrain_"  # the (N, D_F, p) law of scratch form F is registered as pretrain_F (definitions.py)
# The form fitted where the joint fit averages the forms (registry.AVERAGE): the replicates advise reads are of
# one law, so the (N, D_F, p) model is not averaged; it takes the study config's default form (Hernandez eq. 6.1).
AVERAGE_FORM = "kaplan"

# Starts for the transfer part, around the scratch law fitted alone (fitted coordinates: log k).
STARTS = {"k": [-10.0, -5.0, 0.0, 5.0], "alpha": [0.25, 0.5, 1.0], "beta": [0.0, 0.5], "gamma": [0.0, 0.3, 1.0]}


DESIGN = ("N", "D", "p", "pretrained", "seed")  # the columns of a fitted design, for the linearised variance
# Saved beside them: per row the pre-trained model a fine-tuned run starts from (model_key; '' from scratch, and
# '' everywhere where the noise model has no pretrain component). Fits of an older analyze have no such column.
MODEL = "model"


@dataclasses.dataclass
class PretrainFit:
  fit: FitResult                    # the pretrain_<scratch> law, with its bootstrap replicates
  rows: pd.DataFrame                # every fine-tuned run offered: used, or why not
  ranges: dict                      # axis (N, D_F, p) -> [lo, hi] over the fine-tuned runs used
  p_by_size: dict                   # N -> the pre-training amounts measured at that size
  pretrain_seeds: int = 1           # distinct pre-training seeds among the runs used
  form_note: str = ""               # why the law is not of the scratch form asked for (scratch_law "average")
  noise: Optional[mixed.Components] = None
  sd_log_loss: float = np.nan       # one fine-tuned run's noise (sd of log loss), all components but lack of fit
  design: Optional[pd.DataFrame] = None  # the rows fitted: N, D, p, pretrained, seed, model
  cost: dict = dataclasses.field(default_factory=dict)  # measured seconds per run (report.analysis.run_cost)

  @property
  def law(self):
    return get_law(self.fit.law)

  def to_json(self) -> dict:
    """What advise reads (fits/<target>.json, key `decision`)."""
    b = self.fit.bootstrap
    return {"law": self.fit.law, "params": self.fit.params, "resample": self.fit.resample,
            "bootstrap": {k: b[k].tolist() for k in b.columns} if b is not None else {},
            "ranges": self.ranges, "p_by_size": {f"{n:g}": v for n, v in self.p_by_size.items()},
            "pretrain_seeds": self.pretrain_seeds, "sd_log_loss": self.sd_log_loss, "form_note": self.form_note,
            "noise": self.noise.to_dict() if self.noise is not None else None,
            "runs": int(self.rows["used"].sum()), "cost": self.cost,
            "design": ({c: self.design[c].tolist() for c in (*DESIGN, MODEL) if c in self.design}
                       if self.design is not None else None)}


def forms() -> list:
  """The scratch forms that have an (N, D_F, p) law: every registered pretrain_<form> whose form is a scratch law."""
  scratch = set(registry.law_names("scratch"))
  return sorted(n[len(PREFIX):] for n in registry.law_names() if n.startswith(PREFIX) and n[len(PREFIX):] in scratch)


def _form(scratch_law: str) -> tuple:
  """(the scratch form fitted, the note that says why it is not the one asked for, or '')."""
  if scratch_law == registry.AVERAGE:
    return AVERAGE_FORM, (f"decision model: {PREFIX}{AVERAGE_FORM} (the average of the from-scratch forms, which "
                          "the joint fit uses, is not fitted for the (N, D_F, p) model)")
  if scratch_law not in forms():
    raise UsageError(f"scratch_law={scratch_law!r} has no (N, D_F, p) law; use one of "
                     f"{', '.join(forms() + [registry.AVERAGE])} (or register a {PREFIX}<form> law)")
  return scratch_law, ""


def pretrain_seeds(runs: pd.DataFrame) -> int:
  """Distinct pre-training seeds the runs were fine-tuned from; a run that names none counts as seed 0."""
  if "pretrain_seed" not in runs:
    return 1
  return int(pd.to_numeric(pd.Series(runs["pretrain_seed"]), errors="coerce").fillna(0).nunique())


def model_key(N, p, pretrain_seed) -> str:
  """The label of one finished pre-trained model: 'size/p|pre-training seed'. mixed.py groups models by the part
  before '|': those of one (size, p) differ only by their seed, and the cell means absorb each group's mean."""
  if isinstance(pretrain_seed, (int, float, np.number)) and float(pretrain_seed).is_integer():
    pretrain_seed = int(pretrain_seed)  # seed 0 of a column that also holds a missing one (floats) is still 0
  return f"{float(N):g}/{float(p):g}|{pretrain_seed}"


def _models(sc: pd.DataFrame, used: pd.DataFrame):
  """Per fitted row its model (model_key; '' from scratch), or None where the runs name fewer than 2 pre-training
  seeds: then the models' luck cannot be told from the law's p-dependence. A missing seed is the single seed of
  older records, as in the joint fit."""
  if "pretrain_seed" not in used:
    return None
  ps = used["pretrain_seed"].astype(object).where(used["pretrain_seed"].notna(), "single")
  if ps.astype(str).nunique() < 2:
    return None
  return np.concatenate([np.full(len(sc), ""),
                         [model_key(n, p, s) for n, p, s in zip(used["N"], used["p"], ps)]]).astype(object)


def _starts(law, scratch_fit: FitResult) -> np.ndarray:
  names = law.functions["scratch_params"]({p: p for p in law.params})  # scratch name -> this law's name
  theta_s = dict(zip(get_law(scratch_fit.law).params, scratch_fit.theta))
  base = {mine: theta_s[orig] for orig, mine in names.items()}
  grid = [dict(zip(STARTS, row)) for row in itertools.product(*STARTS.values())]
  return np.array([[base[p] if p in base else row[p] for p in law.params] for row in grid])


def fit_pretrain(scratch: pd.DataFrame, finetuned: pd.DataFrame, *, scratch_law: str = "kaplan",
                 bootstrap: int = 1000, seed: int = 0, max_D_F: Optional[float] = None, fraction: float = 0.1,
                 level: float = 0.99) -> PretrainFit:
  """The (N, D_F, p) model of one target's runs; see the module docstring.

  scratch: columns N, D, loss, seed; finetuned: N, D_F, p, loss, seed (and optionally pretrain_seed).
  The low-data regime is the joint fit's: D_F <= max_D_F, or fraction * D(N) from the scratch law alone.
  scratch_law: a form with a pretrain_<form> law (forms()), or "average", which fits AVERAGE_FORM and says so.
  """
  scratch_law, note = _form(scratch_law)
  sc = scratch.reset_index(drop=True)
  check_columns(sc, ("N", "D", "loss"), "from-scratch runs", min_rows=4)
  ft = finetuned.reset_index(drop=True)
  check_columns(ft, ("N", "D_F", "p", "loss"), "fine-tuned runs")
  law = get_law(f"pretrain_{scratch_law}")
  scratch_fit = fit(scratch_law, sc[["N", "D", "loss"]], bootstrap=0)
  if not scratch_fit.converged:
    raise UsageError(f"the {scratch_law} law fitted to the from-scratch runs alone did not converge")
  limit = (np.full(len(ft), float(max_D_F)) if max_D_F is not None
           else fraction * data_for_saturation(scratch_fit, ft["N"].to_numpy(np.float64), level))
  rows = ft.copy()
  rows["used"] = rows["D_F"].to_numpy(np.float64) <= limit
  rows["excluded_because"] = np.where(rows["used"], "", "outside the low-data regime")
  used = rows[rows["used"]]
  if used["p"].nunique() < 2:
    raise UsageError(f"the fine-tuned runs in the low-data regime start from {used['p'].nunique()} pre-training "
                     "amount(s); the value of more pre-training needs runs fine-tuned from 2 or more checkpoints "
                     "(a study's gap grid gives them)")
  if used["D_F"].nunique() < 2 or len(used) < 6:
    raise UsageError(f"only {len(used)} fine-tuned runs at {used['D_F'].nunique()} D_F in the low-data regime; "
                     "the (N, D_F, p) model needs runs at 2 or more D_F")
  data = pd.concat([pd.DataFrame({"N": sc["N"], "D": sc["D"], "p": 1.0, "pretrained": 0.0, "loss": sc["loss"]}),
                    pd.DataFrame({"N": used["N"], "D": used["D_F"], "p": used["p"], "pretrained": 1.0,
                                  "loss": used["loss"]})], ignore_index=True).astype(np.float64)
  cells = np.concatenate([[f"s|{n:g}|{d:g}" for n, d in zip(sc["N"], sc["D"])],
                          [f"f|{n:g}|{d:g}|{p:g}" for n, d, p in zip(used["N"], used["D_F"], used["p"])]])
  clusters = (np.concatenate([sc["seed"].astype(str), used["seed"].astype(str)])
              if "seed" in sc and "seed" in used else None)
  starts = _starts(law, scratch_fit)
  models = _models(sc, used)
  gls = joint._use_gls("auto", cells, clusters)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # convergence is judged below
    f = fit(law, data, bootstrap=0 if gls else bootstrap, seed=seed, grid=starts, keep=len(starts),
            cells=cells, clusters=clusters, delta="auto", refit_iter=500)
  if not f.converged:
    raise UsageError("the (N, D_F, p) model did not converge from any start; the law may not describe these runs")
  noise = None
  if gls:
    try:
      f, noise = joint._gls(law, f, cells, clusters, bootstrap, seed, starts, models)
    except UsageError:
      raise UsageError("the (N, D_F, p) model's GLS step did not converge; the law may not describe these "
                       "runs") from None
  ps = pretrain_seeds(used)
  ranges = {"N": [float(used["N"].min()), float(used["N"].max())],
            "D_F": [float(used["D_F"].min()), float(used["D_F"].max())],
            "p": [float(used["p"].min()), float(used["p"].max())]}
  p_by_size = {float(n): sorted(float(p) for p in g["p"].unique()) for n, g in used.groupby("N")}
  sd = (np.sqrt(noise.seed + noise.seed_d + noise.run.get(1.0, 0.0) + noise.pretrain) if noise is not None
        else float(np.sqrt(np.mean(f.residuals ** 2))))
  design = data.assign(seed=clusters if clusters is not None else "0",
                       model=models if models is not None and gls else "")[[*DESIGN, MODEL]]
  return PretrainFit(fit=f, rows=rows, ranges=ranges, p_by_size=p_by_size, pretrain_seeds=int(ps), noise=noise,
                     sd_log_loss=float(sd), design=design, form_note=note)


@dataclasses.dataclass(frozen=True)
class Grid:
  """A study's design in (N, D, p): from-scratch runs at every (size, scratch_d), fine-tuned ones at every
  (size, d_f, p) with p from `p` (one tuple per size; below a size's largest p, at gap_d_f when given, as a
  study's gap grid), each with `seeds` seeds shared across cells. Fine-tuning seed i starts from pre-training
  seed i % pretrain_seeds, as a study assigns them (study.runs)."""
  sizes: tuple
  scratch_d: tuple
  d_f: tuple
  p: tuple
  seeds: int
  gap_d_f: tuple = ()
  pretrain_seeds: int = 1


def simulate(law: str, truth: dict, grid: Grid, noise: mixed.Components, rng) -> tuple:
  """(scratch runs, fine-tuned runs) drawn from `truth` plus the noise model the GLS fit assumes (its seed-by-D,
  seed, cell, per-arm run and pre-trained model components), for simulated studies with known answers. The
  fine-tuned runs name their pre-training seed (`pretrain_seed`)."""
  rows = [(0.0, N, D, 1.0, s) for N in grid.sizes for D in grid.scratch_d for s in range(grid.seeds)]
  rows += [(1.0, N, D, p, s) for N, ps in zip(grid.sizes, grid.p) for p in ps
           for D in (grid.d_f if p == max(ps) or not grid.gap_d_f else grid.gap_d_f) for s in range(grid.seeds)]
  df = pd.DataFrame(rows, columns=["pretrained", "N", "D", "p", "seed"])
  cells = [f"{a:g}|{n:g}|{d:g}|{p:g}" for a, n, d, p in zip(df["pretrained"], df["N"], df["D"], df["p"])]
  df["pretrain_seed"] = df["seed"] % max(int(grid.pretrain_seeds), 1)
  models = np.where(df["pretrained"] == 1, [model_key(n, p, s) for n, p, s in zip(df["N"], df["p"],
                                                                                  df["pretrain_seed"])], "")
  K = mixed.structure(cells, df["seed"].to_numpy(), df["D"].to_numpy(), df["pretrained"].to_numpy(), models)
  L = np.linalg.cholesky(mixed.covariance(noise, K) + 1e-12 * np.eye(len(df)))
  df["loss"] = get_law(law).predict(truth, df) * np.exp(L @ rng.standard_normal(len(df)))
  sc = df[df["pretrained"] == 0][["N", "D", "loss", "seed"]].reset_index(drop=True)
  ft = df[df["pretrained"] == 1].rename(columns={"D": "D_F"})[["N", "D_F", "p", "loss", "seed", "pretrain_seed"]]
  return sc, ft.reset_index(drop=True)


def cells_of(design: pd.DataFrame) -> np.ndarray:
  return np.array([f"{a:g}|{n:g}|{d:g}|{p:g}" for a, n, d, p in
                   zip(design["pretrained"], design["N"], design["D"], design["p"])])


def models_of(design: pd.DataFrame) -> np.ndarray:
  """Per row of a design its pre-trained model, for the noise model: '' everywhere without a model column (fits of
  an older analyze, or fewer than 2 pre-training seeds). A fine-tuned row added without one (a run not yet made)
  starts from its fine-tuning seed's pre-training seed's model of its (size, p), finished there if not yet; a
  fine-tuning seed the design does not hold gets the pre-training seeds in turn after the design's seeds, as a
  study assigns them (the i-th seed from pre-training seed i mod n)."""
  if MODEL not in design:
    return np.full(len(design), "", dtype=object)
  m = design[MODEL].astype(object).where(design[MODEL].notna(), None).to_numpy()
  if all(x == "" for x in m if x is not None):
    return np.where([x is None for x in m], "", m).astype(object)  # no component: nothing to assign
  seeds = design["seed"].astype(str).to_numpy()
  label = {}  # fine-tuning seed -> the label of its pre-training seed
  for s, x in zip(seeds, m):
    if x:
      label.setdefault(s, x.split("|", 1)[1])
  pool, held = sorted(set(label.values())), len(label)
  order = lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s)
  new = sorted({s for s, x, a in zip(seeds, m, design["pretrained"]) if a and x is None and s not in label}, key=order)
  label.update({s: pool[(held + j) % len(pool)] for j, s in enumerate(new)})
  return np.asarray([x if x is not None else "" if not a else model_key(n, p, label[s])
                     for n, p, s, a, x in zip(design["N"], design["p"], seeds, design["pretrained"], m)], dtype=object)


def linear_sd(law, params: dict, design: pd.DataFrame, noise: mixed.Components, quantity) -> float:
  """The sd of quantity(params) that a GLS fit of `design` under `noise` gives, linearised: g' (J' S^-1 J)^+ g.

  What a run added to a study would do to an interval, without drawing it: the design's rows enter J and
  the covariance S (the noise model's seed structure), the gradient g of the quantity is numerical.
  """
  theta = law.to_coords(params)
  with jax.enable_x64(True):
    lx = {c: jnp.asarray(v) for c, v in law.covariate_coords(design).items()}
    J = np.asarray(jax.jacfwd(lambda t: law.log_predict({p: t[i] for i, p in enumerate(law.params)}, lx))(
        jnp.asarray(theta)))
  K = mixed.structure(cells_of(design), design["seed"].astype(str).to_numpy(), design["D"].to_numpy(np.float64),
                      design["pretrained"].to_numpy(np.float64), models_of(design))
  S = mixed.covariance(noise, K)
  V = np.linalg.pinv(J.T @ np.linalg.solve(S, J), rcond=1e-13, hermitian=True)
  eps = 1e-5
  g = np.zeros(len(theta))
  for i in range(len(theta)):
    e = np.zeros(len(theta))
    e[i] = eps
    g[i] = (quantity(law.from_coords(theta + e)) - quantity(law.from_coords(theta - e))) / (2 * eps)
  return float(np.sqrt(max(g @ V @ g, 0.0)))
