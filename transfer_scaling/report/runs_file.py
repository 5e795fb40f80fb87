"""Runs trained anywhere -> the table a study's analysis reads; a study's runs -> that file.

The runs format (docs/runs_format.md) is one row per run, CSV with a header row or JSON lines:
arm (scratch | finetune), N (non-embedding parameters), D (training data of a from-scratch run,
fine-tuning data of a fine-tuned one), seed, loss (held-out test loss), and optionally target,
p (pre-training of the checkpoint a fine-tuned run started from), status, valid_loss, lr, warmup,
size (a name for N), flops, tokens, steps, best_step and units. `load` checks every row and turns the file
into the results table of study/results.py, so that a file and a study go through one analysis
(report/analysis.analyze_table); `export` writes a study's table in this format.
"""
import csv
import dataclasses
import io
import json
import math
import os

import numpy as np
import pandas as pd

from transfer_scaling import fileio, laws
from transfer_scaling.errors import UsageError
from transfer_scaling.report import analysis
from transfer_scaling.study import arms, results
from transfer_scaling.study.config import Analysis

REQUIRED = ("arm", "N", "D", "seed", "loss")
OPTIONAL = ("target", "p", "status", "valid_loss", "lr", "warmup", "size", "flops", "tokens", "steps", "best_step",
            "units")
ARMS = (arms.REFERENCE.name, arms.TRANSFERRED.name)  # the arms a runs file may hold
UNITS = ("bytes", "tokens", "characters")
TARGET = "target"      # the target's name when the file names none
DOC = "docs/runs_format.md"
MARKER = "runs_analysis.json"  # in a workdir analysed from a runs file: its targets and units (read by advise)


def read(path) -> pd.DataFrame:
  """The rows of a CSV or JSON-lines file as strings and numbers, with the line each came from (`_line`)."""
  p = fileio.path(path)
  if not p.exists() or p.is_dir():
    raise UsageError(f"--runs {path}: no such file; give a CSV or JSON-lines file of runs ({DOC})")
  try:
    text = p.read_bytes().decode("utf-8-sig")
  except UnicodeDecodeError:
    raise UsageError(f"{path} is neither CSV nor JSON lines (it is not UTF-8 text); see {DOC}") from None
  first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
  if not first:
    raise UsageError(f"{path} is empty; give one row per run ({DOC})")
  df = _json_lines(path, text) if first.startswith("{") else _csv(path, text)
  if not set(REQUIRED) & set(df.columns):
    raise UsageError(f"{path} is neither a CSV whose header names the columns {', '.join(REQUIRED)} nor JSON lines "
                     f"(its first line is {first[:60]!r}); see {DOC}")
  missing = [c for c in REQUIRED if c not in df.columns]
  if missing:
    raise UsageError(f"{path} lacks the column(s) {', '.join(missing)}; every run needs {', '.join(REQUIRED)} ({DOC})")
  return df


def _json_lines(path, text: str) -> pd.DataFrame:
  rows = []
  for i, ln in enumerate(text.splitlines(), 1):
    if not ln.strip():
      continue
    try:
      row = json.loads(ln)
    except json.JSONDecodeError as e:
      raise UsageError(f"{path} line {i} is not JSON ({e.msg}); a JSON-lines file holds one object per line") from None
    if not isinstance(row, dict):
      raise UsageError(f"{path} line {i} is not a JSON object; a JSON-lines file holds one object per line")
    rows.append({**row, "_line": i})
  return pd.DataFrame(rows)


def _csv(path, text: str) -> pd.DataFrame:
  header = next(csv.reader(io.StringIO(text)))
  twice = sorted({c for c in header if header.count(c) > 1})
  if twice:
    raise UsageError(f"{path}: column(s) {', '.join(twice)} appear more than once in the header; keep one of each")
  try:
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
  except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
    raise UsageError(f"{path} is neither CSV nor JSON lines ({str(e).strip().splitlines()[-1]}); see {DOC}") from None
  lines = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip()][1:]  # the line of each data row
  return df.assign(_line=lines[:len(df)]) if len(lines) >= len(df) else df.assign(_line=np.arange(len(df)) + 2)


