"""A study workdir, on a local disk or any filesystem etils reaches (gs://...).

  study.json           the config of the study (written once a sweep has validated it)
  devices.json         the device layout every run of the study trains on (see `cpu_devices`)
  plan.json            the runs the sweep planned, whether more may come, N of every size:
                       what the analysis reads (it never plans again)
  runs/<run_id>.json   one record per finished run, written atomically; its presence means "done"
  groups/<group_id>/   the engine's workdir of one ensemble: checkpoints, metrics, best params,
                       throughput.json; claim.json while a worker trains it
  report.md, figures/  written by analyze
"""
import json
import os
import socket
import threading
import time

from transfer_scaling import fileio
from transfer_scaling.errors import UsageError


def study_path(workdir) -> str:
  return str(fileio.path(workdir) / "study.json")


def plan_path(workdir) -> str:
  return str(fileio.path(workdir) / "plan.json")


def read_plan(workdir) -> dict:
  """The plan the last sweep wrote: {"runs": [ids], "settled": bool, "sizes": {name: N}, "brackets": [...],
  "lrs": [...]} (plan.record's rows; None in a plan.json written before they were, until legacy.ensure_plan
  adds them)."""
  p = fileio.path(plan_path(workdir))
  if not p.exists():
    raise UsageError(f"{workdir} has no plan.json (sweeps write it since this version); run "
                     f"`transfer-scaling analyze --workdir {workdir}` once, which writes it from study.json")
  try:
    d = json.loads(p.read_text())
    return {"runs": [str(r) for r in d["runs"]], "settled": bool(d["settled"]),
            "sizes": {str(k): int(v) for k, v in d["sizes"].items()},
            "brackets": _rows(d.get("brackets")), "lrs": _rows(d.get("lrs"))}
  except (ValueError, KeyError, TypeError, AttributeError) as e:
    raise UsageError(f"{p} is damaged ({type(e).__name__}); delete it and run `transfer-scaling sweep` (or "
                     f"`analyze`) with the study's config there to write it again") from None


def _rows(rows):
  if rows is None:
    return None
  if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
    raise TypeError("not a list of rows")
  return rows


def write_plan(workdir, plan: dict) -> None:
  fileio.write_json_atomic(plan_path(workdir), plan)


def devices_path(workdir) -> str:
  return str(fileio.path(workdir) / "devices.json")


def pinned_devices(workdir) -> dict | None:
  """The layout the study's first sweep trained on, {"backend": ..., "devices": n}, or None."""
  p = fileio.path(devices_path(workdir))
  if not p.exists():
    return None
  try:
    d = json.loads(p.read_text())
    return {"backend": str(d["backend"]), "devices": int(d["devices"])}
  except (ValueError, KeyError, TypeError) as e:
    raise UsageError(f"{p} is damaged ({type(e).__name__}); write back the backend and device count the study "
                     f"started on, e.g. {{\"backend\": \"cpu\", \"devices\": 2}}") from None


def cpu_devices(workdir, asked: int) -> int:
  """The CPU device count for a sweep of workdir: the one it started on, unless none is pinned yet.

  XLA compiles a step for the devices it spans, and how it fuses the step (so the last bits of
  every loss) can change with their number; a study therefore keeps the count it started with
  on every machine, whatever its core count.
  """
  pin = pinned_devices(workdir)
  if pin is None or pin["backend"] != "cpu":
    return asked
  if asked and asked != pin["devices"]:
    raise UsageError(f"{workdir} was started on {pin['devices']} CPU devices and its runs are only reproducible "
                     f"there; drop --cpu-devices {asked} (or give {pin['devices']}), or use a new workdir")
  return pin["devices"]


