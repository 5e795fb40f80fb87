"""`transfer-scaling analyze --workdir W [--runs FILE --units U]`: fit the laws and write W/report.md with figures.

Writes report.md (captions, the joint fit with bootstrap and profile intervals and what the
grid does not determine, the held-out-size check, the transfer-gap law, runs left out and
why), figures/ (PNG and SVG), results.csv, effective_data_<target>.csv and fits/<target>.json
(read by `transfer-scaling advise`). Needs no corpora and no training: only W's records.

With --runs FILE, the runs come from a CSV or JSON-lines file of runs trained anywhere
(docs/runs_format.md) instead, and the same report is written to W; --units says what D counts.
"""
import argparse
import sys

from transfer_scaling import fileio


def main(argv) -> int:
  p = argparse.ArgumentParser(prog="transfer-scaling analyze", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True)
  from transfer_scaling.report import runs_file
  runs_file.add_arguments(p)
  args = p.parse_args(argv)
  fileio.check_given(args.workdir, "--workdir")
  fileio.check_writable_dir(args.workdir)
  from transfer_scaling.report import markdown, workdir_report
  from transfer_scaling.study import runner
  runs = runs_file.from_args(args)  # every row checked before anything is written
  runner.compilation_cache()  # the fits compile once per machine, not once per analysis
  if not runs:
    from transfer_scaling.study import legacy
    legacy.ensure_plan(args.workdir)
  result = runs_file.write_workdir(args.workdir, *runs) if runs else workdir_report.write(args.workdir)
  print(markdown.headline(result))
  print(f"report: {fileio.path(args.workdir) / 'report.md'}", file=sys.stderr)
  return 0
