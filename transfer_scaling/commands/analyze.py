"""`transfer-scaling analyze --workdir W`: fit the laws to a study and write W/report.md with figures.

Writes report.md (captions, fitted parameters with bootstrap intervals, runs left
out and why), figures/ (PNG and SVG), results.csv and effective_data_<target>.csv.
"""
import argparse
import os

from transfer_scaling.report import analysis


def main(argv) -> int:
  p = argparse.ArgumentParser(prog="transfer-scaling analyze", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True)
  args = p.parse_args(argv)
  out = analysis.analyze(args.workdir)
  print(analysis.headline(out))
  print(f"report: {os.path.join(args.workdir, 'report.md')}")
  return 0