def _number(df, col: str, path, positive=True, integer=False, optional=False) -> pd.Series:
  """A column as numbers; an entry that is not one (or not positive, or not whole) is a UsageError naming its line."""
  raw = df[col] if col in df else pd.Series([None] * len(df), index=df.index)
  blank = raw.isna() | raw.astype(str).str.strip().isin(["", "nan", "NaN", "None", "null"]) & optional
  v = pd.to_numeric(raw.where(~blank), errors="coerce").astype(float)
  for line, r, x, b in zip(df["_line"], raw, v, blank):
    if b and optional:
      continue
    what = f"{path} line {line}: {col}={r!r}"
    if not math.isfinite(x):
      if col == "loss":
        raise UsageError(f"{what} is not a finite number; a run without a usable loss is a failed one: "
                         "give it status failed (it is then listed and left out)")
      raise UsageError(f"{what} is not a finite number; give {_means(col)}")
    if positive and x <= 0:
      raise UsageError(f"{what} is not positive; give {_means(col)}")
    if integer and x != round(x):
      raise UsageError(f"{what} is not a whole number; give {_means(col)}")
  return v


def _means(col: str) -> str:
  return {"N": "the positive number of non-embedding parameters", "D": "the positive amount of training data",
          "seed": "an integer seed", "loss": "the positive held-out test loss",
          "valid_loss": "the positive validation loss (or leave it empty for a failed run)",
          "p": "the positive pre-training amount of the fine-tuned run's checkpoint", "lr": "a positive learning rate",
          "warmup": "a whole number of warm-up steps",
          "best_step": "the whole number of steps at the run's best validation loss "
                       "(0: before any step)"}.get(col, "a number")


def _status(s) -> str:
  s = "" if s is None or (isinstance(s, float) and math.isnan(s)) else str(s).strip()
  if s in ("", "done", "ok"):
    return "done"
  if s.replace(" ", "_").replace("-", "_") == "cut_off":
    return "cut_off"
  return s if s.startswith("failed") else f"failed: {s}"


def _size_name(N: float) -> str:
  """13k, 4.7M: the ladder's way of naming a size."""
  for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
    if N >= div:
      return f"{N / div:.3g}{suffix}"
  return f"{N:.0f}"


def _units(df, path, units):
  given = sorted({str(u).strip() for u in df["units"] if str(u).strip() not in ("", "nan")}) if "units" in df else []
  if len(given) > 1:
    raise UsageError(f"{path} mixes units ({', '.join(given)}) in its units column; D must count one thing in every "
                     f"run: convert the runs to one of {', '.join(UNITS)}")
  if units and given and given[0] != units:
    raise UsageError(f"{path} says its units are {given[0]} but --units is {units}; give the units once, the same")
  units = units or (given[0] if given else None)
  if units is None:
    raise UsageError(f"what D counts in {path} is not declared; give --units {'|'.join(UNITS)} (or a units column)")
  if units not in UNITS:
    raise UsageError(f"units {units!r} is unknown; use one of {', '.join(UNITS)}")
  return units


