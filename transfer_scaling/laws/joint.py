"""One joint fit of all losses of a target: from scratch L(N, D), fine-tuned L(N, D_F + k D_F^alpha N^beta).

The from-scratch and fine-tuned runs are fitted together, every parameter at once
(Hernandez et al. 2021, eq. 6.1, with the scratch law in chinchilla or kaplan form), with the
project's multi-start solver, one row per run. D_E, D_T and the effective-data multiplier at
any (N, D_F) then come from the fit, with intervals from the runs: a cluster bootstrap that
resamples the seeds (one draw for every cell, since a seed's runs move together) and refits
everything (a parametric one with one seed).
Profile-likelihood intervals are a second opinion, and say whether the grid determines a
parameter at all (identify.py). The law-free check (interpolating each size's measured
from-scratch curve, transfer.py) stays beside it.

Rows: scratch runs as (N, D, loss, cell, seed), fine-tuned runs as (N, D_F, loss, cell, seed);
`cell` names a run's design point (its seeds share it), `seed` the seed it shares with runs of
other cells. Fine-tuned runs outside the low-data regime
(D_F > fraction * D(N), D(N) from a fit of the scratch law alone) are offered but not used.
"""
import dataclasses
from typing import Optional

import numpy as np
import pandas as pd

from transfer_scaling.errors import UsageError
from transfer_scaling.laws import identify
from transfer_scaling.laws.fitting import FitResult, fit, profile, residual_scale
from transfer_scaling.laws.measurements import check_columns
from transfer_scaling.laws.registry import get_law
from transfer_scaling.laws.transfer import data_for_saturation, interpolate_data

TRANSFER_PARAMS = ("k", "alpha", "beta")
# Starts for the transfer part, around the scratch law fitted alone (fitted coordinates: log k).
TRANSFER_STARTS = {"k": [-10.0, -5.0, 0.0, 5.0, 10.0], "alpha": [0.0, 0.25, 0.5, 1.0], "beta": [0.0, 0.25, 0.5, 1.0]}


@dataclasses.dataclass
class JointFit:
  fit: FitResult          # the transfer_<scratch> law on both arms
  scratch_fit: FitResult  # the scratch law alone: the low-data boundary and the starts
  rows: pd.DataFrame      # every fine-tuned run offered: used, or why not
  boundary: str
  profiles: dict          # name -> fitting.Profile
  identified: dict        # name -> identify.Verdict

  @property
  def law(self):
    return get_law(self.fit.law)

  def value(self, name: str, N, D_F):
    """A function of the law (D_T, D_E, multiplier) at the fitted parameters."""
    return np.asarray(self.law.functions[name](self.fit.params, np.asarray(N, np.float64),
                                               np.asarray(D_F, np.float64)), np.float64)

  def interval(self, name: str, N, D_F, level: float = 0.95):
    """(lo, hi) arrays of a function of the law over the bootstrap replicates, or None without a bootstrap."""
    b = self.fit.bootstrap
    if b is None or len(b) < 2:
      return None
    vals = self.law.functions[name]({k: b[k].to_numpy() for k in self.law.params},
                                    np.atleast_1d(np.asarray(N, np.float64)), np.atleast_1d(np.asarray(D_F, np.float64)))
    q = (1 - level) / 2
    return np.quantile(vals, q, axis=0), np.quantile(vals, 1 - q, axis=0)

  def replicates(self, name: str, N, D_F) -> Optional[np.ndarray]:
    """[B, n] values of a function of the law, one row per bootstrap replicate."""
    b = self.fit.bootstrap
    if b is None or len(b) < 2:
      return None
    return np.asarray(self.law.functions[name]({k: b[k].to_numpy() for k in self.law.params},
                                               np.atleast_1d(np.asarray(N, np.float64)),
                                               np.atleast_1d(np.asarray(D_F, np.float64))))

  def loss(self, N, D, pretrained: bool, params=None) -> np.ndarray:
    """Predicted loss of a from-scratch (pretrained False) or fine-tuned run on D bytes at size N."""
    N, D = np.broadcast_arrays(np.asarray(N, np.float64), np.asarray(D, np.float64))
    return self.law.predict(params or self.fit.params, {"N": N, "D": D, "pretrained": np.full(N.shape, float(pretrained))})


def _cells(df, prefix: str, d: str) -> np.ndarray:
  if "cell" in df:
    return (prefix + df["cell"].astype(str)).to_numpy()
  return np.array([f"{prefix}{n:g}|{x:g}" for n, x in zip(df["N"], df[d])])


