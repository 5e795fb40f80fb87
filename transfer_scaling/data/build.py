"""Prepare a corpus: fetch its packages, clean, deduplicate, split by document, write TFDS ArrayRecord.

Layout of a prepared corpus (paths.corpus_dir(name)):
  staging.jsonl.gz  cleaned, deduplicated documents with their split (removed after the build)
  tfds/             the TFDS dataset (ArrayRecord), features {text, source, id}
  meta.json         format version, sources used and missing, sizes per split, undecodable bytes
  *.npy             the concatenated byte arrays, written by prepared.py on first load
"""
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
from transfer_scaling.data import catalog, fetch, paths, prepared, text
from transfer_scaling.errors import UsageError

TEST_MIN_BYTES = 1_000_000
TEST_MIN_FRACTION = 0.05
TEST_MAX_FRACTION = 0.5  # tiny corpora (tests, a user's few files) still keep a training split


@functools.cache  # TFDS registers a builder class by name, once per process
def _tfds_builder_class():
  import tensorflow_datasets as tfds  # lazily: 1 s to import

  class TransferCorpus(tfds.core.GeneratorBasedBuilder):
    """One corpus of documents from a staging file; the config name is the corpus slug."""
    VERSION = tfds.core.Version(f"{paths.FORMAT_VERSION}.0.0")
    url_infos = None  # nothing to download; TFDS would otherwise look for a checksums file next to the code

    def __init__(self, *, staging: str = "", **kwargs):
      self._staging = staging
      super().__init__(**kwargs)

    def _info(self):
      return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
          {"text": tfds.features.Text(), "source": tfds.features.Text(), "id": tfds.features.Text()}))

    def _split_generators(self, dl_manager):
      return {split: self._generate_examples(split) for split in ("train", "test")}

    def _generate_examples(self, split):
      with gzip.open(self._staging, "rt", encoding="utf-8") as f:
        for line in f:
          d = json.loads(line)
          if d["split"] == split:
            yield d["key"], {"text": d["text"], "source": d["source"], "id": d["id"]}

  return TransferCorpus


def _sha(s: str) -> str:
  return hashlib.sha1(s.encode("utf-8", "surrogatepass")).hexdigest()


def choose_test(group_bytes: dict[str, int]) -> set[str]:
  """Groups for the test split: in a stable hash order until max(1 MB, 5%) of the bytes (at most half)."""
  total = sum(group_bytes.values())
  target = min(max(TEST_MIN_BYTES, TEST_MIN_FRACTION * total), TEST_MAX_FRACTION * total)
  test, n = set(), 0
  for g in sorted(group_bytes, key=lambda g: _sha("split:" + g)):
    if n >= target or len(test) + 1 >= len(group_bytes):
      break
    test.add(g)
    n += group_bytes[g]
  return test


def _documents(corpus, report):
  """(source, id, text, group) of every usable document, deduplicated; records sources used/missing."""
  seen = set()
  if corpus.synthetic_knob is not None:
    yield from _synthetic_documents(corpus, seen, report)
    return
  for source in corpus.sources:
    try:
      yield from _source_documents(corpus, source, seen, report)
    except fetch.SourceMissing as e:
      print(f"warning: source {source.name} skipped: {e}", file=sys.stderr)
      report["missing"].append({"source": source.name, "package": e.package, "command": e.command})


def _source_documents(corpus, source, seen, report):
  roots = source.fetch()
  used = {"source": source.name, "packages": list(source.packages), "licence": source.licence,
          "docs": 0, "bytes": 0, "duplicates": 0, "filtered": 0, "undecodable_bytes": 0}
  bar = tqdm(total=source.cap_bytes, desc=f"{corpus.name}: {source.name}", unit="B", unit_scale=True,
             disable=None, file=sys.stderr)
  for doc in source.extract(roots):
    body = doc.body
    if isinstance(body, bytes):
      body, bad = text.decode(body)
      used["undecodable_bytes"] += bad
    body = text.clean(body)
    if len(body) < corpus.min_chars:
      continue
    if corpus.lang and not text.is_language(body, corpus.lang):
      used["filtered"] += 1  # e.g. a page left untranslated
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
  for split in ("train", "test"):
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
  """Build corpus NAME (fetching what it needs); return its meta. Skips work if already built at this format."""
  corpus = catalog.get(name)
  out = paths.corpus_dir(name)
  if not force and prepared.is_prepared(name):
    return prepared.read_meta(name)
  os.makedirs(out, exist_ok=True)
  shutil.rmtree(os.path.join(out, "tfds"), ignore_errors=True)  # an older or half-built version
  for f in os.listdir(out):
    if f.endswith(".npy") or f == "meta.json":
      os.remove(os.path.join(out, f))
  report = {"sources": [], "missing": []}
  t0 = time.time()
  staging = os.path.join(out, "staging.jsonl.gz")
  sizes = {s: {"documents": 0, "bytes": 0, "characters": 0} for s in ("train", "test")}
  with gzip.open(staging, "wt", encoding="utf-8", compresslevel=1) as f:
    if corpus.mix:
      for split, source, doc_id, body in _mixture_documents(corpus, report):
        _stage(f, sizes, split, source, doc_id, body)
    else:
      docs = list(_documents(corpus, report))
      test = choose_test(_group_bytes(docs))
      for source, doc_id, body, group in docs:
        _stage(f, sizes, "test" if group in test else "train", source, doc_id, body)
      del docs
  if sizes["train"]["documents"] == 0:
    missing = "; ".join(f"{m['package']} (`{m['command']}`)" for m in report["missing"])
    os.remove(staging)
    raise UsageError(f"corpus {name} would be empty: " + (f"missing {missing}" if missing else "no usable documents found")
                     + "; get the missing packages or point the corpus at files that contain text")
  Builder = _tfds_builder_class()
  import tensorflow_datasets as tfds
  builder = Builder(staging=staging, config=tfds.core.BuilderConfig(name=paths.slug(name)),
                    data_dir=os.path.join(out, "tfds"), file_format="array_record")
  builder.download_and_prepare()
  os.remove(staging)
  meta = {"name": name, "format_version": paths.FORMAT_VERSION, "description": corpus.description,
          "tfds_dir": os.path.relpath(builder.data_dir, out), "splits": sizes, "built_s": round(time.time() - t0, 1),
          "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **report,
          "undecodable_bytes": sum(s.get("undecodable_bytes", 0) for s in report["sources"])}
  fileio.write_json_atomic(os.path.join(out, "meta.json"), meta)
  if meta["undecodable_bytes"]:
    print(f"note: {meta['undecodable_bytes']} undecodable bytes were replaced by U+FFFD in {name}", file=sys.stderr)
  return meta


def _group_bytes(docs):
  groups = {}
  for _, _, body, group in docs:
    groups[group] = groups.get(group, 0) + len(body.encode("utf-8"))
  return groups


def _stage(f, sizes, split, source, doc_id, body):
  key = f"{source}/{doc_id}"
  f.write(json.dumps({"split": split, "source": source, "id": doc_id, "key": _sha(key + body)[:16] + key[-80:],
                      "text": body}, ensure_ascii=False) + "\n")
  sizes[split]["documents"] += 1
  sizes[split]["bytes"] += len(body.encode("utf-8"))
  sizes[split]["characters"] += len(body)