def table(df: pd.DataFrame, path, units=None) -> tuple:
  """(results table with study/results.py's columns, units) of the rows `read` returned; every row checked."""
  units = _units(df, path, units)
  if df.empty:
    raise UsageError(f"{path} holds no runs; give one row per run ({DOC})")
  arm_of = df["arm"].astype(str).str.strip()
  for line, a in zip(df["_line"], arm_of):
    if a not in ARMS:
      raise UsageError(f"{path} line {line}: arm {a!r} is unknown; use scratch (trained from scratch) or finetune")
  status = [_status(s) for s in (df["status"] if "status" in df else [None] * len(df))]
  failed = pd.Series([s.startswith("failed") for s in status], index=df.index)
  N, D = _number(df, "N", path, integer=False), _number(df, "D", path)
  seed = _number(df, "seed", path, positive=False, integer=True)
  loss = _number(df[~failed], "loss", path).reindex(df.index)  # failed runs need no loss
  loss = loss.where(~failed, pd.to_numeric(df["loss"].where(failed), errors="coerce"))
  opt = lambda c, **kw: _number(df, c, path, optional=True, **kw) if c in df else pd.Series(np.nan, index=df.index)
  p, lr = opt("p"), opt("lr")
  warmup = opt("warmup", positive=False, integer=True).fillna(0).astype(int)
  best_step = opt("best_step", positive=False, integer=True)
  has_valid = "valid_loss" in df
  valid = opt("valid_loss") if has_valid else loss
  target = df["target"].astype(str).str.strip().replace({"": TARGET, "nan": TARGET}) if "target" in df \
      else pd.Series(TARGET, index=df.index)
  ft = arm_of == arms.TRANSFERRED.name
  if p[ft].notna().any() and p[ft].isna().any():
    line = df["_line"][ft & p.isna()].iloc[0]
    raise UsageError(f"{path} line {line}: a fine-tuned run without p while others give it; give every fine-tuned "
                     "run the pre-training amount p of its checkpoint, or none")
  if has_valid:
    no_valid = ~failed & valid.isna()
    if no_valid.any():
      raise UsageError(f"{path} line {df['_line'][no_valid].iloc[0]}: valid_loss is empty; give every finished run its "
                       "validation loss, or drop the column")
  sizes = _sizes(df, N, path)
  t = pd.DataFrame({"study": "", "stage": arm_of, "source": "", "target": target, "size": [sizes[n] for n in N],
                    "N": N.round().astype(int), "D_F": D.round().astype("Int64"),
                    "init": ["scratch" if a == arms.REFERENCE.name
                             else ("pretrained" if pd.isna(q) else f"pretrained@{q:.0f}")
                             for a, q in zip(arm_of, p)],
                    "p": p.where(ft).round().astype("Int64"), "seed": seed.astype(int), "lr": lr, "warmup": warmup,
                    "loss": loss, "valid_loss": valid, "best_step": best_step, "steps": opt("steps"),
                    "budget": np.nan, "tokens": opt("tokens"), "flops": opt("flops"), "wall_s": np.nan,
                    "status": status,
                    # a fine-tuned run best at step 0: fine-tuning did not help (study/results.py)
                    "no_gain": (ft & ~failed & (best_step == 0)).to_numpy(),
                    "id": [f"line {x}" for x in df["_line"]], "tunes": True, "pretrain_seed": np.nan, "ensemble": ""})
  _duplicates(t, path)
  _settings(t, path, has_valid)
  _pairs(t, path)
  return results.order(t[results.COLUMNS]), units


def _sizes(df, N, path) -> dict:
  """N -> size name: the file's `size` column, or 13k-style names (one name per N)."""
  if "size" in df and df["size"].astype(str).str.strip().ne("").all():
    names = dict(zip(N, df["size"].astype(str).str.strip()))
    pairs = set(zip(N, df["size"].astype(str).str.strip()))
    if len(pairs) != len(names) or len(set(names.values())) != len(names):
      raise UsageError(f"{path}: the size column does not name each N once (one name per N, one N per name); "
                       "fix it or drop the column")
    return names
  names = {n: _size_name(n) for n in sorted(set(N))}
  if len(set(names.values())) < len(names):
    names = {n: f"{n:.0f}" for n in names}
  return names


def _duplicates(t, path) -> None:
  key = ["stage", "target", "N", "D_F", "p", "seed", "lr", "warmup"]
  same = t.assign(_k=t[key].astype(object).where(t[key].notna(), None).apply(tuple, axis=1))
  same = same[same.duplicated("_k", keep=False)]
  if len(same):
    r = same.iloc[0]
    a, b = same[same["_k"] == r["_k"]]["id"].iloc[:2]
    raise UsageError(f"{path}: {a} and {b} are the same run (arm {r['stage']}, target {r['target']}, N {r['N']}, "
                     f"D {r['D_F']}, seed {r['seed']}); remove one, or tell them apart by seed, p or lr")