def _clusters(sc, ft):
  """The seed of every row where both arms name one (it ties runs of all cells together), else None."""
  if "seed" not in sc or "seed" not in ft:
    return None
  return np.concatenate([sc["seed"].astype(str).to_numpy(), ft["seed"].astype(str).to_numpy()])


def fit_joint(scratch: pd.DataFrame, finetuned: pd.DataFrame, *, scratch_law: str = "chinchilla",
              bootstrap: int = 1000, seed: int = 0, max_D_F: Optional[float] = None, fraction: float = 0.1,
              level: float = 0.99, profiles=TRANSFER_PARAMS, resample: str = "auto", grid_note: dict = None,
              units: str = "bytes") -> JointFit:
  """The joint fit of one target's runs; see the module docstring.

  scratch: columns N, D, loss (and optionally cell and seed); finetuned: N, D_F, loss (and cell, seed).
  With a seed column in both, the bootstrap draws seeds once per replicate for every cell (fitting's
  'seeds' resampling), since a seed fixes the D_F subset of runs of every size and of both arms.
  max_D_F: the low-data boundary in the units of D (default: fraction * D(N), D(N) the data
  a from-scratch model needs for `level` of its infinite-data performance); units: what D counts, for its text.
  """
  if scratch_law not in ("chinchilla", "kaplan"):
    raise UsageError(f"scratch_law={scratch_law!r}; the joint fit takes chinchilla or kaplan")
  sc = scratch.reset_index(drop=True)
  ft = finetuned.reset_index(drop=True)
  check_columns(sc, ("N", "D", "loss"), "from-scratch runs", min_rows=4)
  check_columns(ft, ("N", "D_F", "loss"), "fine-tuned runs")
  law = get_law(f"transfer_{scratch_law}")
  scratch_fit = fit(scratch_law, sc[["N", "D", "loss"]], bootstrap=0)
  if not scratch_fit.converged:
    raise UsageError(f"the {scratch_law} law fitted to the from-scratch runs alone did not converge; "
                     "check the from-scratch runs (failed or cut-off runs are left out) or use the kaplan form")
  if max_D_F is not None:
    limit = np.full(len(ft), float(max_D_F))
    boundary = f"low-data regime: D_F <= {max_D_F:.4g} {units} (given)"
  else:
    limit = fraction * data_for_saturation(scratch_fit, ft["N"].to_numpy(np.float64), level)
    boundary = (f"low-data regime: D_F <= {fraction:g} * D(N), D(N) the data a from-scratch model needs for {level:g} "
                f"of its infinite-data performance under the {scratch_law} law fitted to the from-scratch runs")
  rows = ft.copy()
  rows["D_F_max"] = limit
  rows["used"] = rows["D_F"].to_numpy(np.float64) <= limit
  rows["excluded_because"] = np.where(rows["used"], "", "outside the low-data regime")
  used = rows[rows["used"]]
  if used["D_F"].nunique() < 2 or len(used) < 4:
    raise UsageError(f"only {len(used)} fine-tuned runs at {used['D_F'].nunique()} D_F lie in the low-data regime "
                     f"({boundary}); the transfer law needs runs at 2 or more D_F there: add smaller D_F or set max_D_F")
  data = pd.concat([pd.DataFrame({"N": sc["N"], "D": sc["D"], "pretrained": 0.0, "loss": sc["loss"]}),
                    pd.DataFrame({"N": used["N"], "D": used["D_F"], "pretrained": 1.0, "loss": used["loss"]})],
                   ignore_index=True)
  cells = np.concatenate([_cells(sc, "s|", "D"), _cells(used, "f|", "D_F")])
  starts = _starts(law, scratch_fit)
  f = fit(law, data, bootstrap=bootstrap, seed=seed, grid=starts, keep=len(starts), resample=resample, cells=cells,
          clusters=_clusters(sc, used), delta="auto", refit_iter=500)
  if not f.converged:
    raise UsageError("the joint fit did not converge from any start; the transfer law may not describe these runs "
                     "(see the law-free effective data in the report)")
  prof = profile(f, list(profiles)) if profiles else {}
  design = {"sizes": int(used["N"].nunique()), "d_f": int(used["D_F"].nunique()),
            "d_f_decades": float(np.log10(used["D_F"].max() / used["D_F"].min())),
            "n_decades": float(np.log10(used["N"].max() / used["N"].min())) if used["N"].nunique() > 1 else 0.0,
            **(grid_note or {})}
  verdicts = {name: identify.transfer_parameter(name, f, prof.get(name), design) for name in TRANSFER_PARAMS}
  return JointFit(fit=f, scratch_fit=scratch_fit, rows=rows, boundary=boundary, profiles=prof, identified=verdicts)


