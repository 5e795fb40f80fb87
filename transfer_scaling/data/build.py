"""Prepare a corpus: fetch its packages, clean, deduplicate, split by document, write TFDS ArrayRecord.

Layout of a prepared corpus (paths.corpus_dir(name)):
  staging.jsonl.gz  cleaned, deduplicated documents with their split (removed after the build)
  tfds/             the TFDS dataset (ArrayRecord): splits train, validation, test; features {text, source, id}
  meta.json         format version, sources used and missing, sizes per split, content hash, skipped files
  *.npy             the concatenated byte arrays, written by prepared.py on first load
"""
import contextlib
import functools
import gzip
import hashlib
import json
import os
import shutil
import sys
import time

from tqdm import tqdm

from transfer_scaling import fileio
from transfer_scaling.data import catalog, fetch, overlap, paths, prepared, text
from transfer_scaling.data.sources.multilingual import translation_key
from transfer_scaling.errors import UsageError

SPLITS = ("train", "validation", "test")
HELD_OUT_MIN_BYTES = 1_000_000   # each of validation and test: max(1 MB, 5%) of the corpus ...
HELD_OUT_MIN_FRACTION = 0.05
HELD_OUT_MAX_FRACTION = 0.25     # ... but at most a quarter, so tiny corpora keep a training split
BINARY_MAX_FRACTION = 0.01       # a file with more control bytes than this (or any NUL) is binary, not text


@functools.cache  # TFDS registers a builder class by name, once per process
def _tfds_builder_class():
  import tensorflow_datasets as tfds  # lazily: 1 s to import

  class LocalInfo(tfds.core.DatasetInfo):
    def initialize_from_bucket(self):
      # A corpus built here is never on TFDS's bucket; the base method would look it up and leave an
      # empty tmp*tfds folder in the system temp directory on every build.
      pass

  class TransferCorpus(tfds.core.GeneratorBasedBuilder):
    """One corpus of documents from a staging file; the config name is the corpus slug."""
    VERSION = tfds.core.Version(f"{paths.FORMAT_VERSION}.0.0")
    url_infos = None  # nothing to download; TFDS would otherwise look for a checksums file next to the code

    def __init__(self, *, staging: str = "", **kwargs):
      self._staging = staging
      super().__init__(**kwargs)

    # TFDS prints "Downloading and preparing dataset Unknown size ..." and "... Subsequent calls will reuse
    # this data." to stdout on every build; the corpus build says what it made in its own words.
    def _log_download_bytes(self):
      pass

    def _log_download_done(self):
      pass

    def _info(self):
      return LocalInfo(builder=self, features=tfds.features.FeaturesDict(
          {"text": tfds.features.Text(), "source": tfds.features.Text(), "id": tfds.features.Text()}))

    def _split_generators(self, dl_manager):
      return {split: self._generate_examples(split) for split in SPLITS}

    def _generate_examples(self, split):
      with gzip.open(self._staging, "rt", encoding="utf-8") as f:
        for line in f:
          d = json.loads(line)
          if d["split"] == split:
            yield d["key"], {"text": d["text"], "source": d["source"], "id": d["id"]}

  return TransferCorpus


def _sha(s: str) -> str:
  return hashlib.sha1(s.encode("utf-8", "surrogatepass")).hexdigest()


def choose_held_out(group_bytes: dict[str, int]) -> tuple[set, set]:
  """(validation groups, test groups): disjoint, in a stable hash order, each max(1 MB, 5%) of the bytes.

  Documents of one group land in one split, so no text is shared between train, validation and test.
  A held-out split takes no group that would carry it past a quarter of the bytes, so train keeps at
  least half of the text; only a split that no group fits takes one, the smallest, so that every split
  gets at least one group (the caller guarantees at least three).
  """
  total = sum(group_bytes.values())
  target = min(max(HELD_OUT_MIN_BYTES, HELD_OUT_MIN_FRACTION * total), HELD_OUT_MAX_FRACTION * total)
  cap = HELD_OUT_MAX_FRACTION * total
  left = sorted(group_bytes, key=lambda g: _sha("split:" + g))
  out = []
  for keep in (2, 1):  # test first, keeping a group each for validation and train; then validation
    chosen, n = [], 0
    for g in left:
      if n >= target or len(left) - len(chosen) <= keep:
        break
      if n + group_bytes[g] <= cap:
        chosen.append(g)
        n += group_bytes[g]
    if not chosen:
      chosen = [min(left, key=lambda g: group_bytes[g])]  # stable: min keeps the first of equals
    left = [g for g in left if g not in chosen]
    out.append(set(chosen))
  test, validation = out
  return validation, test


