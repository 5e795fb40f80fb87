"""Non-Python code (Go, Rust, Java, C, Emacs Lisp) and DNA: distributions far from English prose."""
import gzip
import hashlib
import os
import tarfile
import zipfile

from transfer_scaling.data.sources.base import Doc, Source, files, read, rel

CAP = 8_000_000  # per language, so that no language dominates the code corpus


def _by_extension(*patterns, skip=("testdata",)):
  def extract(roots):
    for f in files(roots[0], *patterns):
      r = rel(f, roots[0])
      if not any(s in r.split(os.sep) for s in skip):
        yield Doc(r, read(f))
  return extract


GO = Source("go", ("apt:golang-1.19-src",), "BSD-3-Clause (Go)", _by_extension("*.go"), CAP)
RUST = Source("rust", ("apt:rust-src",), "MIT/Apache-2.0 (Rust)", _by_extension("*.rs"), CAP)
EMACS_LISP = Source("emacs-lisp", ("apt:emacs-el",), "GPL-3+ (GNU Emacs)", _by_extension("*.el.gz"), CAP)


def _java(roots):
  [src_zip] = files(roots[0], "src.zip")
  with zipfile.ZipFile(src_zip) as z:
    names = sorted((n for n in z.namelist() if n.endswith(".java")), key=lambda n: hashlib.sha1(n.encode()).digest())
    for n in names:
      yield Doc("jdk/" + n, z.read(n))


JAVA = Source("java", ("apt:openjdk-17-source",), "GPL-2.0 with Classpath exception (OpenJDK)", _java, CAP)


def _c(roots, keep=0.015):
  """Linux kernel .c files: a stable ~1.5% sample read while streaming the tarball (617 MB of C in all)."""
  [tarball] = files(roots[0], "linux-source-*.tar.xz")
  with tarfile.open(tarball) as t:
    for member in t:
      if member.isfile() and member.name.endswith(".c"):
        if int.from_bytes(hashlib.sha1(member.name.encode()).digest()[:4], "big") < keep * 2**32:
          yield Doc("linux/" + member.name, t.extractfile(member).read())


C = Source("c", ("apt:linux-source-6.1",), "GPL-2.0 (Linux kernel)", _c, CAP)


def _dna(roots):
  """Fruit-fly (dm3) upstream regions: one document per 2,000-base sequence (header dropped), in a stable
  shuffled order."""
  [path] = files(roots[0], "dm3_upstream2000.fa.gz")
  with gzip.open(path, "rt") as f:
    records = f.read().split(">")[1:]
  records.sort(key=lambda r: hashlib.sha1(r.encode()).digest())
  for r in records:
    header, _, seq = r.partition("\n")
    yield Doc("dm3/" + header.split()[0], seq.replace("\n", ""))


DNA = Source("dm3-upstream", ("apt:r-bioc-biostrings",), "Artistic-2.0 (Biostrings); UCSC dm3 sequence data",
             _dna, 20_000_000)
