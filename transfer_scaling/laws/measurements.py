"""Loading and checking measurements: every value a law sees is finite and positive."""
import os

import numpy as np
import pandas as pd

from transfer_scaling.errors import UsageError

_DATA = os.path.join(os.path.dirname(__file__), "data")


def chinchilla_data(drop_highest: int = 5) -> pd.DataFrame:
  """The 245 Chinchilla runs extracted by Epoch AI (N, D, loss), minus the `drop_highest` highest losses."""
  df = pd.read_csv(os.path.join(_DATA, "chinchilla_svg_extracted.csv"))
  return drop_highest_rows(df, "loss", drop_highest)


def read_csv(path: str) -> pd.DataFrame:
  """A CSV of measurements, with a UsageError (not a traceback) when it cannot be read."""
  if not os.path.exists(path):
    raise UsageError(f"no such CSV file: {path}; pass an existing file to --csv")
  try:
    return pd.read_csv(path)
  except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
    raise UsageError(f"cannot read {path} as CSV ({str(e).splitlines()[0]}); write one header line and comma-separated numbers")


def drop_highest_rows(df: pd.DataFrame, column: str, k: int) -> pd.DataFrame:
  """df without its k rows of largest `column` (the Chinchilla replication drops the 5 highest losses)."""
  if k < 0 or k >= len(df):
    raise UsageError(f"--drop-highest {k} must be between 0 and the number of rows minus one ({len(df) - 1})")
  if column not in df.columns:
    raise UsageError(f"cannot drop highest rows: no column {column!r}; columns are {', '.join(map(str, df.columns))}")
  keep = df[column].rank(method="first", ascending=False) > k
  return df[keep]


def check_columns(df, columns, what: str, min_rows: int = 1) -> pd.DataFrame:
  """df[columns] as float64, or a UsageError naming the missing column or the first bad row."""
  if not isinstance(df, pd.DataFrame):
    df = pd.DataFrame(df)
  missing = [c for c in columns if c not in df.columns]
  if missing:
    raise UsageError(f"{what} needs columns {', '.join(columns)}; missing {', '.join(missing)} "
                     f"(found: {', '.join(map(str, df.columns)) or 'none'}); rename or add them")
  out = pd.DataFrame(index=df.index)
  for c in columns:
    values = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
      i = int(np.argmax(bad))
      raw = df[c].iloc[i]
      shown = repr(raw) if isinstance(raw, str) else f"{raw}"
      raise UsageError(f"{what}: row {i + 1} (CSV line {i + 2}) has {c} = {shown}; every value must be "
                       f"a positive finite number: fix or remove that row")
    out[c] = values
  if len(out) < min_rows:
    raise UsageError(f"{what} needs at least {min_rows} rows, got {len(out)}; add measurements")
  return out
