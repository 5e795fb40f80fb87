"""The learning-rate (and warm-up) choice per cell, on the validation loss: one rule for both arms.

A cell is one (stage, target, size, D_F, p) point. Each of its settings (lr, warm-up) was
trained with every tuning seed; the chosen setting has the lowest mean validation loss over its
tuning seeds among those with the most seeds finished (failed runs never count). Seeds that
follow the choice (trained only at the chosen setting: config.Stage.tune_seeds) take no part in it
and are among the chosen runs. The sweep's
bracketing and the analysis both read cells through `choose`, so the choice is made once,
the same way, and never on the test split.
"""
import pandas as pd

from transfer_scaling.study import arms

CELL = ["stage", "target", "size", "D_F", "p"]


def choose(df: pd.DataFrame) -> tuple:
  """(runs of the chosen settings, one row per cell saying what was chosen, its grid (lrs) and whether at a grid edge).

  df: the results table (study.results.table), failed runs included or not (they are left out).
  """
  ok = df[~df["status"].str.startswith("failed") & df["valid_loss"].notna()].copy()
  trained = ok["stage"].isin(arms.TUNED)
  fixed, ok = ok[~trained], ok[trained]
  if ok.empty:
    return fixed.reset_index(drop=True), pd.DataFrame(columns=CELL + ["lr", "warmup", "seeds", "tuned_on",
                                                                      "settings", "edge", "lrs"])
  key = ["|".join(map(str, row)) for row in ok[CELL].itertuples(index=False)]
  ok = ok.assign(_cell=key)
  # dropna=False: runs read from a file may not say their learning rate (one setting per cell).
  tunes = ok[ok["tunes"].astype(bool)] if "tunes" in ok else ok  # seeds that follow the choice take no part in it
  settings = tunes.groupby(["_cell", "lr", "warmup"], sort=True, dropna=False).agg(mean=("valid_loss", "mean"),
                                                                                 n=("seed", "count"))
  settings = settings.reset_index()
  settings["rank"] = list(zip(-settings["n"], settings["mean"], settings["lr"], settings["warmup"]))
  best = settings.loc[settings.groupby("_cell")["rank"].idxmin()]
  chosen = ok.merge(best[["_cell", "lr", "warmup"]], on=["_cell", "lr", "warmup"])
  grid = ok.groupby("_cell").agg(lrs=("lr", lambda x: sorted(set(x))), warmups=("warmup", lambda x: sorted(set(x))))
  rows = []
  for _, b in best.iterrows():
    g = grid.loc[b["_cell"]]
    edge = []
    if len(g["lrs"]) > 1 and b["lr"] in (g["lrs"][0], g["lrs"][-1]):
      edge.append("lowest lr" if b["lr"] == g["lrs"][0] else "highest lr")
    if len(g["warmups"]) > 1 and b["warmup"] in (g["warmups"][0], g["warmups"][-1]):
      edge.append("shortest warm-up" if b["warmup"] == g["warmups"][0] else "longest warm-up")
    first = ok[ok["_cell"] == b["_cell"]].iloc[0]
    seeds = int(((chosen["_cell"] == b["_cell"])).sum())
    rows.append({**{c: first[c] for c in CELL}, "lr": b["lr"], "warmup": int(b["warmup"]), "seeds": seeds,
                 "tuned_on": int(b["n"]),
                 "settings": int((settings["_cell"] == b["_cell"]).sum()), "edge": ", ".join(edge),
                 "lrs": tuple(g["lrs"])})
  out = pd.concat([fixed, chosen.drop(columns="_cell")], ignore_index=True)
  return out, pd.DataFrame(rows)