def _documents(corpus, report):
  """(source, id, text, group) of every usable document, deduplicated; records sources used/missing."""
  seen = set()
  if corpus.synthetic_knob is not None:
    yield from _synthetic_documents(corpus, seen, report)
    return
  shared = _shared_keys(corpus, report)
  for source in corpus.sources:
    try:
      yield from _source_documents(corpus, source, seen, report, shared)
    except fetch.SourceMissing as e:
      print(f"warning: source {source.name} skipped: {e}", file=sys.stderr)
      report["missing"].append({"source": source.name, "package": e.package, "command": e.command})


def _shared_keys(corpus, report) -> set:
  """Translation keys of the corpus whose pages this one leaves out (corpus.without_shared), prepared if need be."""
  if not corpus.without_shared:
    return set()
  other = corpus.without_shared
  if not prepared.is_prepared(other):
    prepare(other)
  # What was left out depends on that build: another build of it can hold other pages.
  report["without_shared"] = {"corpus": other, "content_hash": prepared.content_hash(other)}
  return overlap.keys(overlap.corpus_documents(other))


def _source_documents(corpus, source, seen, report, shared=frozenset()):
  roots = source.fetch()
  used = {"source": source.name, "packages": list(source.packages), "licence": source.licence,
          "docs": 0, "bytes": 0, "duplicates": 0, "filtered": 0, "undecodable_bytes": 0, "binary_skipped": []}
  if corpus.without_shared:
    used["shared"] = 0
  bar = tqdm(total=source.cap_bytes, desc=f"{corpus.name}: {source.name}", unit="B", unit_scale=True,
             disable=None, file=sys.stderr)
  for doc in source.extract(roots):
    if shared and translation_key(doc.id) in shared:
      used["shared"] += 1  # a version of a page the other corpus holds
      continue
    body = doc.body
    if isinstance(body, bytes):
      raw = body
      body, bad = text.decode(raw)
      control = text.control_bytes(raw)
      if b"\x00" in raw or control > BINARY_MAX_FRACTION * max(len(raw), 1):
        used["binary_skipped"].append(doc.id)  # decoding a binary file makes noise, not text
        print(f"warning: {doc.id} skipped: a binary file, not text ({control:,} of {len(raw):,} bytes are "
              "control bytes or NUL)", file=sys.stderr)
        continue
      used["undecodable_bytes"] += bad
    body = text.clean(body)
    if len(body) < corpus.min_chars:
      continue
    if corpus.lang and not text.is_language(body, corpus.lang):
      used["filtered"] += 1  # e.g. a page left untranslated
      continue
    if corpus.no_python and text.looks_like_python(body):
      used["filtered"] += 1  # e.g. a package description quoting an example
      continue
    h = _sha(body)
    if h in seen:
      used["duplicates"] += 1
      continue
    seen.add(h)
    n = len(body.encode("utf-8"))
    used["docs"] += 1
    used["bytes"] += n
    bar.update(min(n, source.cap_bytes - bar.n))
    yield source.name, doc.id, body, doc.group or h
    if used["bytes"] >= source.cap_bytes:
      break
  bar.close()
  report["sources"].append(used)


def _synthetic_documents(corpus, seen, report):
  try:
    from transfer_scaling.data.sources import synthetic
  except ImportError as e:
    raise UsageError(f"corpus {corpus.name} needs transfer_scaling/data/synthetic.py, which is not in this "
                     f"checkout ({e}); update the package or pick a real corpus") from None
  used = {"source": "synthetic", "packages": [], "licence": "generated", "docs": 0, "bytes": 0,
          "duplicates": 0, "filtered": 0, "undecodable_bytes": 0}
  report["sources"].append(used)
  for i, body in enumerate(synthetic.documents(corpus.synthetic_knob, 0, 20000)):
    body = text.clean(body)
    h = _sha(body)
    if not body or h in seen:
      continue
    seen.add(h)
    used["docs"] += 1
    used["bytes"] += len(body.encode("utf-8"))
    yield "synthetic", f"synthetic/{i}", body, h


def _mixture_documents(corpus, report):
  """Equal bytes of each member corpus (per split): the smaller member's size, a prefix of the larger's documents."""
  parts = []
  for member in corpus.mix:
    if not prepared.is_prepared(member):
      prepare(member)
    parts.append((member, prepared.read_documents(member)))
  for split in SPLITS:
    budget = min(sum(len(t.encode()) for t, _ in docs[split]) for _, docs in parts)
    for member, docs in parts:
      n = 0
      for i, (t, doc_id) in enumerate(docs[split]):
        if n >= budget:
          break
        n += len(t.encode())
        yield split, member, f"{member}/{doc_id}", t
    report["sources"].append({"source": f"{'+'.join(corpus.mix)} {split}", "bytes_per_member": budget})


