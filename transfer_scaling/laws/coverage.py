"""Do the intervals cover the truth? Simulated studies with known laws, through the whole estimator.

An interval is a claim about coverage. `coverage` draws many studies from a known joint law
(a from-scratch law and a transfer law) on a given design (sizes, from-scratch D, D_F,
seeds), with log-normal noise per run at a given scale (the spread measured between seeds
of the project's own runs) and correlated as in those runs (`Noise`), runs the joint fit with
its bootstrap and profiles on each, and counts how often the 95% intervals contain the true
k, alpha, beta and multiplier.
"""
import dataclasses
import os
import time

import numpy as np
import pandas as pd

from transfer_scaling.errors import UsageError
from transfer_scaling.laws import joint, mixed
from transfer_scaling.laws.registry import get_law


@dataclasses.dataclass(frozen=True)
class Design:
  """The runs of a simulated study: every size x D from scratch, every size x D_F fine-tuned, each with every seed."""
  sizes: tuple        # N (non-embedding parameters)
  scratch_d: tuple    # bytes
  d_f: tuple          # bytes
  seeds: int
  reference: tuple    # (N, D_F) of the multiplier
  pretrain_seeds: int = 1  # pre-trained models per size; fine-tuning seed s starts from model s mod this


@dataclasses.dataclass(frozen=True)
class Noise:
  """How the noise of a seed's runs is shared (correlations of log-loss deviations, as measured).

  A seed fixes the D_F subset (nested across D) and the batch order of runs of every size and of
  both arms. A run's noise is sd * (sqrt(same_d) w[seed, D] + sqrt(1 - same_d) e[run]), with w
  shared by every size and both arms at that D and correlated across D at `across_d`; so two runs
  of one seed at the same D correlate at same_d, at different D at same_d * across_d.
  """
  same_d: float = 0.0
  across_d: float = 0.0


def simulate(law: str, truth: dict, design: Design, sigma, rng, noise: Noise = Noise()) -> tuple:
  """(scratch runs, fine-tuned runs) with loss = law x exp(noise); sigma: a number or f(pretrained, N, D) -> sd.

  noise: a Noise (sigma scales every part of a run's noise), or a mixed.Components, whose seed-by-D,
  seed, cell and per-arm run variances are drawn as they are (sigma is then ignored): the noise model
  the GLS fit assumes, with its heteroscedastic run noise.
  """
  if isinstance(noise, mixed.Components):
    return _simulate_components(law, truth, design, noise, rng)
  entry = get_law(law)
  rows = []
  for pre, ds in ((0.0, design.scratch_d), (1.0, design.d_f)):
    for N in design.sizes:
      for D in ds:
        for seed in range(design.seeds):
          rows.append((pre, N, D, seed))
  df = pd.DataFrame(rows, columns=["pretrained", "N", "D", "seed"])
  mean = entry.predict(truth, df)
  sd = np.array([sigma(p, n, d) for p, n, d in zip(df["pretrained"], df["N"], df["D"])]) if callable(sigma) \
      else np.full(len(df), float(sigma))
  ds = np.unique(df["D"])
  u_S = rng.standard_normal(design.seeds)
  w_SxD = (np.sqrt(noise.across_d) * u_S[:, None]
           + np.sqrt(1 - noise.across_d) * rng.standard_normal((design.seeds, len(ds))))
  shared = w_SxD[df["seed"].to_numpy(), np.searchsorted(ds, df["D"])]
  z = np.sqrt(noise.same_d) * shared + np.sqrt(1 - noise.same_d) * rng.standard_normal(len(df))
  df["loss"] = mean * np.exp(sd * z)
  sc = df[df["pretrained"] == 0][["N", "D", "loss", "seed"]].reset_index(drop=True)
  ft = df[df["pretrained"] == 1].rename(columns={"D": "D_F"})[["N", "D_F", "loss", "seed"]].reset_index(drop=True)
  return sc, ft


def _rows(design: Design) -> pd.DataFrame:
  rows = [(pre, N, D, seed) for pre, ds in ((0.0, design.scratch_d), (1.0, design.d_f)) for N in design.sizes
          for D in ds for seed in range(design.seeds)]
  return pd.DataFrame(rows, columns=["pretrained", "N", "D", "seed"])


def _split(df: pd.DataFrame) -> tuple:
  sc = df[df["pretrained"] == 0][["N", "D", "loss", "seed"]].reset_index(drop=True)
  cols = ["N", "D_F", "loss", "seed"] + (["pretrain_seed"] if "pretrain_seed" in df else [])
  ft = df[df["pretrained"] == 1].rename(columns={"D": "D_F"})[cols].reset_index(drop=True)
  return sc, ft


