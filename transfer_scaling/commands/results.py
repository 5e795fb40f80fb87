"""`transfer-scaling results --workdir W [--csv OUT]`: one row per run of a study.

Columns: study, stage, source, target, N (non-embedding parameters), D_F (bytes),
init (scratch or pretrained@p), seed, loss (best test loss, nats/byte), best step,
tokens seen, training FLOPs, wall time (s), status.

--csv writes the from-scratch and fine-tuned runs in the runs format (docs/runs_format.md),
which `transfer-scaling analyze --runs` reads back: a study's runs round-trip.
"""
import argparse
import sys

import pandas as pd

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.study import results


def main(argv) -> int:
  p = argparse.ArgumentParser(prog="transfer-scaling results", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True)
  p.add_argument("--csv", help="also write the runs to this CSV file, in the runs format (docs/runs_format.md)")
  args = p.parse_args(argv)
  fileio.check_given(args.workdir, "--workdir")
  if args.csv:
    fileio.check_output_file(args.csv, "--csv")
  if not fileio.path(args.workdir).is_dir():
    raise UsageError(f"--workdir {args.workdir} is not a folder; give a study workdir")
  df = results.table(args.workdir)
  if df.empty:
    raise UsageError(f"no run records in {args.workdir}/runs; run `transfer-scaling sweep --config ... "
                     f"--workdir {args.workdir}` first")
  if args.csv:
    from transfer_scaling.report import runs_file
    runs = runs_file.export(df)
    fileio.write_text_atomic(args.csv, runs.to_csv(index=False))
    print(f"wrote {len(runs)} runs to {args.csv} (the runs format; pre-training runs and zero-shot evaluations are "
          "not in it)", file=sys.stderr)
  with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_columns", None):
    print(df.drop(columns=["id"]).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
  return 0