def prepare(name: str, force: bool = False) -> dict:
  """Build corpus NAME (fetching what it needs); return its meta. Skips work if already built at this format.

  A build that fails leaves the corpus as it was before (an earlier build, or nothing).
  """
  corpus = catalog.get(name)
  out = paths.corpus_dir(name)
  if not force and prepared.is_prepared(name):
    return prepared.read_meta(name)
  os.makedirs(out, exist_ok=True)
  staging, tfds_new = os.path.join(out, "staging.jsonl.gz"), os.path.join(out, "tfds.new")
  try:
    meta = _build(name, corpus, out, staging, tfds_new)
  except BaseException:
    shutil.rmtree(tfds_new, ignore_errors=True)
    if os.path.exists(staging):
      os.remove(staging)
    raise
  # Only now replace the old build: its TFDS files, caches and meta go together.
  shutil.rmtree(os.path.join(out, "tfds"), ignore_errors=True)
  for f in os.listdir(out):
    if f.endswith(".npy") or f == "meta.json":
      os.remove(os.path.join(out, f))
  os.replace(tfds_new, os.path.join(out, "tfds"))
  fileio.write_json_atomic(os.path.join(out, "meta.json"), meta)
  if meta["undecodable_bytes"]:
    print(f"note: {meta['undecodable_bytes']} undecodable bytes were replaced by U+FFFD in {name}", file=sys.stderr)
  return meta


def _build(name, corpus, out, staging, tfds_dir) -> dict:
  report = {"sources": [], "missing": []}
  t0 = time.time()
  sizes = {s: {"documents": 0, "bytes": 0, "characters": 0} for s in SPLITS}
  digest = {s: hashlib.sha256() for s in SPLITS}
  with gzip.open(staging, "wt", encoding="utf-8", compresslevel=1) as f:
    if corpus.mix:
      for split, source, doc_id, body in _mixture_documents(corpus, report):
        _stage(f, sizes, digest, split, source, doc_id, body)
    else:
      docs = list(_documents(corpus, report))
      groups = _group_bytes(docs)
      if len(groups) < 3:
        missing = "; ".join(f"{m['package']} (`{m['command']}`)" for m in report["missing"])
        raise UsageError(f"corpus {name} has {len(groups)} usable document(s); it needs at least 3 (train, "
                         "validation and test are split by document): "
                         + (f"get the missing packages {missing}" if missing else
                            "add more files, or one .jsonl file with one document per line"))
      validation, test = choose_held_out(groups)
      for source, doc_id, body, group in docs:
        split = "test" if group in test else "validation" if group in validation else "train"
        _stage(f, sizes, digest, split, source, doc_id, body)
      del docs
  Builder = _tfds_builder_class()
  import tensorflow_datasets as tfds
  with _quiet_tfds():
    builder = Builder(staging=staging, config=tfds.core.BuilderConfig(name=paths.slug(name)),
                      data_dir=tfds_dir, file_format="array_record")
    builder.download_and_prepare()
  os.remove(staging)
  return {"name": name, "format_version": paths.FORMAT_VERSION, "description": corpus.description,
          "tfds_dir": os.path.relpath(builder.data_dir, tfds_dir), "splits": sizes,
          # What a run's identity names: another build of the same name with other text is another corpus.
          "content_hash": hashlib.sha256("".join(digest[s].hexdigest() for s in SPLITS).encode()).hexdigest()[:16],
          "built_s": round(time.time() - t0, 1), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
          **report, "undecodable_bytes": sum(s.get("undecodable_bytes", 0) for s in report["sources"])}


@contextlib.contextmanager
def _quiet_tfds():
  """TFDS's progress bars (generating, shuffling) and its absl notes ("Using custom data configuration")
  say nothing about the corpus and fill a study's log; off while a corpus is built, then as they were."""
  import tensorflow_datasets as tfds
  from absl import logging as absl_logging
  from tensorflow_datasets.core.utils import tqdm_utils
  bars, verbosity = getattr(tqdm_utils, "_active", True), absl_logging.get_verbosity()
  tfds.disable_progress_bar()
  absl_logging.set_verbosity(absl_logging.ERROR)
  try:
    yield
  finally:
    absl_logging.set_verbosity(verbosity)
    tqdm_utils.display_progress_bar(bars)


def _group_bytes(docs):
  groups = {}
  for _, _, body, group in docs:
    groups[group] = groups.get(group, 0) + len(body.encode("utf-8"))
  return groups


def _stage(f, sizes, digest, split, source, doc_id, body):
  key = f"{source}/{doc_id}"
  digest[split].update(body.encode("utf-8") + b"\x00")
  f.write(json.dumps({"split": split, "source": source, "id": doc_id, "key": _sha(key + body)[:16] + key[-80:],
                      "text": body}, ensure_ascii=False) + "\n")
  sizes[split]["documents"] += 1
  sizes[split]["bytes"] += len(body.encode("utf-8"))
  sizes[split]["characters"] += len(body)
