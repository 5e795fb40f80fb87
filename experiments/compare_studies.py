"""Studies compared on paired intervals, and one figure of every study's multiplier (docs/results.md).

  python -m experiments.compare_studies --workdir results/decision_python \
      --workdir results/text_code_to_python_decision --workdir results/text_docs_to_python_decision \
      --pairs decision_python/text_code_to_python_decision,decision_python/text_docs_to_python_decision \
      --figure docs/figures/multipliers_decision.png

Each study is fitted as `analyze` fits it (its stored joint law's from-scratch form, GLS, the seeds fitted
alone) on the runs its analysis chose. Every study's multiplier and D_T are read at one common point (the
first study's design centre, or --N and --D-F). A comparison A / B is the ratio of the two, and alpha's and beta's
differences, with a t interval over the seeds both studies hold (seed s of each shares its D_F subsets, and
its from-scratch runs where the target is the same: laws/compare.py); with m comparisons each interval is at
1 - 0.05 / m. With --per-character each study is read at D_F characters of its target (D_F times the target's
bytes per character, from its prepared corpus) and D_T is counted in characters: languages compared at equal
text rather than equal bytes. The figure is what a reader looks at first: one marker and 95% interval per
study, on a log scale, sorted, and beside it G (the stored transfer-gap fit's, bootstrap percentiles as in the
report) where any study determines it. A study with no joint fit (DNA) is listed and drawn with its G, its
multiplier marked not determined; it cannot be one side of a comparison.
"""
import argparse
import math
import pathlib
import sys

import numpy as np
import pandas as pd
from scipy import stats

from experiments.coverage import runs_of
from transfer_scaling.data import prepared
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import compare, joint
from transfer_scaling.report import workdir_report
from transfer_scaling.study import workdir as study_workdir


def _split(spec: str) -> tuple:
  """(workdir, target or None) of DIR or DIR:TARGET, one target of a study of several."""
  workdir, _, target = spec.partition(":")
  return workdir, target or None


def _label(spec: str) -> str:
  workdir, target = _split(spec)
  return pathlib.Path(workdir).name + (f":{target}" if target else "")


def fit(spec: str, bootstrap: int):
  """The joint fit of a study (DIR) or of one target of a study of several (DIR:TARGET), and its stored
  transfer-gap fit (None where the study has none). A study with no joint fit (no fine-tuned run in the
  low-data regime, as for DNA) gives None and its gap fit, which the analysis recomputes since no file holds it."""
  workdir, target = _split(spec)
  if not has_joint_fit(spec):
    result = workdir_report.load(workdir)
    t = result.targets[target] if target else next(iter(result.targets.values()))
    return None, workdir_report.gap_json(t.gap) or None
  fits, sc, ft = runs_of(workdir, target)
  form = fits["joint"]["law"][len("transfer_"):]
  return joint.fit_joint(sc, ft, scratch_law=form, bootstrap=bootstrap, seed=0, profiles=()), fits.get("gap")


def has_joint_fit(spec: str) -> bool:
  workdir, target = _split(spec)
  study_workdir.read_study(workdir)  # one line naming the problem where DIR holds no study
  if target:
    return workdir_report.fits_path(workdir, target).exists()
  return any((pathlib.Path(workdir) / "fits").glob("*.json"))  # runs_of's default: the first target's


def gap_G(gap) -> dict:
  """G of a stored transfer-gap fit as its report gives it: the estimate, the bootstrap's 95% percentiles and
  the verdict ('determined', 'upper bound only', ...; 'no gap fit' where the study fitted none)."""
  verdict = workdir_report.gap_verdicts(gap).get("G") if gap else None
  if not isinstance(verdict, dict):
    return {"status": "no gap fit"}
  reps = np.asarray(gap["bootstrap"]["G"], np.float64)
  lo, hi = np.nanpercentile(reps, [2.5, 97.5]) if np.isfinite(reps).any() else (np.nan, np.nan)
  return {"status": verdict["status"], "value": float(gap["params"]["G"]), "lo": float(lo), "hi": float(hi),
          "size": gap.get("size")}


def bytes_per_character(spec: str) -> float:
  """Bytes per character of the study's one target (its prepared corpus's training split)."""
  workdir, target = _split(spec)
  targets = [target] if target else study_workdir.read_study(workdir)["config"]["targets"]
  if len(targets) != 1:
    raise UsageError(f"{workdir} has {len(targets)} targets; --per-character compares studies of one target each")
  if not prepared.is_prepared(targets[0]):
    raise UsageError(f"corpus {targets[0]} is not prepared here; run `transfer-scaling corpora prepare {targets[0]}`")
  return prepared.bytes_per_character(targets[0])


