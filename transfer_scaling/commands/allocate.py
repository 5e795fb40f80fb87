"""`transfer-scaling allocate compute|budget ...`: spend a budget where the fitted law says it pays.

  transfer-scaling allocate compute --fit chinchilla.json --flops 1e21 1e23 --plot compute.png
      N_opt(C), D_opt(C) for each compute budget C (FLOPs, C = 6 N D) under a chinchilla fit.
  transfer-scaling allocate budget --fit gap.json --budget 1e6 --cost-p 1 --cost-f 20 --plot budget.png
      the (pre-training p, fine-tuning data f) that minimise a gap law's loss L(p, f) for
      cost_p * p + cost_f * f = budget, with isoloss contours (the law is the fit's; with --params, the
      default gap law).
Parameters come from a `transfer-scaling fit` JSON (--fit), for budget also from a study's fits/TARGET.json
(`--fit W/fits/python.json`, or `--fit W` when it has one target: p in steps, f in bytes, with the interval of the
split over the study's bootstrap refits), or directly: --params A=5,G=0.1,E=1,alpha=0.3,beta=0.4.
G is always the transfer gap; the compute-optimal coefficient (Hoffmann et al.'s G) is called K here.
"""
import argparse
import io
import json
import os

import numpy as np
import pandas as pd

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import allocate, definitions
from transfer_scaling.laws.allocate import COMPUTE
from transfer_scaling.laws.registry import get_law, law_names


class Fit:
  """A law's parameters and what is known of their uncertainty, from --fit or --params."""

  def __init__(self, law: str, params: dict, replicates=None, ci95=None, notes=(), units=("", "")):
    self.law, self.params, self.replicates, self.ci95 = law, params, replicates, ci95 or {}
    self.notes, self.units = list(notes), units


def _check_law(problem: str, name, path: str) -> str:
  """The law of the fit in `path`, if `problem` can use it: compute needs COMPUTE, budget a law in the gap role."""
  ok = name == COMPUTE if problem == "compute" else name in law_names("gap")
  if not ok:
    need = f"a {COMPUTE} fit" if problem == "compute" else f"a gap law's fit ({', '.join(law_names('gap'))})"
    raise UsageError(f"{path} holds a {name!r} fit; this needs {need}")
  return name


def _fit_file(path: str, law: str) -> str:
  """The JSON to read: the file itself, or a study's (or its fits/ folder's) single fits/TARGET.json."""
  if not os.path.isdir(path):
    return path
  folder = os.path.join(path, "fits") if os.path.isdir(os.path.join(path, "fits")) else path
  found = sorted(f for f in os.listdir(folder) if f.endswith(".json"))
  if len(found) != 1:
    names = ", ".join(os.path.join(folder, f) for f in found) or "none"
    raise UsageError(f"--fit {path}: give one fit file (found {names}); a study's are written by "
                     f"`transfer-scaling analyze`, others by `transfer-scaling fit {law} ... --json FILE`")
  return os.path.join(folder, found[0])


def _load(args, problem: str) -> Fit:
  law = COMPUTE if problem == "compute" else definitions.GAP  # what --params gives, and what to fit
  if bool(args.fit) == bool(args.params):
    raise UsageError("give the law's parameters either as --fit FIT.json (or a study's fits/TARGET.json) "
                     "or as --params NAME=VALUE,...")
  if args.params:
    return Fit(law, _parse_params(args.params))
  path = _fit_file(args.fit, law)
  if not os.path.exists(path):
    raise UsageError(f"no such fit file: {path}; write one with `transfer-scaling fit {law} ... --json FILE`")
  try:
    with open(path) as f:
      d = json.load(f)
  except (json.JSONDecodeError, UnicodeDecodeError, IsADirectoryError) as e:
    raise UsageError(f"{path} is not a fit JSON ({type(e).__name__}); write one with "
                     f"`transfer-scaling fit {law} ... --json FILE`") from None
  if isinstance(d, dict) and "joint" in d and "target" in d:
    return _study_fit(path, d, problem)
  if not isinstance(d, dict) or not isinstance(d.get("params"), dict):
    raise UsageError(f"{path} has no 'params' object; write it with `transfer-scaling fit {law} ... --json FILE`")
  return Fit(_check_law(problem, d.get("law"), path), d["params"], ci95=d.get("ci95") or {})


