"""The law-free numbers behind Hernandez et al.'s observations 5-7 (docs/results.md), from a study's records.

  python -m experiments.observations --workdir results/decision_python [--workdir results/NAME ...]

Per study and target, on the runs its analysis chose (the learning rate picked on validation, failed runs left
out), fine-tuned from the longest pre-training:
  5. with little data, pre-trained models keep improving with N: the mean test loss of each arm at the smallest
     D_F, from the smallest to the largest size, over the seeds run at both, and its change with a t interval
     over those seeds (seed s trains on the same bytes at every size, so its change is one paired observation);
  6. fine-tuned models are more compute-efficient (pre-training not counted): per fine-tuned cell, the
     training compute a from-scratch run of the same size needs to reach the cell's loss (at D_E, found as the
     reports find it by laws.transfer.interpolate_data; its compute read off the measured curve, log-log) over
     the fine-tuned runs' compute, both to the step that was best on validation; the median and range over the
     cells whose D_E lies on the curve (cells whose every seed was best at step 0 need no fine-tuning compute at
     all and are counted apart);
  7. ossification: the cells where the fine-tuned mean loss is above the from-scratch mean at the same size
     and D_F.
"""
import argparse
import pathlib

import numpy as np
import pandas as pd
from scipy import stats

from transfer_scaling.laws import transfer
from transfer_scaling.study import selection


def _chosen(workdir: str) -> pd.DataFrame:
  table = pd.read_csv(pathlib.Path(workdir) / "results.csv")
  chosen, _ = selection.choose(table)
  ok = chosen[(chosen["status"] == "done") & chosen["loss"].notna()].copy()
  ok["flops_best"] = ok["flops"] * ok["best_step"].clip(lower=0) / ok["steps"].clip(lower=1)
  return ok


def _cells(runs: pd.DataFrame, d: str) -> pd.DataFrame:
  return runs.groupby(["N", d]).agg(loss=("loss", "mean"), flops=("flops_best", "mean"),
                                    seeds=("seed", "count")).reset_index()


def _change(runs: pd.DataFrame, d: str, d0: float, n_lo: float, n_hi: float) -> dict:
  """Mean loss at n_lo and n_hi at D = d0 over the seeds run at both, and the change with its 95% t interval."""
  at = runs[runs[d] == d0].groupby(["seed", "N"])["loss"].mean().unstack()
  both = at[[n_lo, n_hi]].dropna()
  x = (both[n_hi] - both[n_lo]).to_numpy()
  half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
  return {"lo": float(both[n_lo].mean()), "hi": float(both[n_hi].mean()), "change": float(x.mean()),
          "change_lo": float(x.mean() - half), "change_hi": float(x.mean() + half), "seeds": len(x)}


def observations(workdir: str) -> list[dict]:
  """One row per target: the numbers of observations 5-7."""
  runs = _chosen(workdir)
  out = []
  for target, g in runs[runs["stage"].isin(["scratch", "finetune"])].groupby("target"):
    ft = g[g["stage"] == "finetune"]
    ft = ft[ft["p"] == ft["p"].max()]
    sc = _cells(g[g["stage"] == "scratch"].assign(D=lambda x: x["D_F"]), "D")
    fc = _cells(ft, "D_F")
    d0 = fc["D_F"].min()
    n_lo, n_hi = fc["N"].min(), fc["N"].max()

    row = {"study": pathlib.Path(workdir).name, "target": target, "D_F_min": d0, "N_lo": n_lo, "N_hi": n_hi}
    for arm, r in (("ft", ft), ("sc", g[g["stage"] == "scratch"])):
      row.update({f"{arm}_{k}": v for k, v in _change(r, "D_F", d0, n_lo, n_hi).items()})
    ratios, worse, at_start = [], [], 0
    for c in fc.itertuples():
      curve = sc[sc["N"] == c.N].sort_values("D")
      same = curve[curve["D"] == c.D_F]
      if len(same) and c.loss > float(same["loss"].iloc[0]):
        worse.append(f"{c.N:.0f}/{c.D_F:.0f}")
      # D_E as the reports find it (laws.transfer.interpolate_data); the compute at D_E on the same curve, log-log
      (d_e,), (flag,) = transfer.interpolate_data(curve["D"], curve["loss"], c.loss)
      if flag != "ok":
        continue
      if c.flops <= 0:  # best at step 0 in every seed: the pre-trained model itself, no fine-tuning compute
        at_start += 1
        continue
      F = np.exp(np.interp(np.log(d_e), np.log(curve["D"]), np.log(curve["flops"])))
      ratios.append(float(F / c.flops))
    row.update(cells=len(fc), compute_cells=len(ratios), compute_at_start=at_start,
               compute_below_1=int(sum(x < 1 for x in ratios)),
               compute_median=float(np.median(ratios)) if ratios else np.nan,
               compute_min=float(np.min(ratios)) if ratios else np.nan,
               compute_max=float(np.max(ratios)) if ratios else np.nan,
               ossified=len(worse), ossified_cells=" ".join(worse))
    out.append(row)
  return out


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", action="append", required=True, help="an analysed study (results/NAME)")
  p.add_argument("--csv", help="the rows as a table")
  a = p.parse_args(argv)
  rows = [r for w in a.workdir for r in observations(w)]
  for r in rows:
    print(f"{r['study']} -> {r['target']}: (5) at D_F = {r['D_F_min']:,.0f} B from N = {r['N_lo']:,.0f} to "
          f"{r['N_hi']:,.0f}: fine-tuned {r['ft_lo']:.3f} -> {r['ft_hi']:.3f} ({r['ft_change']:+.3f} "
          f"[{r['ft_change_lo']:+.3f}, {r['ft_change_hi']:+.3f}], {r['ft_seeds']} seeds), "
          f"from scratch {r['sc_lo']:.3f} -> {r['sc_hi']:.3f} ({r['sc_change']:+.3f} "
          f"[{r['sc_change_lo']:+.3f}, {r['sc_change_hi']:+.3f}], {r['sc_seeds']} seeds) nats/byte; "
          f"(6) from-scratch compute / fine-tuned compute to the same loss: median {r['compute_median']:.3g}x "
          f"[{r['compute_min']:.3g}, {r['compute_max']:.3g}] over {r['compute_cells']} of {r['cells']} cells"
          + (f" ({r['compute_at_start']} more at step 0)" if r["compute_at_start"] else "")
          + (f", below 1 in {r['compute_below_1']}" if r["compute_below_1"] else "") + "; "
          f"(7) fine-tuned worse than from scratch in {r['ossified']} of {r['cells']} cells"
          + (f" ({r['ossified_cells']})" if r["ossified"] else ""))
  if a.csv:
    pd.DataFrame(rows).to_csv(a.csv, index=False)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
