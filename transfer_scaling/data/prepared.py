"""Prepared corpora as numpy byte arrays, cached as .npy next to the TFDS dataset.

A split's stream is its documents' UTF-8 bytes joined by SEP (byte 0, which cleaning
removes from every document). `offsets` has one entry per document start plus the
end, so document i is stream[offsets[i] : offsets[i+1] - 1].
"""
import io
import json
import os

import numpy as np

from transfer_scaling import fileio
from transfer_scaling.data import catalog, paths
from transfer_scaling.errors import UsageError

SEP = 0


def _check_prepared(name: str) -> None:
  if name.startswith("tfds:"):
    return
  catalog.get(name)  # unknown name -> UsageError listing the known ones
  meta = read_meta(name)
  if meta is None:
    raise UsageError(f"corpus {name} is not prepared; run `transfer-scaling corpora prepare {name}`")
  if meta.get("format_version") != paths.FORMAT_VERSION:
    raise UsageError(f"corpus {name} was prepared by an older version (format {meta.get('format_version')}, "
                     f"now {paths.FORMAT_VERSION}); rebuild it with `transfer-scaling corpora prepare {name}`")


def _data_source(name: str, split: str):
  """The TFDS ArrayRecord data source of a split and the feature key holding the text."""
  import tensorflow_datasets as tfds
  if name.startswith("tfds:"):  # a TFDS text dataset the user already has, e.g. tfds:lm1b/text
    dataset, _, key = name[5:].rpartition("/")
    if not dataset or not key:
      raise UsageError(f"{name!r} should be tfds:DATASET/FEATURE, e.g. tfds:lm1b/text")
    try:
      b = tfds.builder(dataset, data_dir=os.environ.get("TFDS_DATA_DIR"), try_gcs=False)
      splits = b.info.splits
    except Exception as e:
      raise UsageError(f"TFDS dataset {dataset!r} is not available locally ({type(e).__name__}); "
                       f"prepare it with tfds (file_format='array_record') or set TFDS_DATA_DIR") from None
    if split not in splits:
      raise UsageError(f"TFDS dataset {dataset} has no {split!r} split (has {', '.join(splits)}); a study needs "
                       "train, validation and test splits: prepare it with all three")
    return b.as_data_source()[split], key
  meta = read_meta(name)
  return tfds.builder_from_directory(os.path.join(paths.corpus_dir(name), "tfds",
                                                  meta["tfds_dir"])).as_data_source()[split], "text"


def _read_texts(name: str, split: str, chunk: int = 4096):
  """Yield each document's UTF-8 bytes, in the ArrayRecord order (batched reads: ~10x faster than one by one)."""
  source, key = _data_source(name, split)
  for start in range(0, len(source), chunk):
    for record in source.__getitems__(list(range(start, min(start + chunk, len(source))))):
      t = record[key]
      yield t if isinstance(t, bytes) else str(t).encode("utf-8")


def _cache_dir(name: str) -> str:
  return paths.corpus_dir(name)


def load_documents(name: str, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
  """(stream_U8, offsets_I64) of a split; cached as .npy after the first read of the ArrayRecord files."""
  _check_prepared(name)
  d = _cache_dir(name)
  stream_path, offsets_path = os.path.join(d, f"{split}.npy"), os.path.join(d, f"{split}_offsets.npy")
  if not (os.path.exists(stream_path) and os.path.exists(offsets_path)):
    texts = [t.replace(b"\x00", b"") for t in _read_texts(name, split)]
    lengths = np.fromiter((len(t) + 1 for t in texts), np.int64, len(texts))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    stream = np.frombuffer(b"\x00".join(texts) + b"\x00", np.uint8)
    _save_npy(offsets_path, offsets)
    _save_npy(stream_path, stream)
  return np.load(stream_path, mmap_mode="r"), np.load(offsets_path)


def _save_npy(path: str, array: np.ndarray) -> None:
  buf = io.BytesIO()
  np.save(buf, array)
  fileio.write_bytes_atomic(path, buf.getvalue())


def load_splits(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(train_U8, valid_U8, test_U8): each split's documents joined by SEP."""
  return tuple(load_documents(name, split)[0] for split in ("train", "validation", "test"))


def content_hash(name: str) -> str:
  """The prepared text's hash (meta.json), or for a TFDS dataset its name and version."""
  if name.startswith("tfds:"):
    return name
  _check_prepared(name)
  return read_meta(name)["content_hash"]


def split_bytes(name: str) -> dict:
  """{split: bytes} of a prepared corpus."""
  if name.startswith("tfds:"):
    return {s: int(load_documents(name, s)[1][-1]) for s in ("train", "validation", "test")}
  _check_prepared(name)
  return {s: int(v["bytes"]) for s, v in read_meta(name)["splits"].items()}


def bytes_per_character(name: str, split: str = "train") -> float:
  """UTF-8 bytes per character of a prepared corpus's split (about 1.0 for German, 2-3 for Chinese): the factor
  between a D counted in bytes and one counted in characters."""
  _check_prepared(name)
  s = read_meta(name)["splits"][split]
  return int(s["bytes"]) / int(s["characters"])


def read_documents(name: str) -> dict[str, list[tuple[str, str]]]:
  """{split: [(text, id), ...]} in ArrayRecord order, for building mixtures."""
  out = {}
  for split in ("train", "validation", "test"):
    source, _ = _data_source(name, split)
    docs = []
    for start in range(0, len(source), 4096):
      for r in source.__getitems__(list(range(start, min(start + 4096, len(source))))):
        docs.append((r["text"].decode("utf-8"), r["id"].decode("utf-8")))
    out[split] = docs
  return out


def read_meta(name: str) -> dict | None:
  path = os.path.join(paths.corpus_dir(name), "meta.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def is_prepared(name: str) -> bool:
  meta = read_meta(name)
  return bool(meta) and meta.get("format_version") == paths.FORMAT_VERSION
