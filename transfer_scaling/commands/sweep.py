"""`transfer-scaling sweep --config CONFIG --workdir W [--shard i/n]`: run or resume a study's runs.

Every run has a stable id; its result is one JSON record in W/runs/. Rerunning
skips finished runs and resumes unfinished ensembles from their last checkpoint.
`--shard i/n` trains only the ensembles that hash to shard i of n, so n workers
(a SLURM array, several hosts on a shared filesystem, several processes) split a
study without duplicates; `--config.a.b=value` overrides a config field.
"""
import argparse
import math
import sys

from transfer_scaling import config as config_lib
from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.study import plan


def parser(prog: str, doc: str) -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--config", required=True, help="config file or name in configs/ (e.g. quickstart)")
  p.add_argument("--workdir", required=True, help="study directory (local path or any etils/orbax filesystem)")
  return p



def dry_run(cfg, workdir, shard) -> str:
  """The plan, how many of its runs are new, and how long they should take; trains and writes nothing."""
  from transfer_scaling.study import estimate, runner, workdir as workdir_lib
  cfg, found = runner.prepare(cfg)
  records = workdir_lib.read_records(workdir)
  p = runner.current_plan(cfg, found, workdir)
  mine = [r for g in plan.owned(p.groups, shard) for r in g.runs]
  new = [r for r in mine if r.id not in records]
  rates = estimate.measured(workdir)
  est = estimate.estimate(new, rates)
  # the rounds factor only scales a plan still open to rounds, so it is the stored one: no first-round plan needed
  hist = estimate.history(p.runs, records, rates, base=estimate.default(cfg))
  lines = [plan.summary(p.groups),
           f"shard {shard[0]}/{shard[1]}: {len(mine)} runs"
           + ("" if p.settled else " so far (learning-rate and bracketing rounds may add runs as results come in)")
           + f"; {len(new)} new, {len(mine) - len(new)} with records in {workdir} already"]
  if new:
    lines.append(f"estimated time: about {estimate.duration(est.expected(hist, rounds=not p.settled))} for the "
                 f"{len(new)} new runs" + ("" if p.settled else " and the runs later rounds add")
                 + f" ({estimate.duration(est.seconds)} at their first step budgets, from {est.source}; scaled as "
                 f"the runs of {hist.source} went)")
  return "\n".join(lines)


def main(argv) -> int:
  overrides, rest = config_lib.split_config_args(argv)
  p = parser("transfer-scaling sweep", __doc__)
  p.add_argument("--shard", default="0/1", help="i/n: train only this worker's share of the ensembles")
  p.add_argument("--dry-run", action="store_true", help="validate and print the plan; train nothing")
  p.add_argument("--poll", type=float, default=5.0, help="seconds between checks for another shard's pre-training")
  from transfer_scaling.train import mesh
  mesh.add_cpu_devices_flag(p)
  args = p.parse_args(rest)
  fileio.check_given(args.workdir, "--workdir")
  from transfer_scaling.study.config import StudyConfig
  cfg = StudyConfig.from_dict(config_lib.load_config(args.config, overrides))  # every field checked here
  shard = plan.parse_shard(args.shard)
  if not (args.poll > 0 and math.isfinite(args.poll)):
    raise UsageError(f"--poll {args.poll} must be a positive finite number of seconds, e.g. --poll 5")
  from transfer_scaling.study import workdir as workdir_lib
  mesh.use_cpu_cores(workdir_lib.cpu_devices(args.workdir, args.cpu_devices), cfg.batch_size)
  from transfer_scaling.study import runner
  if args.dry_run:
    print(dry_run(cfg, args.workdir, shard))
    return 0
  config = cfg
  counts = runner.sweep(config, args.workdir, shard=shard, poll_s=args.poll)
  print(f"sweep done: {counts['runs']} runs in {counts['groups']} ensembles this time, {counts['failed']} failed; "
        f"records in {args.workdir}/runs", file=sys.stderr)
  return 0