def exponent_difference(fa, fb, level: float, name: str = "alpha") -> dict:
  """alpha(A) - alpha(B) (or beta's): the joint fits' difference, with a t interval over the paired seeds' fits."""
  a = fa.seedwise.set_index(fa.seedwise["seed"].astype(str))[name]
  b = fb.seedwise.set_index(fb.seedwise["seed"].astype(str))[name]
  d = (a - b).dropna()
  est = fa.fit.params[name] - fb.fit.params[name]
  if len(d) < 2:  # no shared seeds: the bootstrap replicates paired at random (valid when no run is shared)
    ra, rb = fa.fit.bootstrap[name].to_numpy(), fb.fit.bootstrap[name].to_numpy()
    rng = np.random.default_rng(0)
    B = min(len(ra), len(rb))
    r = ra[rng.permutation(len(ra))[:B]] - rb[rng.permutation(len(rb))[:B]]
    q = (1 - level) / 2
    return {f"{name}_diff": est, f"{name}_diff_lo": float(np.quantile(r, q)),
            f"{name}_diff_hi": float(np.quantile(r, 1 - q)), f"{name}_method": "independent replicates (GLS)"}
  half = float(stats.t.ppf(1 - (1 - level) / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
  return {f"{name}_diff": est, f"{name}_diff_lo": est - half, f"{name}_diff_hi": est + half,
          f"{name}_method": f"paired by seed (t), {len(d)} seeds"}


def figure(fits: dict, N: float, D_F: float, path: str, u: dict, G: dict) -> None:
  """One row per study, sorted by the multiplier; beside it G (gap_G's, where any study determines it), else its
  verdict."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import matplotlib.ticker
  rows = [(k, None) for k, jf in fits.items() if jf is None]  # at the bottom: no multiplier to place
  rows += sorted(((k, jf.at(N, D_F * u[k])["multiplier"]) for k, jf in fits.items() if jf is not None),
                 key=lambda r: r[1]["value"])
  with_G = any(g["status"] == "determined" for g in G.values())
  fig, axes = plt.subplots(1, 2 if with_G else 1, figsize=(9.6 if with_G else 8.0, 0.5 * len(rows) + 1.2),
                           sharey=True, squeeze=False, gridspec_kw={"width_ratios": [3, 2][:1 + with_G]})
  ax = axes[0, 0]
  for i, (label, q) in enumerate(rows):
    if q is None:
      ax.text(0.02, i, "multiplier: not determined (no joint fit)", transform=ax.get_yaxis_transform(),
              va="center", color="0.45", fontsize=8)
      continue
    ax.errorbar(q["value"], i, xerr=[[q["value"] - q["lo"]], [q["hi"] - q["value"]]], fmt="o", capsize=3,
                color=f"C{i % 10}")
  ax.set_yticks(range(len(rows)), [r[0] for r in rows])
  ax.set_xscale("log")
  # Plain numbers (3, not 3 x 10^0); under a decade the minor ticks 2, 3 and 5 are labelled too.
  lo, hi = ax.get_xlim()
  plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
  ax.xaxis.set_major_formatter(plain)
  ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(
      lambda v, _: f"{v:g}" if hi / lo < 10 and round(v / 10 ** np.floor(np.log10(v)), 6) in (2, 3, 5) else ""))
  unit = "bytes" if all(v == 1.0 for v in u.values()) else "characters"
  ax.set_xlabel(f"effective-data multiplier (D_F + D_T) / D_F\n95% interval at N = {N:,.0f}, D_F = {D_F:,.0f} {unit}")
  ax.grid(axis="x", alpha=0.3)
  if with_G:
    gx = axes[0, 1]
    for i, (label, _) in enumerate(rows):
      g = G[label]
      if g["status"] == "determined":
        gx.errorbar(g["value"], i, xerr=[[g["value"] - g["lo"]], [g["hi"] - g["value"]]], fmt="s", capsize=3,
                    color="C3")
      else:
        gx.text(0.02, i, f"G: {g['status']}", transform=gx.get_yaxis_transform(), va="center", color="0.45",
                fontsize=8)
    gx.set_xlim(left=0)
    gx.set_xlabel("transfer gap G (nats/byte)\n95% interval where determined")
    gx.grid(axis="x", alpha=0.3)
  fig.tight_layout()
  pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, dpi=120)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", action="append", required=True,
                 help="a finished, analysed study (2 or more); DIR:TARGET for one target of a study of several")
  p.add_argument("--pairs", help="A/B,C/D: the comparisons by study name (default: the first against each other)")
  p.add_argument("--N", type=float, help="the common point's size (default: the first study's design centre)")
  p.add_argument("--D-F", type=float, dest="D_F", help="the common point's D_F in bytes (default: as --N)")
  p.add_argument("--per-character", action="store_true",
                 help="read each study at D_F characters of its target, D_T in characters (targets of unlike scripts)")
  p.add_argument("--bootstrap", type=int, default=1000, help="replicates per fit (analyze's default)")
  p.add_argument("--figure", help="PNG of every study's multiplier at the common point")
  p.add_argument("--csv", help="the comparisons as a table")
  a = p.parse_args(argv)
  if len(a.workdir) < 2:
    sys.exit("give 2 or more --workdir to compare")
  try:
    u = {_label(w): bytes_per_character(w) if a.per_character else 1.0 for w in a.workdir}
    labels = [_label(w) for w in a.workdir if has_joint_fit(w)]
    if not labels:
      sys.exit("error: no study named has a joint fit, so there is no multiplier to compare")
    pairs = ([tuple(x.split("/")) for x in a.pairs.split(",")] if a.pairs
             else [(labels[0], other) for other in labels[1:]])
    unfitted = [x for pair in pairs for x in pair if x in u and x not in labels]
    if unfitted:
      sys.exit(f"error: {unfitted[0]} has no joint fit, so its multiplier is not determined; leave it out of "
               "--pairs (the list and the figure still show its G)")
    both = {_label(w): fit(w, a.bootstrap) for w in a.workdir}
  except UsageError as e:  # a study or corpus the user named is not there: one line, as the CLI says it
    sys.exit(f"error: {e}")
  fits, G = {k: v[0] for k, v in both.items()}, {k: gap_G(v[1]) for k, v in both.items()}
  first = fits[labels[0]]
  N, D_F = a.N or first.centre[0], a.D_F or first.centre[1]
  level = 1 - 0.05 / len(pairs)
  table = pd.concat([compare.ratios(fits, q, N, D_F, pairs, u if a.per_character else None)
                     for q in compare.QUANTITIES], ignore_index=True)
  exps = pd.DataFrame([{"a": x, "b": y, **exponent_difference(fits[x], fits[y], level, "alpha"),
                        **exponent_difference(fits[x], fits[y], level, "beta")} for x, y in pairs])
  unit = "characters" if a.per_character else "B"
  print(f"common point N = {N:,.0f}, D_F = {D_F:,.0f} {unit}; {len(pairs)} comparison(s), each at {100 * level:.3g}%")
  for label, jf in fits.items():
    print(f"  {label} ({u[label]:.3f} bytes per character):" if a.per_character else f"  {label}:", end="")
    g = G[label]
    gap = (f"G {g['value']:.3g} [{g['lo']:.3g}, {g['hi']:.3g}] at {g['size']}" if g["status"] == "determined"
           else f"G {g['status']}")
    if jf is None:
      print(f" multiplier not determined (no joint fit); alpha not fitted; {gap}")
      continue
    q = jf.at(N, D_F * u[label])["multiplier"]
    lo, hi = jf.fit.ci95["alpha"]
    print(f" multiplier {q['value']:.3g} [{q['lo']:.3g}, {q['hi']:.3g}]; alpha {jf.fit.params['alpha']:.3g} "
          f"[{lo:.3g}, {hi:.3g}]; {gap}")
  print(compare.text(table))
  for _, r in exps.iterrows():
    for e in ("alpha", "beta"):
      print(f"  {e} {r['a']} - {r['b']}: {r[f'{e}_diff']:.3g} [{r[f'{e}_diff_lo']:.3g}, {r[f'{e}_diff_hi']:.3g}]"
            f" ({r[f'{e}_method']})")
  if a.csv:
    table.merge(exps, on=["a", "b"]).to_csv(a.csv, index=False)
  if a.figure:
    figure(fits, N, D_F, a.figure, u, G)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
