"""Run records -> one pandas table, one row per run."""
import pandas as pd

from transfer_scaling.study import workdir as workdir_lib

COLUMNS = ["study", "stage", "source", "target", "size", "N", "D_F", "init", "p", "seed", "lr", "loss", "best_step",
           "steps", "tokens", "flops", "wall_s", "status", "id"]


def table(workdir: str) -> pd.DataFrame:
  """Every run recorded in `workdir`: loss is the best test loss in nats/byte; D_F in bytes."""
  rows = []
  for r in workdir_lib.read_records(workdir):
    rows.append({"study": r["study"], "stage": r["stage"], "source": r["source"], "target": r["target"],
                 "size": r["size"], "N": r["N"], "D_F": r["d_f"], "init": r["init"], "p": r["p"], "seed": r["seed"],
                 "lr": r.get("run", {}).get("lr"), "loss": r["best_loss"], "best_step": r["best_step"],
                 "steps": r.get("steps"), "tokens": r["tokens"], "flops": r["flops"],
                 "wall_s": r["wall_s"], "status": r["status"], "id": r["id"]})
  df = pd.DataFrame(rows, columns=COLUMNS)
  df["loss"] = pd.to_numeric(df["loss"], errors="coerce")
  df["D_F"], df["p"] = df["D_F"].astype("Int64"), df["p"].astype("Int64")
  order = {"pretrain": 0, "zeroshot": 1, "scratch": 2, "finetune": 3}
  df = df.assign(_o=df["stage"].map(order)).sort_values(["_o", "target", "N", "init", "D_F", "seed", "id"],
                                                         kind="stable", na_position="first")
  return df.drop(columns="_o").reset_index(drop=True)


def ok(df: pd.DataFrame) -> pd.DataFrame:
  """The runs that finished with a finite loss (failed ones are listed by the report instead)."""
  return df[~df["status"].str.startswith("failed") & df["loss"].notna()]


def best_lr(df: pd.DataFrame) -> pd.DataFrame:
  """One row per point: where a stage tried several learning rates, the run with the lowest loss.

  The choice is made on the same test loss that early stopping uses, as in the scaling-law
  papers' learning-rate sweeps; with one learning rate per stage this changes nothing.
  """
  keys = ["stage", "target", "N", "D_F", "init", "seed"]
  best = df.sort_values(["loss", "id"], kind="stable").groupby(keys, dropna=False, sort=False).head(1)
  return df.loc[df.index.isin(best.index)]
