"""Readers of workdirs written by earlier versions: each brings one up to the current format.

A workdir swept before sweeps wrote plan.json: its plan is made again from study.json (the
config and the corpora's hashes and sizes) and the records, as those sweeps made it, and written.
A plan.json written before plans held their bracketing and learning-rate rounds gets them the
same way; its runs, settledness and sizes are kept as the sweep wrote them.
"""
import json

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError
from transfer_scaling.study import workdir as workdir_lib


def ensure_plan(workdir) -> None:
  """Writes workdir/plan.json if a study there has none, or adds the rounds an older one lacks (nothing to do for a
  runs file's workdir)."""
  path = fileio.path(workdir_lib.study_path(workdir))
  old = None
  if fileio.path(workdir_lib.plan_path(workdir)).exists():
    try:
      old = json.loads(fileio.path(workdir_lib.plan_path(workdir)).read_text())
    except ValueError:
      return  # read_plan names the damage
    if not isinstance(old, dict) or ("brackets" in old and "lrs" in old):
      return
  if not path.exists():
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
  if old is None:
    runner.write_plan(cfg, p, workdir)
  else:
    workdir_lib.write_plan(workdir, {**old, **plan.record(p)})
