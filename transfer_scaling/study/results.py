"""Run records -> one pandas table, one row per run.

loss is the reported loss: the test-split loss of the run's best parameters (nats/byte);
valid_loss is the validation loss that chose them. D_F in bytes, p in pre-training steps.
no_gain: a fine-tuned run whose best validation loss was at step 0, before any fine-tuning step
(its loss is the pre-trained model's): an outcome, "fine-tuning did not help", not a failure.
"""
import math

import pandas as pd

from transfer_scaling.study import arms, workdir as workdir_lib

COLUMNS = ["study", "stage", "source", "target", "size", "N", "D_F", "init", "p", "seed", "lr", "warmup", "loss",
           "valid_loss", "best_step", "steps", "budget", "tokens", "flops", "wall_s", "status", "no_gain", "id",
           "tunes", "pretrain_seed", "ensemble"]
NO_GAIN = "no_gain"  # a record's outcome when fine-tuning did not help (its best step is 0)
ORDER = arms.ORDER


def damaged(r: dict) -> str:
  """Why a record cannot be used although it says it finished (a loss that is not a finite number, an
  unknown stage), or ''. Such a record is a failed run of the table, so it is listed and never fitted."""
  if r["stage"] not in ORDER:
    return f"unknown stage {r['stage']!r}"
  if r["status"] in ("done", "cut_off"):
    for key in ("test_loss", "valid_loss"):
      v = r.get(key, r.get("best_loss"))
      if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return f"{r['status']} but {key} is {v!r}"
  return ""


def frame(records) -> pd.DataFrame:
  """The table of an iterable of records (dicts as written by the sweep); damaged ones have a failed status."""
  rows = []
  for r in records:
    why = damaged(r)
    if why:
      r = {**r, "status": f"failed: damaged record ({why}); delete runs/{r['id']}.json and rerun the sweep to train "
                          "it again"}
    run = r.get("run", {})
    run = run if isinstance(run, dict) else {}
    rows.append({"study": r["study"], "stage": r["stage"], "source": r["source"], "target": r["target"],
                 "size": r["size"], "N": r["N"], "D_F": r["d_f"], "init": r["init"], "p": r["p"], "seed": r["seed"],
                 "lr": run.get("lr"), "warmup": run.get("warmup", 0),
                 # Records without a validation split have one loss, best_loss.
                 "loss": r.get("test_loss", r.get("best_loss")), "valid_loss": r.get("valid_loss", r.get("best_loss")),
                 "best_step": r["best_step"], "steps": r.get("steps"),
                 "budget": r.get("budget"), "tokens": r["tokens"], "flops": r["flops"], "wall_s": r["wall_s"],
                 "status": r["status"], "no_gain": _no_gain(r), "id": r["id"],
                 # False: trained at the setting its cell chose on other seeds, so not part of that choice
                 "tunes": not run.get("follows"), "pretrain_seed": r.get("pretrain_seed"),
                 # the ensemble it trained in: wall_s is the ensemble's, shared by its members
                 "ensemble": r.get("group", "")})
  df = pd.DataFrame(rows, columns=COLUMNS)
  for c in ("loss", "valid_loss"):
    df[c] = pd.to_numeric(df[c], errors="coerce")
  df["D_F"], df["p"] = df["D_F"].astype("Int64"), df["p"].astype("Int64")
  return order(df)


def _no_gain(r: dict) -> bool:
  # Records before the outcome field say it through their best step.
  arm = next((a for a in arms.ARMS if a.name == r["stage"]), None)
  tuned_from_pretrained = arm is not None and arm.trains and arm.init == "pretrained"
  return r.get("outcome") == NO_GAIN or (tuned_from_pretrained and not r["status"].startswith("failed")
                                         and r.get("best_step") == 0 and r.get("steps", 0) > 0)


def order(df: pd.DataFrame) -> pd.DataFrame:
  """The table's row order (a study's and a runs file's alike, so both analyses see the runs in one order)."""
  df = df.assign(_o=df["stage"].map(ORDER)).sort_values(["_o", "target", "N", "init", "D_F", "seed", "lr", "id"],
                                                        kind="stable", na_position="first")
  return df.drop(columns="_o").reset_index(drop=True)


def table(workdir) -> pd.DataFrame:
  """Every run recorded in `workdir`."""
  return frame(workdir_lib.read_records(workdir).values())


def ok(df: pd.DataFrame) -> pd.DataFrame:
  """The runs that finished with a finite loss (failed ones are listed by the report instead)."""
  return df[~df["status"].str.startswith("failed") & df["loss"].notna()]
