"""Building corpora from fixture files made here: TFDS ArrayRecord, splits, caches, bad input."""
import json
import os
import sys

import numpy as np
import pytest

from transfer_scaling.commands import corpora as corpora_cmd
from transfer_scaling.data import build, catalog, paths, pipeline, prepared
from transfer_scaling.errors import UsageError


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
  monkeypatch.setenv("TRANSFER_SCALING_DATA", str(tmp_path / "data"))
  return tmp_path


def _write_docs(directory, n=60, prefix="doc", size=3000):
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(len(prefix))
  words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
  for i in range(n):
    body = f"{prefix} {i}\n" + " ".join(rng.choice(words, size // 6))
    with open(os.path.join(directory, f"{prefix}{i:03d}.txt"), "w") as f:
      f.write(body)
  with open(os.path.join(directory, "copy.txt"), "w") as f:  # an exact duplicate of doc 0
    f.write(open(os.path.join(directory, f"{prefix}000.txt")).read())


def test_add_builds_arrayrecord_splits_and_caches(data_dir, capsys):
  _write_docs(data_dir / "files")
  assert corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files" / "*.txt")]) == 0
  meta = prepared.read_meta("mine")
  s = meta["splits"]
  assert sum(s[x]["documents"] for x in ("train", "validation", "test")) == 60  # the duplicate was dropped
  assert meta["sources"][0]["duplicates"] == 1
  total = sum(s[x]["bytes"] for x in ("train", "validation", "test"))
  for held_out in ("validation", "test"):  # 1 MB or a quarter of a tiny corpus, to one document
    assert min(1e6, total / 4) - 3100 <= s[held_out]["bytes"] <= min(1e6, total / 4) + 3100
  assert len(meta["content_hash"]) == 16
  tfds_dir = os.path.join(paths.corpus_dir("mine"), "tfds", meta["tfds_dir"])
  assert any(f.endswith("array_record-00000-of-00001") for f in os.listdir(tfds_dir))
  train_U8, valid_U8, test_U8 = prepared.load_splits("mine")
  assert len(train_U8) == s["train"]["bytes"] + s["train"]["documents"]  # each document + its SEP
  train_docs = set(bytes(train_U8).split(b"\x00")[:-1])
  valid_docs = set(bytes(valid_U8).split(b"\x00")[:-1])
  test_docs = set(bytes(test_U8).split(b"\x00")[:-1])
  assert not train_docs & test_docs and not train_docs & valid_docs and not valid_docs & test_docs  # by document
  assert os.path.exists(os.path.join(paths.corpus_dir("mine"), "train.npy"))
  sub = pipeline.subset("mine", 5000, seed=0)
  assert len(sub) == 5000 and bytes(sub).split(b"\x00")[0] in train_docs
  assert "tensorflow" not in sys.modules  # TensorFlow is never imported


def test_split_is_stable_when_rebuilt(data_dir):
  _write_docs(data_dir / "files")
  corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")])
  first = bytes(prepared.load_splits("mine")[2])
  build.prepare("mine", force=True)
  assert sorted(bytes(prepared.load_splits("mine")[2]).split(b"\x00")) == sorted(first.split(b"\x00"))


def test_undecodable_bytes_are_counted_not_fatal(data_dir):
  _write_docs(data_dir / "files", n=20)
  with open(data_dir / "files" / "latin1.txt", "wb") as f:
    f.write("Grüße aus Köln, ".encode("latin-1") * 10)
  corpora_cmd.main(["add", "mixed", "--files", str(data_dir / "files" / "*.txt")])
  meta = prepared.read_meta("mixed")
  assert meta["undecodable_bytes"] == 30  # ü, ß, ö: one invalid byte each in latin-1, 10 repeats


def test_bad_names_and_globs(data_dir):
  with pytest.raises(UsageError, match="unknown corpus 'nope'; known: shakespeare, python"):
    catalog.get("nope")
  with pytest.raises(UsageError, match="matches no files"):
    corpora_cmd.main(["add", "empty", "--files", str(data_dir / "nothing" / "*.txt")])
  with pytest.raises(UsageError, match="not prepared; run `transfer-scaling corpora prepare python`"):
    prepared.load_splits("python")
  with pytest.raises(UsageError, match="outside"):
    catalog.get("synthetic-2")


def test_older_format_is_reported_and_rebuilt(data_dir):
  _write_docs(data_dir / "files", n=20)
  corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")])
  meta_path = os.path.join(paths.corpus_dir("mine"), "meta.json")
  meta = json.load(open(meta_path))
  meta["format_version"] = 0
  json.dump(meta, open(meta_path, "w"))
  with pytest.raises(UsageError, match="older version .* rebuild it with `transfer-scaling corpora prepare mine`"):
    prepared.load_splits("mine")
  assert corpora_cmd.main(["prepare", "mine"]) == 0
  assert prepared.is_prepared("mine") and len(prepared.load_splits("mine")[0]) > 0


def test_list_json_reports_sizes(data_dir, capsys):
  _write_docs(data_dir / "files", n=20)
  corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")])
  capsys.readouterr()
  assert corpora_cmd.main(["list", "--json"]) == 0
  rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
  assert rows["mine"]["prepared"] and rows["mine"]["splits"]["train"]["documents"] > 0
  assert not rows["python"]["prepared"] and rows["python"]["sources"][0]["licence"]


def test_mixture_takes_equal_bytes_of_each_member(data_dir, monkeypatch):
  _write_docs(data_dir / "a", n=40, prefix="aaa")
  _write_docs(data_dir / "b", n=80, prefix="bbbbbb")
  corpora_cmd.main(["add", "a", "--files", str(data_dir / "a")])
  corpora_cmd.main(["add", "b", "--files", str(data_dir / "b")])
  monkeypatch.setitem(catalog.BUILTIN, "a+b", catalog.Corpus("a+b", "test mixture", mix=("a", "b")))
  meta = build.prepare("a+b")
  budget = [s["bytes_per_member"] for s in meta["sources"]]
  train_U8, offsets = prepared.load_documents("a+b")
  docs = bytes(train_U8).split(b"\x00")[:-1]
  a_bytes = sum(len(d) for d in docs if d.startswith(b"aaa "))
  b_bytes = sum(len(d) for d in docs if d.startswith(b"bbbbbb "))
  assert a_bytes == budget[0] and abs(b_bytes - a_bytes) < 3100  # equal to within one document


def test_tfds_name_reads_any_local_tfds_text_dataset(data_dir, monkeypatch):
  _write_docs(data_dir / "files", n=20)
  corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")])
  monkeypatch.setenv("TFDS_DATA_DIR", os.path.join(paths.corpus_dir("mine"), "tfds"))
  build._tfds_builder_class()  # registers the builder class, as a user's own TFDS dataset module would
  train_U8, valid_U8, test_U8 = prepared.load_splits("tfds:transfer_corpus/mine/text")
  assert sorted(bytes(train_U8).split(b"\x00")) == sorted(bytes(prepared.load_splits("mine")[0]).split(b"\x00"))
  with pytest.raises(UsageError, match="not available locally"):
    prepared.load_splits("tfds:no_such_dataset/text")


def test_synthetic_names_are_reserved(data_dir):
  corpus = catalog.get("synthetic-0.25")
  assert corpus.synthetic_knob == 0.25
  try:
    from transfer_scaling.data.sources import synthetic  # noqa: F401
  except ImportError:
    with pytest.raises(UsageError, match="synthetic.py"):
      build.prepare("synthetic-0.25")


def test_packed_batches_from_a_prepared_corpus(data_dir):
  _write_docs(data_dir / "files", n=40)
  corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")])
  pb = pipeline.PackedBatches.from_corpus("mine", [1000, 5000], batch_size=2, seq_len=16, seeds=[0, 1],
                                          valid_bytes=4000, test_bytes=4000)
  assert pb.sizes == [1000, 5000]
  np.testing.assert_array_equal(pb.streams[1][:1000], pb.streams[0][:1000])  # nested across members
  assert pb.train_batch(3).shape == (2, 2, 17)
  _, valid_U8, test_U8 = prepared.load_splits("mine")
  np.testing.assert_array_equal(pb.valid_batches()[0, 0], valid_U8[:17])
  np.testing.assert_array_equal(pb.test_batches()[0, 0], test_U8[:17])


def test_add_reads_jsonl_records(data_dir):
  os.makedirs(data_dir / "j")
  with open(data_dir / "j" / "docs.jsonl", "w") as f:
    for i in range(30):
      f.write(json.dumps({"text": f"record {i}: " + "some text here " * 30}) + "\n")
  corpora_cmd.main(["add", "records", "--files", str(data_dir / "j")])
  s = prepared.read_meta("records")["splits"]
  assert sum(v["documents"] for v in s.values()) == 30
  assert bytes(prepared.load_splits("records")[0]).startswith(b"record ")


def test_cached_corpus_loads_without_tfds(data_dir):
  # A GPU machine may have only the .npy caches and meta.json, and no TensorFlow Datasets.
  import subprocess
  _write_docs(data_dir / "files", n=20)
  corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")])
  prepared.load_splits("mine")  # writes the cache
  code = ("import sys; from transfer_scaling import data; data.load_splits('mine'); data.subset('mine', 100, 0); "
          "print('tensorflow_datasets' in sys.modules)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})
  assert out.stdout.strip() == "False"


def test_held_out_splits_each_get_a_group_and_leave_train_half():
  # One large and three small groups, the large one in each place of the hash order: every split gets
  # a group (an empty split makes TFDS refuse the build), and the large one stays in train.
  names = ["g0", "g1", "g2", "g3"]
  for large in names:
    sizes = {g: 10_000 if g == large else 1_000 for g in names}
    validation, test = build.choose_held_out(sizes)
    train = set(names) - validation - test
    assert validation and test and train and not validation & test, large
    assert large in train and sum(sizes[g] for g in train) >= sum(sizes.values()) / 2
  # Many equal groups: each held-out split stays within a quarter, so train keeps at least half.
  sizes = {f"g{i}": 1_000 + i for i in range(40)}
  validation, test = build.choose_held_out(sizes)
  for held_out in (validation, test):
    assert 0 < sum(sizes[g] for g in held_out) <= sum(sizes.values()) / 4
  # Three groups, whatever their sizes: one each.
  validation, test = build.choose_held_out({"a": 5, "b": 500, "c": 50_000})
  assert len(validation) == len(test) == 1 and not validation & test


def _small_last(large: str) -> list[str]:
  """Three small documents that all come before LARGE in the split order (the case that emptied validation)."""
  key = lambda body: build._sha("split:" + build._sha(body))
  smalls = [b for b in (f"note {i}: " + "a few plain words. " * 20 for i in range(200)) if key(b) < key(large)]
  return smalls[:3]


def test_add_one_large_and_three_small_documents(data_dir, capsys):
  files = data_dir / "few"
  files.mkdir()
  large = "one long document. " * 3000
  (files / "large.txt").write_text(large)
  for i, body in enumerate(_small_last(large)):
    (files / f"small{i}.txt").write_text(body)
  assert corpora_cmd.main(["add", "few", "--files", str(files)]) == 0
  s = prepared.read_meta("few")["splits"]
  assert all(s[x]["documents"] >= 1 for x in ("train", "validation", "test"))
  assert s["train"]["bytes"] >= len(large.strip())  # the large document trains
  out = capsys.readouterr().out
  assert f"split by document: train {s['train']['documents']} docs" in out and "validation 1 docs" in out


@pytest.mark.parametrize("spec", ["{}/*.txt", "{}"])
def test_the_same_files_make_the_same_corpus_wherever_they_lie(data_dir, spec):
  # Splits, order within them and the content hash (which run ids name) depend on the files, not on their folder.
  made = []
  for i, where in enumerate((data_dir / "here" / "files", data_dir / "somewhere" / "else" / "files")):
    _write_docs(where, n=30)
    assert corpora_cmd.main(["add", f"mine{i}", "--files", spec.format(where)]) == 0
    made.append((prepared.read_meta(f"mine{i}")["content_hash"], [bytes(s) for s in prepared.load_splits(f"mine{i}")]))
  assert made[0] == made[1]


def test_add_reports_duplicates_and_split(data_dir, capsys):
  _write_docs(data_dir / "files", n=20)
  assert corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")]) == 0
  out = capsys.readouterr().out
  s = prepared.read_meta("mine")["splits"]
  assert "20 documents" in out and "1 duplicate document(s) dropped" in out
  assert f"train {s['train']['documents']} docs" in out and "%)" in out
  total = sum(s[x]["bytes"] for x in ("train", "validation", "test"))
  assert s["train"]["bytes"] >= total / 2


def test_add_refuses_to_replace_a_corpus_without_force(data_dir):
  _write_docs(data_dir / "one", n=8, prefix="one")
  _write_docs(data_dir / "two", n=9, prefix="two")
  assert corpora_cmd.main(["add", "mine", "--files", str(data_dir / "one")]) == 0
  first = prepared.read_meta("mine")["content_hash"]
  with pytest.raises(UsageError, match="corpus 'mine' already exists .*; add --force to replace it"):
    corpora_cmd.main(["add", "mine", "--files", str(data_dir / "two")])
  assert prepared.read_meta("mine")["content_hash"] == first  # untouched
  assert json.load(open(catalog.user_spec_path("mine")))["files"].endswith("one")
  assert corpora_cmd.main(["add", "mine", "--files", str(data_dir / "two"), "--force"]) == 0
  assert prepared.read_meta("mine")["content_hash"] != first


def test_add_leaves_nothing_in_the_system_temp_dir(data_dir, monkeypatch):
  import tempfile
  temp = data_dir / "temp"
  temp.mkdir()
  monkeypatch.setattr(tempfile, "tempdir", str(temp))
  _write_docs(data_dir / "files", n=8)
  assert corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")]) == 0
  assert os.listdir(temp) == []


def test_add_prints_no_tfds_progress_or_notes(data_dir, capfd):
  """TFDS's "Downloading and preparing dataset Unknown size" lines, its progress bars and absl notes are silenced."""
  _write_docs(data_dir / "files", n=8)
  assert corpora_cmd.main(["add", "mine", "--files", str(data_dir / "files")]) == 0
  out, err = capfd.readouterr()
  assert "mine: 8 documents" in out
  noises = ("Downloading and preparing", "Subsequent calls", "Generating", "Shuffling", "custom data configuration")
  for noise in noises:
    assert noise not in out + err, (noise, out, err)
  from absl import logging as absl_logging
  from tensorflow_datasets.core.utils import tqdm_utils
  assert tqdm_utils._active and absl_logging.get_verbosity() != absl_logging.ERROR  # as they were after the build



def test_bytes_per_character_counts_utf8(data_dir):
  # 3-byte CJK characters with a few ASCII digits and a newline per document: just under 3 bytes per character.
  os.makedirs(data_dir / "zh", exist_ok=True)
  for i in range(40):
    (data_dir / "zh" / f"d{i:02d}.txt").write_text(f"{i}\n" + "中文字符" * (200 + i), encoding="utf-8")
  assert corpora_cmd.main(["add", "zh", "--files", str(data_dir / "zh" / "*.txt")]) == 0
  s = prepared.read_meta("zh")["splits"]["train"]
  assert prepared.bytes_per_character("zh") == s["bytes"] / s["characters"]
  assert 2.98 < prepared.bytes_per_character("zh") < 3.0
