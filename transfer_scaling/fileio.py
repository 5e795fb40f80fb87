"""Atomic writes: a reader sees the old file or the whole new one, never half of it."""
import json
import os
import tempfile
from typing import Any

# mkstemp creates files readable by their owner only; results and logs should get the
# permissions any other new file would (0o666 less the umask), so a team can share them.
# Read once at import: os.umask can only be read by setting it, which is process-wide.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_bytes_atomic(path: str, data: bytes) -> None:
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
  try:
    os.fchmod(fd, 0o666 & ~_UMASK)
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write_text_atomic(path: str, text: str) -> None:
  write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str, obj: Any) -> None:
  write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(x):
  # numpy / jax scalars and arrays end up in results; store them as plain numbers.
  if hasattr(x, "tolist"):
    return x.tolist()
  raise TypeError(f"cannot store {type(x).__name__} in JSON")