def _starts(law, scratch_fit: FitResult) -> np.ndarray:
  """Starts: the scratch law's own optimum for its parameters, a grid for k, alpha, beta."""
  scratch_names = law.functions["scratch_params"]({p: p for p in law.params})  # scratch name -> joint name
  theta_s = dict(zip(get_law(scratch_fit.law).params, scratch_fit.theta))
  base = {joint: theta_s[orig] for orig, joint in scratch_names.items()}
  grid = np.array(np.meshgrid(*[TRANSFER_STARTS[p] for p in TRANSFER_PARAMS], indexing="ij")).reshape(3, -1).T
  return np.array([[base[p] if p in base else row[TRANSFER_PARAMS.index(p)] for p in law.params] for row in grid])


@dataclasses.dataclass
class HeldOut:
  """The largest size predicted by a joint fit to the others: may the law be extrapolated in N?"""
  size_N: float
  table: pd.DataFrame     # per D_F: measured and predicted mean loss (with interval), measured and predicted D_T
  rmse_log_loss: float
  inside: int             # measured mean losses inside their 95% prediction interval
  verdict: str


def heldout_size_check(scratch: pd.DataFrame, finetuned: pd.DataFrame, *, bootstrap: int = 200, seed: int = 0,
                       **kw) -> HeldOut:
  """Refit without the largest N (both arms) and predict its fine-tuned losses and its D_T.

  The prediction interval of a measured mean (over S seeds) adds the fit's residual noise,
  sigma / sqrt(S), to the spread of the bootstrap replicates' predictions.
  """
  sizes = sorted(set(finetuned["N"]) & set(scratch["N"]))
  if len(sizes) < 3:
    raise UsageError(f"the held-out-size check needs 3 or more sizes (2 to fit, 1 to predict); this study has {len(sizes)}")
  big = sizes[-1]
  jf = fit_joint(scratch[scratch["N"] != big], finetuned[finetuned["N"] != big], bootstrap=bootstrap, seed=seed,
                 profiles=(), **kw)
  ft = finetuned[finetuned["N"] == big]
  sc = scratch[scratch["N"] == big]
  mean = ft.groupby("D_F")["loss"].agg(["mean", "count"]).reset_index()
  D_F = mean["D_F"].to_numpy(np.float64)
  pred = jf.loss(np.full(len(D_F), big), D_F, True)
  sigma = residual_scale(jf.fit.residuals, len(jf.law.params))
  rng = np.random.default_rng(seed)
  b = jf.fit.bootstrap
  reps = jf.law.predict({k: b[k].to_numpy() for k in jf.law.params},
                        {"N": np.full(len(D_F), big), "D": D_F, "pretrained": np.ones(len(D_F))})
  noisy = np.log(reps) + rng.standard_normal(reps.shape) * sigma / np.sqrt(mean["count"].to_numpy())[None, :]
  noisy = noisy[np.isfinite(noisy).all(1)]  # a replicate whose prediction overflows says nothing about the loss
  lo, hi = np.exp(np.quantile(noisy, 0.025, axis=0)), np.exp(np.quantile(noisy, 0.975, axis=0))
  sc_mean = sc.groupby("D")["loss"].mean()
  d_e, flags = interpolate_data(sc_mean.index.to_numpy(np.float64), sc_mean.to_numpy(np.float64), mean["mean"].to_numpy())
  dt_int = jf.interval("D_T", np.full(len(D_F), big), D_F)
  table = pd.DataFrame({"D_F": D_F, "seeds": mean["count"], "loss": mean["mean"], "predicted": pred, "lo": lo,
                        "hi": hi, "D_T": d_e - D_F, "D_T_flag": flags,
                        "D_T_predicted": jf.value("D_T", np.full(len(D_F), big), D_F),
                        "D_T_lo": dt_int[0] if dt_int else np.nan, "D_T_hi": dt_int[1] if dt_int else np.nan})
  inside = int(((table["loss"] >= table["lo"]) & (table["loss"] <= table["hi"])).sum())
  rmse = float(np.sqrt(np.mean((np.log(table["predicted"]) - np.log(table["loss"])) ** 2)))
  ok = inside >= max(1, int(np.ceil(0.8 * len(table))))
  verdict = (f"{inside} of {len(table)} measured losses at N = {big:,.0f} fall inside the intervals predicted "
             f"without that size (RMSE of log loss {rmse:.3g}): "
             + ("the law extrapolates to this size" if ok else "do not extrapolate the law in N beyond the measured sizes"))
  return HeldOut(size_N=float(big), table=table, rmse_log_loss=rmse, inside=inside, verdict=verdict)
