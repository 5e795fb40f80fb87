"""Comparisons between studies (targets, sources) as intervals of a ratio, not as overlapping intervals.

Two intervals that overlap say little about the ratio of what they estimate: the ratio of two multipliers
can exclude 1 while their intervals overlap, and studies that share runs (two sources fine-tuned on one
target share its from-scratch runs and their seeds) are not independent. So a comparison is made on the
ratio itself, paired by seed: a seed fixes the D_F subsets and the batch order of every run of its number,
so seed s of study A and seed s of study B form a pair, and with the runs each seed alone was fitted to
(JointFit.seedwise) the log ratio per seed is one independent observation of the log ratio. A t interval
over those G pairs (Ibragimov and Mueller 2010) is valid with or without shared runs, since the seeds
are independent of each other. Where fewer than 2 seeds are shared, the bootstrap replicates of the two
fits are paired at random, which is valid only when the studies share no runs (the result says so).

Across targets whose bytes hold different numbers of characters (a Chinese character is about 3 bytes), the
comparison is made at equal characters: with `bytes_per_unit`, each study is read at D_F characters (D_F times
its bytes per character in bytes) and its D_T is counted in characters; the multiplier has no unit.

With m comparisons, each interval is at level 1 - 0.05 / m (Bonferroni), so that all hold together in
95% of cases; the number is stated with every row.
"""
import itertools
import math

import numpy as np
import pandas as pd

from transfer_scaling.errors import UsageError
from transfer_scaling.laws.registry import get_law

QUANTITIES = ("multiplier", "D_T")


def _per_seed(jf, name: str, N: float, D_F: float, unit: float = 1.0) -> pd.Series:
  """log of `name` at (N, D_F) from each seed's own fit, indexed by seed (D_T counted in units of `unit` bytes)."""
  sw = jf.seedwise
  if sw is None or not len(sw):
    return pd.Series(dtype=float)
  fn = get_law("hernandez").functions[name]
  v = np.asarray(fn({k: sw[k].to_numpy(np.float64) for k in ("k", "alpha", "beta")}, np.array([float(N)]),
                    np.array([float(D_F)])), np.float64).reshape(len(sw), -1)[:, 0]
  with np.errstate(divide="ignore", invalid="ignore"):
    return pd.Series(np.log(v / _scale(name, unit)), index=sw["seed"].astype(str).to_numpy())


def _scale(name: str, unit: float) -> float:
  return unit if name == "D_T" else 1.0


def _value(jf, name: str, N: float, D_F: float, unit: float) -> float:
  """`name` at D_F units of `unit` bytes, D_T counted in those units."""
  return float(jf.value(name, N, D_F * unit)) / _scale(name, unit)


def ratios(fits: dict, name: str = "multiplier", N: float = None, D_F: float = None, pairs=None,
           bytes_per_unit: dict = None) -> pd.DataFrame:
  """One row per comparison A / B of `name` at (N, D_F): the ratio of the fits' values and its interval.

  fits: label -> laws.joint.JointFit (with seedwise fits for the paired interval); pairs: the (A, B) labels to
  compare (default: every pair, in the order given); N, D_F: the point (default: the first fit's design centre);
  bytes_per_unit: label -> bytes per unit of D (bytes per character for a comparison at equal characters; D_F
  is then in that unit; default 1, bytes).
  """
  if name not in QUANTITIES:
    raise UsageError(f"compare {name!r}: give one of {', '.join(QUANTITIES)}")
  labels = list(fits)
  pairs = list(pairs) if pairs is not None else list(itertools.combinations(labels, 2))
  unknown = sorted({x for p in pairs for x in p} - set(labels))
  if len(labels) < 2 or unknown:
    raise UsageError(f"a comparison needs 2 or more fits and pairs among them (unknown: {unknown or 'none'}); "
                     f"the fits are {labels}")
  first = fits[labels[0]]
  N, D_F = (N if N is not None else first.centre[0]), (D_F if D_F is not None else first.centre[1])
  m = len(pairs)
  level = 1 - 0.05 / m
  from scipy import stats
  rows = []
  u = {x: float((bytes_per_unit or {}).get(x, 1.0)) for x in labels}
  unit = "bytes" if bytes_per_unit is None else "characters"
  for a, b in pairs:
    fa, fb = fits[a], fits[b]
    est = float(_value(fa, name, N, D_F, u[a]) / _value(fb, name, N, D_F, u[b]))
    la, lb = _per_seed(fa, name, N, D_F * u[a], u[a]), _per_seed(fb, name, N, D_F * u[b], u[b])
    d = (la - lb).dropna()
    d = d[np.isfinite(d)]
    row = {"a": a, "b": b, "quantity": name, "N": float(N), "D_F": float(D_F), "unit": unit, "ratio": est,
           "comparisons": m, "level": level}
    if len(d) >= 2:
      half = float(stats.t.ppf(1 - (1 - level) / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
      # Centred on the joint fits' ratio; the spread is the paired seeds' (their mean is noisier than the GLS fits).
      row.update(lo=est * math.exp(-half), hi=est * math.exp(half), seeds=len(d), method="paired by seed (t)")
    else:
      ra, rb = fa.replicates(name, N, D_F * u[a]), fb.replicates(name, N, D_F * u[b])
      if ra is None or rb is None:
        row.update(lo=math.nan, hi=math.nan, seeds=len(d), method="no interval (no replicates)")
      else:
        rng = np.random.default_rng(0)
        B = min(len(ra), len(rb))
        r = ((ra[rng.permutation(len(ra))[:B], 0] / _scale(name, u[a]))
             / (rb[rng.permutation(len(rb))[:B], 0] / _scale(name, u[b])))
        q = (1 - level) / 2
        row.update(lo=float(np.quantile(r, q)), hi=float(np.quantile(r, 1 - q)), seeds=len(d),
                   method="independent replicates (valid only if the studies share no runs)")
    row["excludes_1"] = bool(np.isfinite(row["lo"]) and (row["lo"] > 1 or row["hi"] < 1))
    rows.append(row)
  return pd.DataFrame(rows)


def text(table: pd.DataFrame) -> str:
  """The comparisons as lines a report prints, with their number and level."""
  if table.empty:
    return ""
  m, level = int(table["comparisons"].iloc[0]), float(table["level"].iloc[0])
  out = [f"{m} comparison(s), each interval at {100 * level:.3g}% so that all hold together at 95% (Bonferroni):"]
  for _, r in table.iterrows():
    out.append(f"  {r['quantity']} {r['a']} / {r['b']} at N = {r['N']:,.0f}, "
               f"D_F = {r['D_F']:,.0f} {r.get('unit', 'bytes')}: {r['ratio']:.3g} "
               f"[{r['lo']:.3g}, {r['hi']:.3g}] ({r['method']}, {r['seeds']} seeds)"
               + ("; excludes 1" if r["excludes_1"] else ""))
  return "\n".join(out)
