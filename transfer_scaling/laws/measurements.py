"""Loading and checking measurements: every value a law sees is finite and positive."""
import csv
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
  if os.path.isdir(path):
    raise UsageError(f"{path} is a folder; pass a CSV file to --csv")
  try:
    df = pd.read_csv(path)
    with open(path, newline="") as f:
      header = next(csv.reader(f), [])
  except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
    raise UsageError(f"cannot read {path} as CSV ({str(e).splitlines()[0]}); "
                     "write one header line and comma-separated numbers")
  dup = sorted({c.strip() for c in header if [h.strip() for h in header].count(c.strip()) > 1})
  if dup:
    raise UsageError(f"{path}: column(s) {', '.join(dup)} appear more than once in the header; keep one of each")
  df.attrs["csv"] = path  # check_columns names CSV lines only for what came from a CSV
  # A row repeated exactly is one measurement counted twice: it would shrink every standard error.
  copies = np.flatnonzero(df.duplicated(keep="first").to_numpy())
  if len(copies):
    first = df.iloc[:copies[0]][(df.iloc[:copies[0]] == df.iloc[copies[0]]).all(axis=1)].index[0]
    lines = ", ".join(str(i + 2) for i in copies[:10]) + (f" (and {len(copies) - 10} more)" if len(copies) > 10 else "")
    raise UsageError(f"{path}: {len(copies)} row(s) repeat an earlier row exactly, on CSV line(s) {lines} (line "
                     f"{copies[0] + 2} = line {int(first) + 2}); a measurement counted twice shrinks the standard "
                     "errors: remove the copies (distinct runs with equal values need a column that tells them apart, "
                     "e.g. seed)")
  return df


def drop_highest_rows(df: pd.DataFrame, column: str, k: int) -> pd.DataFrame:
  """df without its k rows of largest `column` (the Chinchilla replication drops the 5 highest losses)."""
  if k < 0 or k >= len(df):
    raise UsageError(f"--drop-highest {k} must be between 0 and the number of rows minus one ({len(df) - 1})")
  if column not in df.columns:
    raise UsageError(f"cannot drop highest rows: no column {column!r}; columns are {', '.join(map(str, df.columns))}")
  keep = df[column].rank(method="first", ascending=False) > k
  return df[keep]


def check_columns(df, columns, what: str, min_rows: int = 1, linear=()) -> pd.DataFrame:
  """df[columns] as float64, or a UsageError naming the missing column or the first bad row.

  Values must be positive and finite (laws see their logarithms), except in `linear`
  columns (indicators such as `pretrained`), which must be finite.
  """
  if not isinstance(df, pd.DataFrame):
    df = pd.DataFrame(df)
  dup = sorted({str(c) for c in df.columns if list(df.columns).count(c) > 1})
  if dup:
    raise UsageError(f"{what}: column(s) {', '.join(dup)} appear more than once; keep one of each")
  missing = [c for c in columns if c not in df.columns]
  if missing:
    raise UsageError(f"{what} needs columns {', '.join(columns)}; missing {', '.join(missing)} "
                     f"(found: {', '.join(map(str, df.columns)) or 'none'}); rename or add them")
  out = pd.DataFrame(index=df.index)
  for c in columns:
    values = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values) | ((values <= 0) if c not in linear else False)
    if bad.any():
      i = int(np.argmax(bad))
      raw = df[c].iloc[i]
      shown = repr(raw) if isinstance(raw, str) else f"{raw}"
      need = "a finite number" if c in linear else "a positive finite number"
      label = df.index[i]
      line = f" (CSV line {label + 2})" if df.attrs.get("csv") and isinstance(label, (int, np.integer)) else ""
      raise UsageError(f"{what}: row {i + 1}{line} has {c} = {shown}; every value must be "
                       f"{need}: fix or remove that row")
    out[c] = values
  if len(out) < min_rows:
    raise UsageError(f"{what} needs at least {min_rows} rows, got {len(out)}; add measurements")
  return out