def _settings(t, path, has_valid: bool) -> None:
  """Several learning rates in a cell are chosen on validation; without valid_loss that would read the test loss."""
  if has_valid:
    return
  n = t.groupby(["stage", "target", "N", "D_F", "p"], dropna=False)[["lr", "warmup"]].nunique(dropna=False)
  many = n[(n["lr"] > 1) | (n["warmup"] > 1)]
  if len(many):
    stage, target, N, D, _ = many.index[0]
    raise UsageError(f"{path}: the {stage} runs of {target} at N {N}, D {D} come at several learning rates "
                     "but the file has no valid_loss to choose among them; "
                     "add valid_loss, or keep only the chosen runs")


def _pairs(t, path) -> None:
  """Every fine-tuned size needs a from-scratch curve of that size: D_E is read off it."""
  ok = t[t["status"] == "done"]
  if not (t["stage"] == arms.TRANSFERRED.name).any():
    raise UsageError(f"{path} has no fine-tuned runs (arm finetune); the transfer is measured against them")
  for target, g in ok.groupby("target"):
    sc = set(g[g["stage"] == arms.REFERENCE.name]["N"])
    for n in sorted(set(g[g["stage"] == arms.TRANSFERRED.name]["N"]) - sc):
      raise UsageError(f"{path}: the fine-tuned runs of target {target!r} at N = {n:,} have no finished from-scratch "
                       f"runs of that size; D_E is read off each size's from-scratch curve: add from-scratch runs at "
                       f"N = {n:,} or remove those fine-tuned runs")


