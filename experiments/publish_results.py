"""Copy a finished study's run records into results/NAME and re-analyse them there.

  python -m experiments.publish_results --workdir runs/quickstart --name quickstart

Only the records of the runs the study's plan defines are copied (a workdir may hold records
of earlier config versions), with study.json, the plan (plan.json) and each ensemble's throughput.json (for the
report's throughput section), so results/NAME can be re-analysed without retraining:
`transfer-scaling analyze --workdir results/NAME`. Checkpoints stay behind.
"""
import argparse
import json
import os
import shutil

from transfer_scaling.report import markdown, workdir_report
from transfer_scaling.study import plan as plan_lib, runner, workdir as workdir_lib
from transfer_scaling.study.config import StudyConfig


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True)
  p.add_argument("--name", required=True)
  p.add_argument("--results", default="results")
  p.add_argument("--copy-report", action="store_true",
                 help="copy the workdir's report, figures, tables and fits (written by analyze there) "
                      "instead of analysing again")
  args = p.parse_args(argv)
  meta = json.load(open(os.path.join(args.workdir, "study.json")))
  cfg = StudyConfig.from_dict(meta["config"])
  records = workdir_lib.read_records(args.workdir)
  train_bytes = {k: v["train"] for k, v in meta["corpora"]["sizes"].items()}
  plan = plan_lib.make_plan(cfg, meta["corpora"]["hashes"], train_bytes, records)
  wanted = {r.id for r in plan.runs} & set(records)
  out = os.path.join(args.results, args.name)
  shutil.rmtree(out, ignore_errors=True)
  os.makedirs(os.path.join(out, "runs"))
  shutil.copy(os.path.join(args.workdir, "study.json"), out)
  for rid in sorted(wanted):
    shutil.copy(os.path.join(args.workdir, "runs", f"{rid}.json"), os.path.join(out, "runs"))
  groups = os.path.join(args.workdir, "groups")
  for g in sorted(os.listdir(groups)) if os.path.isdir(groups) else []:
    t = os.path.join(groups, g, "throughput.json")
    if os.path.exists(t):
      os.makedirs(os.path.join(out, "groups", g))
      shutil.copy(t, os.path.join(out, "groups", g))
  runner.write_plan(cfg, plan, out)  # what the analysis reads of the plan, as the sweep writes it
  print(f"{len(wanted)} of {len(plan.runs)} runs copied to {out}")
  if args.copy_report:
    for name in os.listdir(args.workdir):
      src = os.path.join(args.workdir, name)
      if name in ("figures", "fits"):
        shutil.copytree(src, os.path.join(out, name))
      elif name == "report.md" or name.endswith(".csv"):
        shutil.copy(src, out)
    return 0
  print(markdown.headline(workdir_report.write(out)))
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