def _simulate_components(law: str, truth: dict, design: Design, c, rng) -> tuple:
  df = _rows(design)
  mean = get_law(law).predict(truth, df)
  ds = np.unique(df["D"])
  cells = df.groupby(["pretrained", "N", "D"]).ngroup().to_numpy()
  s, d = df["seed"].to_numpy(), np.searchsorted(ds, df["D"])
  z = (np.sqrt(c.seed_d) * rng.standard_normal((design.seeds, len(ds)))[s, d]
       + np.sqrt(c.seed) * rng.standard_normal(design.seeds)[s]
       + np.sqrt(c.cell) * rng.standard_normal(cells.max() + 1)[cells]
       + np.sqrt(df["pretrained"].map(lambda a: c.run[float(a)]).to_numpy()) * rng.standard_normal(len(df)))
  if design.pretrain_seeds > 1:  # one pre-trained model per size and pre-training seed, shared by its fine-tuned runs
    df["pretrain_seed"] = np.where(df["pretrained"] == 1, df["seed"] % design.pretrain_seeds, -1)
    sizes = np.searchsorted(np.sort(design.sizes), df["N"])
    m_NxP = rng.standard_normal((len(design.sizes), design.pretrain_seeds))
    z = z + np.where(df["pretrained"] == 1, np.sqrt(c.pretrain) * m_NxP[sizes, df["pretrain_seed"].clip(0)], 0.0)
  df["loss"] = mean * np.exp(z)
  return _split(df)