def pin_devices(workdir, current: dict) -> None:
  """Records the study's layout on its first sweep; refuses a later sweep on another one."""
  pin = pinned_devices(workdir)
  if pin is None:
    fileio.write_json_atomic(devices_path(workdir), current)
  elif pin != current:
    fix = (f"--cpu-devices {pin['devices']}" if pin["backend"] == "cpu" else
           f"{pin['devices']} {pin['backend']} device{'s' if pin['devices'] > 1 else ''}")
    raise UsageError(f"{workdir} was started on {pin['devices']} {pin['backend']} device(s), this process has "
                     f"{current['devices']} {current['backend']} device(s), and a run's result depends on the "
                     f"layout; resume it with {fix}, or use a new workdir")


def record_path(workdir, run_id: str) -> str:
  return str(fileio.path(workdir) / "runs" / f"{run_id}.json")


def group_dir(workdir, group_id: str) -> str:
  return str(fileio.path(workdir) / "groups" / group_id)


ORPHAN_AGE_S = 60.0  # no atomic write takes this long; a temporary file this old was left by a killed writer


def clear_unfinished_writes(workdir) -> list:
  """Removes the temporary files (.tmp-*) that a writer killed mid-write left in workdir and runs/.

  Only local ones (a bucket gets whole objects, no temporary files) older than ORPHAN_AGE_S, so a
  write another worker has in flight is never touched. Returns the paths removed.
  """
  if fileio.is_remote(workdir):
    return []
  gone = []
  for d in (fileio.path(workdir), fileio.path(workdir) / "runs"):
    for p in sorted(d.glob(".tmp-*")) if d.exists() else []:
      try:
        if time.time() - os.path.getmtime(str(p)) > ORPHAN_AGE_S:
          os.remove(str(p))
          gone.append(str(p))
      except OSError:
        pass
  return gone


def write_record(workdir, record: dict) -> None:
  fileio.write_json_atomic(record_path(workdir, record["id"]), record)


def has_record(workdir, run_id: str) -> bool:
  return fileio.path(record_path(workdir, run_id)).exists()


def read_record(workdir, run_id: str) -> dict:
  return _record_at(fileio.path(record_path(workdir, run_id)))


def read_records(workdir) -> dict:
  """run id -> record, for every record in the workdir (temporary files of unfinished writes skipped).

  A damaged record (truncated, empty, not a record) is a UsageError naming the file: read silently it
  would vanish from the study or crash a later step with a traceback.
  """
  d = fileio.path(workdir) / "runs"
  if not d.exists():
    return {}
  out = {}
  for p in sorted(d.glob("*.json")):
    if not p.name.startswith("."):
      out[p.name[:-len(".json")]] = _record_at(p)
  return out


# What every reader of a record takes for granted (results.frame, the plan, the runner).
RECORD_KEYS = ("id", "study", "stage", "source", "target", "size", "N", "d_f", "init", "p", "seed", "best_step",
               "tokens", "flops", "wall_s", "status")


def _record_at(p) -> dict:
  fix = "delete it and rerun `transfer-scaling sweep` with the study's config (that run is trained again)"
  rec = fileio.read_json_checked(p, fix)
  if not isinstance(rec, dict):
    raise UsageError(f"{p} is damaged (it holds a {type(rec).__name__}, not a run record); {fix}")
  missing = [k for k in RECORD_KEYS if k not in rec]
  if missing or not isinstance(rec["status"], str):
    raise UsageError(f"{p} is damaged (no {', '.join(missing) or 'status text'}); {fix}")
  return rec


def read_study(workdir) -> dict:
  """study.json of `workdir` ({"config", "study", "corpora"}); a UsageError naming the fix if it is missing or
  damaged."""
  p = fileio.path(study_path(workdir))
  if not p.exists():
    raise UsageError(f"{workdir} holds no study (no study.json); run `transfer-scaling sweep` there first")
  fix = (f"rerun `transfer-scaling sweep --config CONFIG --workdir {workdir}` with the study's config to write it "
         "again (finished runs are kept)")
  meta = fileio.read_json_checked(p, fix)
  if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
    raise UsageError(f"{p} is damaged (no config section); {fix}")
  return meta


