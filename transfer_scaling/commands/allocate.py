"""`transfer-scaling allocate compute|budget ...`: spend a budget where the fitted law says it pays.

  transfer-scaling allocate compute --fit chinchilla.json --flops 1e21 1e23 --plot compute.png
      N_opt(C), D_opt(C) for each compute budget C (FLOPs, C = 6 N D) under a chinchilla fit.
  transfer-scaling allocate budget --fit barnett.json --budget 1e6 --cost-p 1 --cost-f 20 --plot budget.png
      the (pre-training p, fine-tuning data f) that minimise the barnett law's loss for
      cost_p * p + cost_f * f = budget, with isoloss contours.
Parameters come from a `transfer-scaling fit` JSON (--fit) or directly: --params A=5,G=0.1,E=1,alpha=0.3,beta=0.4
"""
import argparse
import io
import json
import os

import numpy as np

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import allocate


def _load_params(args, law: str) -> dict:
  if bool(args.fit) == bool(args.params):
    raise UsageError("give the law's parameters either as --fit FIT.json or as --params NAME=VALUE,...")
  if args.fit:
    if not os.path.exists(args.fit):
      raise UsageError(f"no such fit file: {args.fit}; write one with `transfer-scaling fit {law} ... --json FILE`")
    try:
      with open(args.fit) as f:
        d = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, IsADirectoryError) as e:
      raise UsageError(f"{args.fit} is not a fit JSON ({type(e).__name__}); write one with "
                       f"`transfer-scaling fit {law} ... --json FILE`") from None
    if not isinstance(d, dict) or not isinstance(d.get("params"), dict):
      raise UsageError(f"{args.fit} has no 'params' object; write it with `transfer-scaling fit {law} ... --json FILE`")
    if d.get("law") != law:
      raise UsageError(f"{args.fit} holds a {d.get('law')!r} fit; this needs a {law} fit")
    return d["params"]
  try:
    pairs = [kv.split("=") for kv in args.params.split(",")]
    out = {k.strip(): float(v) for k, v in pairs}
    if len(out) != len(pairs):
      raise ValueError("a name given twice")
    return out
  except ValueError:
    raise UsageError(f"--params must look like A=5,G=0.1,E=1,alpha=0.3,beta=0.4, got {args.params!r}")


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


def _plot_budget(params, best, path):
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  p_range = (best.p / 1e3, best.p * 1e3)
  f_range = (best.f / 1e3, best.f * 1e3)
  grid = allocate.isoloss_grid(params, p_range, f_range, n=120)
  n = int(np.sqrt(len(grid)))
  P, F, L = (grid[c].to_numpy().reshape(n, n) for c in ("p", "f", "loss"))
  fig, ax = plt.subplots(figsize=(5, 4))
  E = float(params["E"])  # contour levels evenly spaced in log(L - E), the law's natural scale
  levels = E + np.geomspace(*np.quantile(L - E, [0.02, 0.9]), 12)
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
  c = sub.add_parser("compute", help="compute-optimal N and D under a chinchilla fit")
  c.add_argument("--flops", type=float, nargs="+", required=True, help="compute budgets C in FLOPs")
  b = sub.add_parser("budget", help="pre-training vs fine-tuning data under a barnett fit")
  b.add_argument("--budget", type=float, required=True)
  b.add_argument("--cost-p", type=float, required=True, help="cost of one unit of pre-training (step or token)")
  b.add_argument("--cost-f", type=float, required=True, help="cost of one fine-tuning datum")
  for p in (c, b):
    p.add_argument("--fit", help="a JSON written by `transfer-scaling fit`")
    p.add_argument("--params", help="NAME=VALUE,... instead of --fit")
    p.add_argument("--plot", help="write a figure here (PNG, PDF, SVG)")
  args = ap.parse_args(argv)
  _check_plot(args.plot)  # before any work: a bad path is found now, not after the result is printed

  if args.problem == "compute":
    table = allocate.compute_optimal(_load_params(args, "chinchilla"), args.flops)
    print(f"N_opt = G (C/6)^a, D_opt = (C/6)^b / G with a = {table['a'][0]:.4f}, b = {table['b'][0]:.4f}, "
          f"G = {table['G'][0]:.4g}")
    print(table[["C", "N_opt", "D_opt", "loss"]].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if args.plot:
      _plot_compute(table, args.plot)
  else:
    params = _load_params(args, "barnett")
    best = allocate.allocate_budget(params, args.budget, args.cost_p, args.cost_f)
    print(best)
    if args.plot:
      _plot_budget(params, best, args.plot)
  if args.plot:
    print(f"wrote {args.plot}")
  return 0
