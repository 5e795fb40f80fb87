"""A study workdir on disk (a local path or any filesystem etils reaches, e.g. gs://).

  study.json           the config of the last sweep started here (analysis reads it)
  runs/<run_id>.json   one record per finished run, written atomically; its presence means "done"
  groups/<group_id>/   the engine's workdir of one ensemble: checkpoints, metrics, best params,
                       throughput.json (tokens/s and MFU of that ensemble)
"""
import json
import os
import uuid

from etils import epath

from transfer_scaling import fileio


def _is_local(path: str) -> bool:
  return "://" not in str(path)


def write_json(path: str, obj) -> None:
  """Atomic: a reader sees the old file or the whole new one (rename within one directory)."""
  if _is_local(path):
    fileio.write_json_atomic(path, obj)
    return
  p = epath.Path(path)
  p.parent.mkdir(parents=True, exist_ok=True)
  tmp = p.parent / f".tmp-{uuid.uuid4().hex}-{p.name}"
  tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=fileio._jsonable) + "\n")
  tmp.rename(p)


def read_json(path: str):
  return json.loads(epath.Path(path).read_text())


def record_path(workdir: str, run_id: str) -> str:
  return os.path.join(workdir, "runs", f"{run_id}.json")


def group_dir(workdir: str, group_id: str) -> str:
  return os.path.join(workdir, "groups", group_id)


def has_record(workdir: str, run_id: str) -> bool:
  return epath.Path(record_path(workdir, run_id)).exists()


def read_record(workdir: str, run_id: str) -> dict:
  return read_json(record_path(workdir, run_id))


def read_records(workdir: str) -> list:
  """Every run record in the workdir (temporary files of unfinished writes are skipped)."""
  d = epath.Path(workdir) / "runs"
  if not d.exists():
    return []
  return [json.loads(p.read_text()) for p in sorted(d.glob("*.json")) if not p.name.startswith(".")]