def setting(t: pd.DataFrame, name: str, units: str, origin: str, **analysis_options) -> analysis.Setting:
  """The analysis setting of a runs file's table: its sizes, the fine-tuned checkpoint, the gap grid, the
  reference point."""
  for k in analysis_options:
    if k not in {f.name for f in dataclasses.fields(Analysis)} - {"example_size"}:
      raise UsageError(f"unknown analysis option {k!r}")
  for role in ("scratch", "transfer", "gap"):
    laws.registry.check_role(analysis_options.get(f"{role}_law", getattr(Analysis, f"{role}_law")), role,
                             f"--{role}-law")
  ok = t[t["status"] == "done"]
  ft = ok[ok["stage"] == arms.TRANSFERRED.name]
  sizes = dict(sorted(zip(t["size"], t["N"]), key=lambda kv: kv[1]))
  ft_sizes = sorted(set(ft["N"])) or sorted(sizes.values())
  n_ex = ft_sizes[(len(ft_sizes) - 1) // 2]  # the reference point: a middle measured size and D_F
  d_fs = sorted(set(ft["D_F"].dropna().astype(int))) or [1]
  a = Analysis(**{"example_size": next(s for s, n in sizes.items() if n == n_ex),
                  "example_d_f": int(d_fs[(len(d_fs) - 1) // 2]), **analysis_options})
  last = ft["p"].max() if ft["p"].notna().any() else None
  per_size = ft.dropna(subset=["p"]).groupby("size")["p"].nunique()
  gap = per_size[per_size >= 2].sort_values(kind="stable").index[-1] if (per_size >= 2).any() else None
  targets = tuple(dict.fromkeys(t["target"]))
  return analysis.Setting(study=name, source="pre-trained", targets=targets,
                          sizes={k: int(v) for k, v in sizes.items()},
                          analysis=a, last_p=None if last is None else int(last), gap_size=gap, units=units,
                          origin=origin)


def load(path, units=None, name=None, **analysis_options) -> tuple:
  """(Setting, table) of the runs in `path`; analysis_options: fields of study.config.Analysis (bootstrap, ...)."""
  t, units = table(read(path), path, units)
  name = name or os.path.splitext(os.path.basename(str(path)))[0]
  t["study"] = name
  return setting(t, name, units, f"`{os.path.basename(str(path))}` ({len(t)} runs)", **analysis_options), t


def analyze(path, units=None, name=None, **analysis_options) -> analysis.StudyResult:
  """The analysis of the runs in `path`: what `transfer-scaling analyze --runs` reports."""
  return analysis.analyze_table(*load(path, units, name, **analysis_options))


def write(path, workdir, units=None, name=None, **analysis_options) -> analysis.StudyResult:
  """Analyses the runs in `path` and writes the report, tables and fits to `workdir`, as for a study."""
  return write_workdir(workdir, *load(path, units, name, **analysis_options))


def write_workdir(workdir, setting_, t) -> analysis.StudyResult:
  from transfer_scaling.report import workdir_report
  from transfer_scaling.study import workdir as workdir_lib
  if fileio.path(workdir_lib.study_path(workdir)).exists():
    raise UsageError(f"{workdir} holds a study (study.json); write the analysis of a runs file to another --workdir")
  result = workdir_report.write(workdir, analysis.analyze_table(setting_, t))
  fileio.write_json_atomic(fileio.path(workdir) / MARKER, {"runs": setting_.origin, "units": setting_.units,
                                                           "targets": list(setting_.targets), "sizes": setting_.sizes})
  return result


def targets(workdir):
  """The targets of the runs file analysed into `workdir`, or None where none was."""
  marker = fileio.path(workdir) / MARKER
  return json.loads(marker.read_text())["targets"] if marker.exists() else None


def add_arguments(p) -> None:
  """`analyze`'s options for a runs file (a study's come from its config)."""
  g = p.add_argument_group("runs trained anywhere (docs/runs_format.md)")
  g.add_argument("--runs", help="a CSV or JSON-lines file with one row per run; the report goes to --workdir")
  g.add_argument("--units", choices=UNITS, help="what D counts in --runs (or the file's units column)")
  g.add_argument("--name", help="the name in the report's title (default: the file's name)")
  g.add_argument("--bootstrap", type=int, help=f"bootstrap replicates (default {Analysis.bootstrap})")
  g.add_argument("--scratch-law", choices=laws.registry.role_names("scratch"),
                 help=f"the from-scratch form of the joint fit, or average over them (default {Analysis.scratch_law})")
  g.add_argument("--cost-ratio", type=float, help="pre-training amount (units of p) that costs as much as one unit "
                 f"of fine-tuning data (default {Analysis.cost_ratio})")
  g.add_argument("--low-data-max-d-f", type=int, help="the largest D_F of the joint fit's low-data regime "
                 "(default: from the fitted from-scratch law)")


def from_args(args):
  """(Setting, table) of --runs, or None without it; the options of a runs file without --runs are refused."""
  names = ("units", "name", "bootstrap", "scratch_law", "cost_ratio", "low_data_max_d_f")
  given = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
  if not args.runs:
    if given:
      flags = ", ".join("--" + k.replace("_", "-") for k in given)
      raise UsageError(f"{flags} describe(s) a runs file; give --runs FILE with them (a study's analysis options are "
                       "in its config, config.analysis)")
    return None
  opts = {k: given.pop(k) for k in names[2:] if k in given}
  if opts.get("bootstrap", 0) < 0 or opts.get("low_data_max_d_f", 0) < 0:
    raise UsageError("--bootstrap and --low-data-max-d-f must be >= 0")
  if not (math.isfinite(opts.get("cost_ratio", 1.0)) and opts.get("cost_ratio", 1.0) > 0):
    raise UsageError(f"--cost-ratio must be a positive finite number, got {opts['cost_ratio']}")
  return load(args.runs, args.units, args.name, **opts)


EXPORT = ["arm", "target", "size", "N", "D", "p", "seed", "lr", "warmup", "loss", "valid_loss", "status", "steps",
          "best_step", "tokens", "flops", "units"]


def export(t: pd.DataFrame, units: str = "bytes") -> pd.DataFrame:
  """A study's results table (study/results.py) in the runs format: its from-scratch and fine-tuned runs."""
  runs = t[t["stage"].isin(ARMS)]
  out = pd.DataFrame({"arm": runs["stage"], "target": runs["target"], "size": runs["size"], "N": runs["N"],
                      "D": runs["D_F"], "p": runs["p"], "seed": runs["seed"], "lr": runs["lr"],
                      "warmup": runs["warmup"], "loss": runs["loss"], "valid_loss": runs["valid_loss"],
                      "status": runs["status"], "steps": runs["steps"], "best_step": runs["best_step"],
                      "tokens": runs["tokens"],
                      "flops": runs["flops"], "units": units})
  return out[EXPORT].reset_index(drop=True)
