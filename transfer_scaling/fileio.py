"""Files a reader sees whole or not at all, on a local disk or any filesystem etils reaches (gs://, s3://).

Local: a temporary file in the same directory, fsynced, then renamed over the target, with
the permissions of any other new file (0o666 less the umask, not mkstemp's owner-only 0o600)
so that a team can read shared results. Remote: an object store makes an object visible only
once its upload is complete, so the object is written in place; a rename there is a copy and
a delete, neither atomic nor able to replace an existing object through etils.
"""
import errno
import json
import os
import tempfile
from typing import Any

from etils import epath

from transfer_scaling.errors import UsageError

# os.umask can only be read by setting it, which is process-wide: read it once, at import.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def is_remote(path) -> bool:
  return "://" in os.fspath(path)


def path(p) -> epath.Path:
  """p as an epath.Path (local paths made absolute, so a later chdir does not move them)."""
  p = os.fspath(p)
  return epath.Path(p if is_remote(p) else os.path.abspath(p))


def write_bytes_atomic(target, data: bytes) -> None:
  if not isinstance(data, (bytes, bytearray, memoryview)):
    raise TypeError(f"write_bytes_atomic needs bytes, got {type(data).__name__}")
  target = os.fspath(target)
  if is_remote(target):
    # One upload: readers see the old object or the new one, and a killed writer leaves the old one.
    epath.Path(target).write_bytes(bytes(data))
    return
  directory = os.path.dirname(os.path.abspath(target))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(target))
  try:
    os.fchmod(fd, 0o666 & ~_UMASK)
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, target)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write_text_atomic(target, text: str) -> None:
  write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target, obj: Any) -> None:
  write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def read_json(p):
  return json.loads(path(p).read_text())


def read_json_checked(p, fix: str):
  """The JSON in file p, or a UsageError naming the file, what is wrong with it (empty, truncated) and `fix`."""
  text = path(p).read_bytes().decode("utf-8", errors="replace")
  try:
    return json.loads(text)
  except ValueError as e:
    why = "empty" if not text.strip() else f"truncated or not JSON: {e}"
    raise UsageError(f"{p} is damaged ({why}); {fix}") from None


def _jsonable(x):
  # numpy / jax scalars and arrays end up in results; store them as plain numbers.
  if hasattr(x, "tolist"):
    return x.tolist()
  raise TypeError(f"cannot store {type(x).__name__} in JSON")


def check_output_file(p, what: str = "output") -> None:
  """A UsageError now, before any work, if `p` cannot become a file (a folder, a missing parent ...)."""
  p = os.fspath(p)
  if is_remote(p):
    return
  if os.path.isdir(p):
    raise UsageError(f"{what} {p} is a folder; give a file name, e.g. {os.path.join(p, 'out')}")
  parent = os.path.dirname(os.path.abspath(p))
  probe = parent
  while not os.path.exists(probe):
    probe = os.path.dirname(probe)
  if not os.path.isdir(probe):
    raise UsageError(f"{what} {p}: {probe} is a file, not a folder; choose another path")
  if not os.access(probe, os.W_OK | os.X_OK):
    raise UsageError(f"{what} {p}: cannot write in {probe} (permission denied); choose another path")


def check_given(p, what: str = "workdir") -> None:
  """An empty path would mean the current folder: a study or a run would land among unrelated files."""
  if not os.fspath(p).strip():
    raise UsageError(f"{what} is empty; name a folder, e.g. --workdir runs/mystudy (use . for the current folder "
                     "explicitly)")


def check_writable_dir(p, what: str = "workdir") -> None:
  """A UsageError now if `p` cannot hold files: it is a file, or it (or the nearest existing parent) is read-only."""
  p = os.fspath(p)
  check_given(p, what)
  if is_remote(p):
    _check_bucket(p, what)
    return
  if os.path.exists(p) and not os.path.isdir(p):
    raise UsageError(f"{what} {p} is a file, not a folder; choose another --workdir")
  probe = p
  while not os.path.exists(probe):
    probe = os.path.dirname(probe) or "."
  if not os.access(probe, os.W_OK | os.X_OK):
    raise UsageError(f"{what} {p}: cannot write in {probe} (permission denied or read-only); "
                     "choose a writable --workdir")


def _check_bucket(p: str, what: str) -> None:
  # An object store has no folders to create: a missing bucket would fail at the first write, with
  # the store's bare "not found" and nothing to say which part of the path is wrong.
  scheme, rest = p.split("://", 1)
  bucket = f"{scheme}://{rest.split('/', 1)[0]}"
  if not epath.Path(bucket).exists():
    raise UsageError(f"{what} {p}: the bucket {bucket} does not exist or these credentials cannot see it; "
                     "create it, or choose another --workdir")


def describe_os_error(e: OSError) -> str:
  """One line for a filesystem error: the path and the problem, with the usual fix."""
  where = e.filename or ""
  if e.errno == errno.ENOSPC:
    return (f"no space left on the device holding {where or 'the output'}; free some space and rerun "
            "(finished work is kept)")
  if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
    return f"cannot write {where}: {e.strerror}; choose a writable location"
  if e.errno == errno.EISDIR:
    return f"{where} is a folder, not a file; give a file name"
  if e.errno == errno.ENOTDIR:
    return f"a part of {where} is a file, not a folder; choose another path"
  return f"{where}: {e.strerror or e}"
