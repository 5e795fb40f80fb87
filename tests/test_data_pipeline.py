"""Nested subsets and packed batches on small in-memory byte streams."""
import numpy as np
import pytest

from transfer_scaling.data.pipeline import PackedBatches, subset_of
from transfer_scaling.errors import UsageError


def _corpus(n_docs=200, seed=0):
  rng = np.random.default_rng(seed)
  docs = [bytes(rng.integers(97, 123, rng.integers(5, 300)).astype(np.uint8)) for _ in range(n_docs)]
  stream = np.frombuffer(b"".join(d + b"\x00" for d in docs), np.uint8)
  offsets = np.concatenate([[0], np.cumsum([len(d) + 1 for d in docs])])
  return docs, stream, offsets


def test_subsets_are_nested_exact_and_made_of_whole_documents():
  docs, stream, offsets = _corpus()
  small, big = subset_of(stream, offsets, 1000, seed=3), subset_of(stream, offsets, 10_000, seed=3)
  assert len(small) == 1000 and len(big) == 10_000
  np.testing.assert_array_equal(big[:1000], small)
  pieces = bytes(big).split(b"\x00")
  assert all(p in docs for p in pieces[:-1])  # every piece but the cut last one is a whole document
  assert any(d.startswith(pieces[-1]) for d in docs)
  other = subset_of(stream, offsets, 10_000, seed=4)
  assert not np.array_equal(other, big)


def test_subset_larger_than_train_split_says_how_big_it_is():
  _, stream, offsets = _corpus()
  with pytest.raises(UsageError, match=f"{int(offsets[-1]):,} bytes"):
    subset_of(stream, offsets, int(offsets[-1]) + 1, seed=0)
  assert len(subset_of(stream, offsets, int(offsets[-1]), seed=0)) == offsets[-1]


def test_train_batch_is_a_pure_function_of_step_with_one_subset_per_member():
  _, stream, offsets = _corpus()
  a, b = subset_of(stream, offsets, 5000, 0), subset_of(stream, offsets, 700, 1)
  test = np.arange(4000, dtype=np.uint8)
  batches = PackedBatches([a, b], test, test, batch_size=4, seq_len=32, seeds=[0, 1])
  x = batches.train_batch(17)
  assert x.shape == (2, 4, 33) and x.dtype == np.int32
  again = PackedBatches([a, b], test, test, batch_size=4, seq_len=32, seeds=[0, 1])
  np.testing.assert_array_equal(again.train_batch(17), x)  # resume: a fresh object gives the same batch
  assert not np.array_equal(batches.train_batch(18), x)
  member0 = bytes(np.append(a, 0).astype(np.uint8)) * 3
  for row in x[0]:
    assert bytes(row.astype(np.uint8)) in member0  # member 0 reads only its own (cyclic) subset
  assert set(np.unique(x[1])) <= set(np.unique(b)) | {0}


def test_an_epoch_covers_every_byte_and_epochs_differ():
  stream = np.arange(1, 201, dtype=np.uint8)  # 200 bytes + SEP = a cycle of 201
  batches = PackedBatches([stream], stream, stream, batch_size=1, seq_len=10, seeds=[5])
  w = batches.windows_per_epoch(0)
  assert w == 21
  epoch0 = np.stack([batches.train_batch(s)[0, 0] for s in range(w)])
  assert set(epoch0[:, :-1].ravel()) == set(range(201))  # bytes 1..200 and the SEP
  epoch1 = np.stack([batches.train_batch(s)[0, 0] for s in range(w, 2 * w)])
  assert not np.array_equal(epoch0, epoch1)


def test_tiny_subset_shorter_than_a_window_is_repeated():
  batches = PackedBatches([np.frombuffer(b"abc", np.uint8)], np.zeros(100, np.uint8), np.zeros(100, np.uint8),
                          2, 8, [0])
  x = batches.train_batch(0)
  assert x.shape == (1, 2, 9) and set(np.unique(x)) <= {0, 97, 98, 99}


