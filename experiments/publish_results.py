"""Copy a finished study's run records into results/NAME and re-analyse them there.

  python experiments/publish_results.py --workdir runs/synthetic_distance --name synthetic_distance

Only the records the study's current config defines are copied (a workdir may hold
records of earlier config versions), so results/NAME can be re-analysed without
retraining: `transfer-scaling analyze --workdir results/NAME`.
"""
import argparse
import json
import os
import shutil

import ml_collections

from transfer_scaling.report import analysis
from transfer_scaling.study import runs as runs_lib


def main():
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True)
  p.add_argument("--name", required=True)
  p.add_argument("--results", default="results")
  args = p.parse_args()
  cfg = json.load(open(os.path.join(args.workdir, "study.json")))["config"]
  wanted = {r.id for r in runs_lib.build_runs(ml_collections.ConfigDict(cfg))}
  out = os.path.join(args.results, args.name)
  shutil.rmtree(out, ignore_errors=True)
  os.makedirs(os.path.join(out, "runs"))
  shutil.copy(os.path.join(args.workdir, "study.json"), out)
  have = [f for f in os.listdir(os.path.join(args.workdir, "runs")) if f[:-len(".json")] in wanted]
  for f in have:
    shutil.copy(os.path.join(args.workdir, "runs", f), os.path.join(out, "runs"))
  print(f"{len(have)} of {len(wanted)} runs copied to {out}")
  print(analysis.headline(analysis.analyze(out)))


if __name__ == "__main__":
  main()