def study_config(workdir, meta: dict):
  """The typed config in study.json, checked against the corpora the sweep recorded with it.

  study.json is written by the sweep; an edited one (a target it never trained on) would send the
  analysis looking for corpus hashes that are not there.
  """
  from transfer_scaling.study.config import StudyConfig
  p = study_path(workdir)
  fix = (f"restore it, or rerun `transfer-scaling sweep --config CONFIG --workdir {workdir}` with the config you "
         "want (finished runs are kept)")
  try:
    cfg = StudyConfig.from_dict(meta["config"])
  except UsageError as e:
    raise UsageError(f"{p}: {e} (was it edited? {fix})") from None
  corpora = meta.get("corpora")
  if not isinstance(corpora, dict):
    return cfg
  known = corpora.get("hashes") or {}
  sizes = corpora.get("sizes") or {}
  missing = [c for c in (cfg.source,) + tuple(cfg.targets) if c not in known or c not in sizes]
  if missing:
    raise UsageError(f"{p} names corpus {', '.join(map(repr, missing))}, which its sweep never prepared (it recorded "
                     f"{', '.join(sorted(known)) or 'none'}): was it edited? {fix}")
  return cfg


# Claims: one worker per ensemble, also when two are started on the same shard by mistake.

CLAIM_STALE_S = 600.0   # a claim not renewed for this long is abandoned (its holder died on another host)
CLAIM_RENEW_S = 30.0


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


class Claim:
  """Holds groups/<id>/claim.json while this process trains the group; renews it in a thread."""

  def __init__(self, path, holder: dict):
    self.path, self.holder = fileio.path(path), holder
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._renew, daemon=True)
    self._thread.start()

  def _renew(self):
    while not self._stop.wait(CLAIM_RENEW_S):
      try:
        fileio.write_json_atomic(self.path, {**self.holder, "renewed": time.time()})
      except OSError:
        pass

  def release(self):
    self._stop.set()
    self._thread.join()
    try:
      if self.path.exists() and json.loads(self.path.read_text()).get("pid") == self.holder["pid"]:
        self.path.unlink()
    except (OSError, ValueError):
      pass


def holder(path) -> dict | None:
  """Who holds the claim at `path`, or None if nobody does (no claim, or a stale one)."""
  p = fileio.path(path)
  try:
    c = json.loads(p.read_text())
  except (OSError, ValueError):
    return None
  if c.get("host") == socket.gethostname():
    return c if _alive(int(c.get("pid", -1))) and c.get("pid") != os.getpid() else None
  return c if time.time() - float(c.get("renewed", c.get("since", 0))) < CLAIM_STALE_S else None


def claim(gdir) -> "Claim | dict":
  """A Claim on the group in gdir, or the holder's dict if another live worker has it.

  Local: the claim file is created with O_EXCL, so of two workers racing exactly one wins;
  a stale claim (dead process on this host, or not renewed on another) is taken over.
  Remote (object stores have no exclusive create): write, then read back who won.
  """
  path = fileio.path(gdir) / "claim.json"
  for _ in range(3):
    h = holder(path)
    if h is not None:
      return h
    me = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}
    data = json.dumps({**me, "renewed": me["since"]}).encode()
    if fileio.is_remote(gdir):
      path.parent.mkdir(parents=True, exist_ok=True)
      fileio.write_bytes_atomic(path, data)
      time.sleep(0.5)
      won = json.loads(path.read_text())
      if (won.get("host"), won.get("pid")) != (me["host"], me["pid"]):
        continue
    else:
      os.makedirs(str(path.parent), exist_ok=True)
      if path.exists():  # stale: remove it, then race for a fresh one
        try:
          os.remove(str(path))
        except FileNotFoundError:
          pass
      try:
        fd = os.open(str(path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
      except FileExistsError:
        continue
      with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Claim(path, me)
  return holder(path) or {"host": "?", "pid": -1}
