"""Comparisons between studies as intervals of a ratio, paired by seed (laws/compare.py)."""
import numpy as np
import pandas as pd
import pytest

from transfer_scaling.errors import UsageError
from transfer_scaling.laws import compare


class _Fit:
  """A stand-in for a JointFit: a transfer law's value, replicates, and each seed's own fit."""

  def __init__(self, k, seeds_k, rng):
    self.params = {"k": k, "alpha": 0.5, "beta": 0.0}
    self.centre = (1e4, 1e3)
    self.seedwise = pd.DataFrame({"seed": [str(s) for s in range(len(seeds_k))], "k": seeds_k, "alpha": 0.5,
                                  "beta": 0.0})
    self._reps = k * np.exp(0.3 * rng.standard_normal(400))

  def value(self, name, N, D_F):
    return np.float64(1 + self.params["k"] * D_F ** 0.5 / D_F) if name == "multiplier" else \
        np.float64(self.params["k"] * D_F ** 0.5)

  def replicates(self, name, N, D_F):
    r = self._reps[:, None] * D_F ** 0.5
    return 1 + r / D_F if name == "multiplier" else r


def test_a_shared_seed_luck_cancels_from_the_paired_ratio():
  # Two studies sharing runs: each seed's luck (x2 or /2) hits both alike, so the paired log ratios agree to 1%
  # while each study's own spread is wide; the ratio 2 is then resolved, and 1 excluded.
  rng = np.random.default_rng(0)
  luck = np.exp(rng.normal(0, 0.7, 8))
  a = _Fit(20.0, 20.0 * luck * np.exp(rng.normal(0, 0.01, 8)), rng)
  b = _Fit(10.0, 10.0 * luck * np.exp(rng.normal(0, 0.01, 8)), rng)
  t = compare.ratios({"a": a, "b": b}, "D_T")
  r = t.iloc[0]
  assert r["method"].startswith("paired") and r["seeds"] == 8 and r["comparisons"] == 1
  assert r["lo"] < 2.0 < r["hi"] and r["hi"] / r["lo"] < 1.1 and r["excludes_1"]
  assert "1 comparison(s)" in compare.text(t)


def test_the_number_of_comparisons_sets_the_level_and_no_shared_seed_falls_back_to_replicates():
  rng = np.random.default_rng(1)
  fits = {x: _Fit(10.0 * (i + 1), [10.0 * (i + 1)], rng) for i, x in enumerate("abc")}
  t = compare.ratios(fits, "D_T")
  assert len(t) == 3 and (t["comparisons"] == 3).all() and np.allclose(t["level"], 1 - 0.05 / 3)
  assert t["method"].str.startswith("independent").all()  # one seed each: no pairs to take a t interval over
  with pytest.raises(UsageError, match="give one of"):
    compare.ratios(fits, "alpha")


def test_at_equal_characters_each_study_is_read_at_its_own_bytes_and_D_T_counts_characters():
  # Two targets with the same law in bytes: at equal bytes they are equal; a target of 3 bytes per character
  # read at 1,000 characters sits at 3,000 bytes (a smaller multiplier under D_T ~ D_F^0.5) and its D_T,
  # counted in characters, is sqrt(3) / 3 of the other's.
  rng = np.random.default_rng(2)
  fits = {x: _Fit(10.0, [10.0] * 4, rng) for x in ("latin", "cjk")}
  same = compare.ratios(fits, "D_T", N=1e4, D_F=1e3)
  assert np.isclose(same.iloc[0]["ratio"], 1.0) and same.iloc[0]["unit"] == "bytes"
  u = {"latin": 1.0, "cjk": 3.0}
  d_t = compare.ratios(fits, "D_T", N=1e4, D_F=1e3, bytes_per_unit=u).iloc[0]
  mult = compare.ratios(fits, "multiplier", N=1e4, D_F=1e3, bytes_per_unit=u).iloc[0]
  assert d_t["unit"] == "characters" and np.isclose(d_t["ratio"], 3 / np.sqrt(3))
  assert np.isclose(mult["ratio"], (1 + 10 / np.sqrt(1e3)) / (1 + 10 / np.sqrt(3e3)))
  assert "characters" in compare.text(pd.DataFrame([d_t]))