def _study_fit(path: str, d: dict, problem: str) -> Fit:
  """A study's fits/TARGET.json: its gap law's fit, bootstrap refits and what the grid determines."""
  gap = d.get("gap")
  if problem == "compute":
    raise UsageError(f"{path} holds a study's transfer laws; `allocate compute` needs a {COMPUTE} fit: "
                     f"write one with `transfer-scaling fit {COMPUTE} --csv RUNS.csv --json FILE`")
  if not isinstance(gap, dict) or not isinstance(gap.get("params"), dict):
    raise UsageError(f"{path} has no transfer-gap fit (its study has no gap grid, or the fit failed); "
                     "set config.gap.sizes and sweep again, or give --params")
  law = _check_law(problem, gap.get("law", definitions.GAP), path)  # a study's fits name their gap law
  reps = pd.DataFrame(gap.get("bootstrap") or {})
  notes = []
  from transfer_scaling.report.workdir_report import gap_verdicts
  for k, v in gap_verdicts(gap).items():
    if v.get("status", "determined") != "determined":
      notes.append(f"note: {v.get('text', f'{k} is not determined by this grid')}: {k} = {gap['params'][k]:.3g} is "
                   "a point value the data do not pin down, and so is the split above")
  return Fit(law, gap["params"], replicates=reps if len(reps) else None, notes=notes,
             units=(" steps", " bytes"))


def _parse_params(text: str) -> dict:
  try:
    pairs = [kv.split("=") for kv in text.split(",")]
    out = {k.strip(): float(v) for k, v in pairs}
    if len(out) != len(pairs):
      raise ValueError("a name given twice")
    return out
  except ValueError:
    raise UsageError(f"--params must look like A=5,G=0.1,E=1,alpha=0.3,beta=0.4, got {text!r}")


def _ci_line(ci95: dict, names) -> str:
  parts = [f"{k} [{ci95[k][0]:.4g}, {ci95[k][1]:.4g}]" for k in names if k in ci95 and ci95[k] is not None]
  return "95% intervals of the fit: " + ", ".join(parts) if parts else ""


REPLICATES = 200  # bootstrap refits re-optimised for the interval of the split (about 10 ms each)


def _budget_interval(fit: Fit, args) -> str:
  """The 95% range of the optimal split over the fit's bootstrap refits (the study's fits carry them)."""
  reps = fit.replicates
  if reps is None:
    return ""
  rows, tried = [], reps.head(REPLICATES)
  for _, r in tried.iterrows():
    try:
      a = allocate.allocate_budget(r.to_dict(), args.budget, args.cost_p, args.cost_f, law=fit.law)
    except UsageError:  # a refit outside the law's domain (a negative parameter) has no allocation
      continue
    rows.append((a.p, a.f, a.share_p, a.loss))
  if len(rows) < 2:
    return ""
  lo, hi = np.percentile(np.asarray(rows), [2.5, 97.5], axis=0)
  (up, uf) = fit.units
  skipped = len(tried) - len(rows)
  return (f"95% interval over {len(rows)} of {len(tried)} bootstrap refits"
          + (f" ({skipped} have a negative exponent: there more pre-training or data does not lower the loss, "
             "and no split is optimal)" if skipped else "") + f": p [{lo[0]:.4g}, {hi[0]:.4g}]{up}, "
          f"f [{lo[1]:.4g}, {hi[1]:.4g}]{uf}, pre-training share [{100 * lo[2]:.1f}%, {100 * hi[2]:.1f}%], "
          f"loss [{lo[3]:.5g}, {hi[3]:.5g}]")


PLOT_FORMATS = ("png", "pdf", "svg")


def _check_plot(path) -> None:
  if path is None:
    return
  fileio.check_output_file(path, "--plot")  # a folder or an unwritable place is the first thing to say
  ext = os.path.splitext(path)[1].lstrip(".").lower()
  if ext not in PLOT_FORMATS:
    raise UsageError(f"--plot {path}: give a file name ending in .png, .pdf or .svg")


def _save(fig, path) -> None:
  buf = io.BytesIO()
  fig.savefig(buf, format=os.path.splitext(path)[1].lstrip(".").lower(), dpi=120)
  fileio.write_bytes_atomic(path, buf.getvalue())


