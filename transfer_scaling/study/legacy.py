"""Readers of workdirs written by earlier versions: each brings one up to the current format.

A workdir swept before sweeps wrote plan.json: its plan is made again from study.json (the
config and the corpora's hashes and sizes) and the records, as those sweeps made it, and written.
"""
import json

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.study import workdir as workdir_lib


def ensure_plan(workdir) -> None:
  """Writes workdir/plan.json if a study there has none (nothing to do for a runs file's workdir)."""
  path = fileio.path(workdir_lib.study_path(workdir))
  if fileio.path(workdir_lib.plan_path(workdir)).exists() or not path.exists():
    return
  try:
    meta = json.loads(path.read_text())
    corpora = meta["corpora"]
    train_bytes = {k: v["train"] for k, v in corpora["sizes"].items()}
  except (ValueError, KeyError, TypeError, AttributeError):
    return  # workdir_report.load names what is wrong with study.json
  from transfer_scaling.study import plan, runner
  try:
    cfg = workdir_lib.study_config(workdir, meta)
    p = plan.make_plan(cfg, corpora["hashes"], train_bytes, workdir_lib.read_records(workdir))
  except (UsageError, KeyError):
    return  # workdir_report.load names what is wrong with study.json or the records
  runner.write_plan(cfg, p, workdir)