def test_eval_batches_are_fixed_and_cover_the_budget_without_padding():
  test = np.random.default_rng(0).integers(0, 256, 10_000).astype(np.uint8)
  valid = test[::-1].copy()
  b1 = PackedBatches([test[:500]], valid, test, batch_size=4, seq_len=64, seeds=[0], test_bytes=5000)
  b2 = PackedBatches([test[:900]], valid, test, batch_size=4, seq_len=64, seeds=[9], test_bytes=5000)
  e = b1.test_batches()
  np.testing.assert_array_equal(e, b2.test_batches())  # same bytes for every run of a target
  np.testing.assert_array_equal(b1.valid_batches()[0, 0], valid[:65])  # validation: its own split
  assert e.shape == (19, 4, 65)  # (5000 - 1) // 64 = 78 windows -> 19 full batches of 4
  flat = e.reshape(-1, 65)
  # Spread over the whole split: 76 of its 156 windows, about every other one, in order, none twice.
  starts = [int(np.flatnonzero((np.lib.stride_tricks.sliding_window_view(test, 65) == w).all(1))[0]) for w in flat]
  assert starts[0] == 0 and all(s % 64 == 0 for s in starts) and np.all(np.diff(starts) > 0)
  assert starts[-1] // 64 >= 156 - 3 and max(np.diff(starts)) <= 3 * 64  # reaches the end of the split
  whole = PackedBatches([test], valid, test, 4, 64, [0], test_bytes=20_000).test_batches().reshape(-1, 65)
  np.testing.assert_array_equal(whole[1:, 0], whole[:-1, -1])  # all of it: consecutive windows share one byte
  np.testing.assert_array_equal(whole[:, :-1].ravel(), test[:len(whole) * 64])
  prefix = PackedBatches([test], valid, test, 4, 64, [0], test_bytes=5000, eval_windows="prefix").test_batches()
  np.testing.assert_array_equal(prefix.reshape(-1, 65)[:, :-1].ravel(), test[:76 * 64])  # older records' bytes
  with pytest.raises(UsageError, match="fewer than one window"):
    PackedBatches([test], test[:50], test[:50], 4, 64, [0]).valid_batches()
  with pytest.raises(UsageError, match="eval_windows"):
    PackedBatches([test], valid, test, 4, 64, [0], eval_windows="middle")


def test_mismatched_seeds_are_rejected():
  with pytest.raises(UsageError, match="one seed per member"):
    PackedBatches([np.zeros(10, np.uint8)] * 2, np.zeros(10, np.uint8), np.zeros(10, np.uint8), 2, 4, [0])


def test_bits_per_byte():
  from transfer_scaling.data.pipeline import bits_per_byte
  assert abs(bits_per_byte(np.log(2) * 3) - 3) < 1e-12


def test_members_given_one_array_share_it_but_not_their_order():
  stream = np.arange(1, 250, dtype=np.uint8)
  pb = PackedBatches([stream] * 3, stream, stream, 2, 8, seeds=[0, 1, 2])
  assert pb.streams[0] is pb.streams[2]
  x = pb.train_batch(0)
  assert not np.array_equal(x[0], x[1])


def test_batches_follow_the_documented_order_across_epoch_boundaries():
  stream = np.random.default_rng(1).integers(1, 256, 203).astype(np.uint8)
  pb = PackedBatches([stream], stream, stream, batch_size=5, seq_len=10, seeds=[3])
  cycle = np.append(stream, 0)
  w = pb.windows_per_epoch(0)  # 21: batches of 5 straddle epochs every few steps
  for step in range(12):
    for b, row in enumerate(pb.train_batch(step)[0]):
      g = step * 5 + b
      rng = np.random.default_rng([3, g // w])
      offset, perm = int(rng.integers(len(cycle))), rng.permutation(w)
      start = offset + perm[g % w] * 10
      np.testing.assert_array_equal(row, cycle[(start + np.arange(11)) % len(cycle)])
