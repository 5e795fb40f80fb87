"""`transfer-scaling quickstart [--workdir W] [--config.x=y]`: English -> Python end to end.

Prepares the two corpora if they are missing, runs the sweep of configs/quickstart.py
(resuming if W already holds part of it), fits the laws, writes the report and
prints the headline numbers. The same command uses a GPU when JAX sees one.
"""
import argparse
import os
import sys
import time

from transfer_scaling import config as config_lib, fileio
from transfer_scaling.train import mesh


def main(argv) -> int:
  overrides, rest = config_lib.split_config_args(argv)
  p = argparse.ArgumentParser(prog="transfer-scaling quickstart", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", default="runs/quickstart")
  p.add_argument("--config", default="quickstart", help="config file or name in configs/")
  mesh.add_cpu_devices_flag(p)
  args = p.parse_args(rest)
  fileio.check_given(args.workdir, "--workdir")
  from transfer_scaling.study.config import StudyConfig
  config = StudyConfig.from_dict(config_lib.load_config(args.config, overrides))
  from transfer_scaling.study import workdir as workdir_lib
  mesh.use_cpu_cores(workdir_lib.cpu_devices(args.workdir, args.cpu_devices), config.batch_size)
  import jax
  from transfer_scaling.report import markdown, workdir_report
  from transfer_scaling.study import runner
  t0 = time.time()
  print(f"quickstart: {config.source} -> {', '.join(config.targets)} on {jax.devices()[0].device_kind} "
        f"({jax.device_count()} device{'s' if jax.device_count() > 1 else ''}); workdir {args.workdir}",
        file=sys.stderr)
  counts = runner.sweep(config, args.workdir)
  print(f"sweep: {counts['runs']} runs trained in {time.time() - t0:.0f} s ({counts['failed']} failed)",
        file=sys.stderr)
  t1 = time.time()
  out = workdir_report.write(args.workdir)
  print(f"analysis: {time.time() - t1:.0f} s", file=sys.stderr)
  print()
  print(markdown.headline(out))
  print(f"report: {os.path.join(args.workdir, 'report.md')}  (total {time.time() - t0:.0f} s)")
  return 0