def coverage(law: str, truth: dict, design: Design, sigma, n_studies: int = 200, bootstrap: int = 1000,
             seed: int = 0, max_D_F=None, resample: str = "auto", noise: Noise = Noise(), progress=None,
             fit_law: str = None, profiles=joint.TRANSFER_PARAMS, out=None, shard=(0, 1)) -> pd.DataFrame:
  """One row per simulated study: estimates, bootstrap and profile 95% intervals, and whether each covers the truth.

  fit_law: the joint law the estimator fits (default `law`); another form (transfer_kaplan fitted to runs drawn
  from transfer_chinchilla) measures coverage under a misspecified from-scratch curve. D_T is also checked at
  the design's centre (the geometric centre of its sizes and D_F), and the seeds' t interval beside the GLS one.
  profiles: the parameters profiled (() skips them, and their coverage); out: a CSV path rewritten after every
  study, so a run stopped early keeps what it measured, and run again with the same `out` it resumes.
  max_D_F: the low-data boundary ("derived": as `analyze` derives it from the from-scratch fit; None: the
  design's largest D_F). shard (i, n): only the studies j with
  j mod n = i, so n processes share one table (each study's draws depend on (seed, j) alone).
  """
  if not law.startswith("transfer_"):
    raise UsageError(f"coverage simulates a joint law (transfer_kaplan or transfer_chinchilla), not {law!r}")
  entry = get_law(law)
  fit_law = fit_law or law
  if not fit_law.startswith("transfer_"):
    raise UsageError(f"coverage fits a joint law (transfer_kaplan or transfer_chinchilla), not {fit_law!r}")
  scratch_law = fit_law[len("transfer_"):]
  N_ref, D_ref = design.reference
  true_mult = float(entry.functions["multiplier"](truth, np.array([N_ref]), np.array([D_ref]))[0])
  centre = (float(np.sqrt(min(design.sizes) * max(design.sizes))), float(np.sqrt(min(design.d_f) * max(design.d_f))))
  true_dt = float(entry.functions["D_T"](truth, np.array([centre[0]]), np.array([centre[1]]))[0])
  rows = []
  if out is not None and os.path.exists(out):  # a stopped run resumes: its studies are kept, not redrawn
    rows = pd.read_csv(out).to_dict("records")
  done = {int(r["study"]) for r in rows}
  for i in range(shard[0], n_studies, shard[1]):
    if i in done:
      continue
    rng = np.random.default_rng([seed, i])
    sc, ft = simulate(law, truth, design, sigma, rng, noise)
    if resample == "cells":  # the seeds' ties ignored: each cell resampled on its own
      sc, ft = sc.drop(columns="seed"), ft.drop(columns="seed")
    t0 = time.time()
    row = {"study": i, **{f"true_{k}": v for k, v in {**truth, "multiplier": true_mult, "D_T": true_dt}.items()}}
    try:
      jf = joint.fit_joint(sc, ft, scratch_law=scratch_law, bootstrap=bootstrap, seed=i, resample=resample,
                           max_D_F=None if max_D_F == "derived" else max_D_F if max_D_F is not None
                           else max(design.d_f), profiles=profiles)
    except UsageError as e:
      row["error"] = str(e)
      rows.append(row)
      continue
    f = jf.fit
    for k in ("k", "alpha", "beta"):
      lo, hi = f.ci95[k] if f.ci95 else (np.nan, np.nan)
      if f.ci95_gls and k in f.ci95_gls:  # the GLS interval alone, before its hull with the seeds' t interval
        glo, ghi = f.ci95_gls[k]
        row.update({f"{k}_gls_lo": glo, f"{k}_gls_hi": ghi, f"{k}_gls_covered": glo <= truth[k] <= ghi})
      p = jf.profiles.get(k)
      row.update({k: f.params[k], f"{k}_lo": lo, f"{k}_hi": hi, f"{k}_covered": lo <= truth[k] <= hi,
                  f"{k}_determined": jf.identified[k].determined})
      if p is not None:
        row.update({f"{k}_profile_lo": p.lo, f"{k}_profile_hi": p.hi,
                    f"{k}_profile_covered": bool(p.bounded and p.lo <= truth[k] <= p.hi)})
    m = float(jf.value("multiplier", N_ref, D_ref))
    ci = jf.interval("multiplier", N_ref, D_ref)
    lo, hi = (float(ci[0][0]), float(ci[1][0])) if ci is not None else (np.nan, np.nan)
    row.update({"multiplier": m, "multiplier_lo": lo, "multiplier_hi": hi, "multiplier_covered": lo <= true_mult <= hi,
                "resample": f.resample, "converged_refits": f.n_bootstrap_converged, "seconds": time.time() - t0})
    q = jf.at(*centre)["D_T"]
    row.update({"D_T": q["value"], "D_T_lo": q["lo"], "D_T_hi": q["hi"], "D_T_covered": q["lo"] <= true_dt <= q["hi"],
                "D_T_determined": q["status"] == "determined", "multiplier_determined":
                jf.at(N_ref, D_ref)["multiplier"]["status"] == "determined"})
    for k, c in jf.check.items():  # the model-free t interval over the seeds fitted alone
      t = {"alpha": truth["alpha"], "beta": truth["beta"], "D_T": true_dt}.get(k)
      if t is not None:
        row[f"{k}_t_covered"] = c["t_lo"] <= t <= c["t_hi"]
      row.update({f"{k}_t_lo": c["t_lo"], f"{k}_t_hi": c["t_hi"]})
      row[f"{k}_disagree"] = c["disagree"]
    if jf.forms:  # averaged over the from-scratch forms: which the runs did not reject
      row["forms_kept"] = "+".join(f for f, v in jf.forms.items() if v["weight"] > 0)
    row["max_D_F_used"] = float(jf.rows.loc[jf.rows["used"], "D_F"].max())
    if jf.noise is not None:
      row.update({f"noise_{k}": v for k, v in jf.noise.to_dict().items() if k != "df"})
      row["widening"] = jf.noise.df.get("widening", np.nan)
    rows.append(row)
    if out is not None:
      pd.DataFrame(rows).to_csv(out, index=False)
    if progress:
      progress(i + 1)
  out = pd.DataFrame(rows)
  out.attrs["truth"] = {**truth, "multiplier": true_mult, "D_T": true_dt}
  return out


def summary(table: pd.DataFrame) -> pd.DataFrame:
  """Coverage (share of studies whose 95% interval holds the truth) and median width per quantity."""
  truth = table.attrs.get("truth") or {k[5:]: table[k].iloc[0] for k in table if k.startswith("true_")}
  ok = table[table.get("error", pd.Series(index=table.index, dtype=object)).isna()] if "error" in table else table
  rows = []
  for k in ("k", "alpha", "beta", "multiplier", "D_T"):
    if f"{k}_covered" not in ok:
      continue
    r = {"quantity": k, "truth": truth.get(k), "studies": len(ok), "failed fits": len(table) - len(ok),
         "coverage": float(ok[f"{k}_covered"].mean()),
         "median width": float((ok[f"{k}_hi"] - ok[f"{k}_lo"]).median()),
         "median estimate": float(ok[k].median())}
    r["GLS alone"] = float(ok[f"{k}_gls_covered"].mean()) if f"{k}_gls_covered" in ok else np.nan
    r["seeds' t coverage"] = float(ok[f"{k}_t_covered"].mean()) if f"{k}_t_covered" in ok else np.nan
    if f"{k}_profile_covered" in ok:
      r["profile coverage"] = float(ok[f"{k}_profile_covered"].mean())
    r["determined"] = float(ok[f"{k}_determined"].mean()) if f"{k}_determined" in ok else np.nan
    rows.append(r)
  return pd.DataFrame(rows)