def _plot_compute(table, path):
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(5, 3.5))
  ax.loglog(table["C"], table["N_opt"], "o-", label=f"N_opt ~ C^{table['a'][0]:.3f}")
  ax.loglog(table["C"], table["D_opt"], "s-", label=f"D_opt ~ C^{table['b'][0]:.3f}")
  ax.set_xlabel("compute C (FLOPs)")
  ax.legend()
  fig.tight_layout()
  _save(fig, path)
  plt.close(fig)


def _plot_budget(fit: Fit, best, path):
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  p_range = (best.p / 1e3, best.p * 1e3)
  f_range = (best.f / 1e3, best.f * 1e3)
  grid = allocate.isoloss_grid(fit.params, p_range, f_range, n=120, law=fit.law)
  n = int(np.sqrt(len(grid)))
  P, F, L = (grid[c].to_numpy().reshape(n, n) for c in ("p", "f", "loss"))
  fig, ax = plt.subplots(figsize=(5, 4))
  # Contour levels evenly spaced in log of the loss above the grid's least, so they crowd where the optimum is.
  floor = L.min()
  levels = floor + np.geomspace(*np.maximum(np.quantile(L - floor, [0.02, 0.9]), 1e-12), 12)
  cs = ax.contour(P, F, L, levels=levels, cmap="viridis")
  ax.clabel(cs, fontsize=7, fmt="%.4g")
  p_line = np.geomspace(*p_range, 200)
  f_line = (best.budget - best.cost_p * p_line) / best.cost_f
  ok = f_line > 0
  ax.plot(p_line[ok], f_line[ok], "k--", lw=1, label="budget line")
  ax.plot([best.p], [best.f], "r*", ms=12, label=f"optimum: {100 * best.share_p:.1f}% pre-training")
  ax.set(xscale="log", yscale="log", xlim=p_range, ylim=f_range, xlabel="pre-training p", ylabel="fine-tuning data f")
  ax.legend(fontsize=8)
  fig.tight_layout()
  _save(fig, path)
  plt.close(fig)


def main(argv) -> int:
  ap = argparse.ArgumentParser(prog="transfer-scaling allocate", description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
  sub = ap.add_subparsers(dest="problem", required=True)
  c = sub.add_parser("compute", help=f"compute-optimal N and D under a {COMPUTE} fit")
  c.add_argument("--flops", type=float, nargs="+", required=True, help="compute budgets C in FLOPs")
  b = sub.add_parser("budget", help=f"pre-training vs fine-tuning data under a gap law's fit "
                                    f"({', '.join(law_names('gap'))}; --params: {definitions.GAP})")
  b.add_argument("--budget", type=float, required=True)
  b.add_argument("--cost-p", type=float, required=True, help="cost of one unit of pre-training (step or token)")
  b.add_argument("--cost-f", type=float, required=True, help="cost of one fine-tuning datum")
  for p in (c, b):
    p.add_argument("--fit", help="a JSON written by `transfer-scaling fit`, or (budget) a study's fits/TARGET.json "
                                 "or workdir")
    p.add_argument("--params", help="NAME=VALUE,... instead of --fit")
    p.add_argument("--plot", help="write a figure here (PNG, PDF, SVG)")
  args = ap.parse_args(argv)
  _check_plot(args.plot)  # before any work: a bad path is found now, not after the result is printed

  if args.problem == "compute":
    fit = _load(args, "compute")
    table = allocate.compute_optimal(fit.params, args.flops)
    print(f"N_opt = K (C/6)^a, D_opt = (C/6)^b / K with a = {table['a'][0]:.4f}, b = {table['b'][0]:.4f}, "
          f"K = {table['K'][0]:.4g} (Hoffmann et al.'s G, not the transfer gap)")
    print(table[["C", "N_opt", "D_opt", "loss"]].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    line = _ci_line(fit.ci95, get_law(fit.law).params + tuple(get_law(fit.law).derived))
    if line:
      print(line)
    if args.plot:
      _plot_compute(table, args.plot)
  else:
    fit = _load(args, "budget")
    best = allocate.allocate_budget(fit.params, args.budget, args.cost_p, args.cost_f, law=fit.law)
    print(best)
    for line in [_budget_interval(fit, args), _ci_line(fit.ci95, get_law(fit.law).params)] + fit.notes:
      if line:
        print(line)
    if args.plot:
      _plot_budget(fit, best, args.plot)
  if args.plot:
    print(f"wrote {args.plot}")
  return 0
