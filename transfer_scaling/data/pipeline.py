"""Byte streams -> the batch of a step.

Nested subsets: a corpus's training documents are put in one shuffled order per seed
(an int or a tuple such as (data_seed, seed)); the D_F-byte subset is the first D_F bytes
of that order (documents joined by SEP, the last one cut), so for one seed the 1e5-byte
subset is a prefix of the 1e6-byte one.

Packing: member k's subset is read as a cycle (stream + SEP, then again from the
start). An epoch is W = ceil(n / L) windows of L+1 bytes starting every L bytes from an
offset drawn per epoch; the windows of an epoch are visited in a permutation drawn per
epoch. Sample g of member k is window perm_e[g % W] of epoch e = g // W, with
g = step * B + b. Small subsets are thus repeated many times, each epoch cut and ordered
differently, and a batch is a pure function of (subset, seed, step): the data position
in a checkpoint is the step.

Evaluation: the validation split (early stopping and every choice) and the test split
(the reported loss, read once at the end of a run): about `valid_bytes` / `test_bytes`
bytes of each, as windows of L+1 spread evenly over the whole split (all of it when the
split is no larger), cut from its non-overlapping windows; whole batches only, so there is
no padding and no mask. The same bytes for every run of a target.
"""
import functools
import hashlib
import math

import numpy as np

from transfer_scaling.errors import UsageError

SEP = 0


def subset_of(train_U8: np.ndarray, offsets: np.ndarray, n_bytes: int, seed) -> np.ndarray:
  """First N_BYTES bytes of the documents in the shuffled order of SEED (exact to the byte)."""
  n_docs = len(offsets) - 1
  total = int(offsets[-1])
  if n_bytes > total:
    raise UsageError(f"D_F = {n_bytes:,} bytes is larger than the training split ({total:,} bytes, "
                     f"{n_docs:,} documents); use at most {total:,}")
  if n_bytes <= 0:
    raise UsageError(f"D_F must be positive, got {n_bytes}")
  order = np.random.default_rng([*np.atleast_1d(seed).tolist(), 0x5EB]).permutation(n_docs)
  lengths = np.diff(offsets)[order]  # each with its trailing SEP
  k = int(np.searchsorted(np.cumsum(lengths), n_bytes)) + 1  # documents needed to reach n_bytes
  out = np.concatenate([train_U8[offsets[i]:offsets[i + 1]] for i in order[:k]])
  return np.ascontiguousarray(out[:n_bytes])


def subset(corpus: str, n_bytes: int, seed) -> np.ndarray:
  """The nested D_F-byte fine-tuning subset of a prepared corpus's training split."""
  from transfer_scaling.data import prepared
  train_U8, offsets = prepared.load_documents(corpus, "train")
  return subset_of(train_U8, offsets, n_bytes, seed)


def bits_per_byte(nats_per_byte: float) -> float:
  """Loss in bits per byte from nats per byte (one token = one byte)."""
  return nats_per_byte / math.log(2)


EVAL_WINDOWS = ("spread", "prefix")


def _eval_windows(split_U8: np.ndarray, n_bytes: int, seq_len: int, rows: int, what: str,
                  how: str = "spread") -> np.ndarray:
  """int32 [n, rows, L+1]: about n_bytes of a held-out split, in windows spread evenly over all of it
  (how="prefix": its first n_bytes, as runs recorded before the spread windows were measured)."""
  L = seq_len
  total = (len(split_U8) - 1) // L  # the split's non-overlapping windows
  windows = min(total, (min(len(split_U8), n_bytes) - 1) // L)
  rows = min(rows, windows)
  rows -= rows % 8 if rows >= 8 else 0  # a multiple of 8 rows splits over 2, 4 or 8 devices
  if rows <= 0:
    raise UsageError(f"the {what} split has {len(split_U8):,} bytes, fewer than one window of "
                     f"seq_len+1 = {L + 1}; use a shorter seq_len or a larger {what} split")
  n = (windows // rows) * rows
  # Every total/n-th window: a prefix of a few kB is one or two documents, whose mix of prose and
  # code decides which arm looks better; spread windows sample every document of the split.
  first = (np.arange(n, dtype=np.int64) * total) // n if how == "spread" else np.arange(n, dtype=np.int64)
  idx = first[:, None] * L + np.arange(L + 1)
  return np.asarray(split_U8)[idx].astype(np.int32).reshape(n // rows, rows, L + 1)


class PackedBatches:
  """Per-member byte streams packed into int32 [M, B, L+1] batches, addressed by step.

  identity: what the data of these batches is (corpus, content hash, subsets, seeds); the
  engine keeps it with a run and refuses to resume a run on other data. Default: hashes
  of the streams themselves.
  """

  def __init__(self, streams: list[np.ndarray], valid_U8: np.ndarray, test_U8: np.ndarray, batch_size: int,
               seq_len: int, seeds: list[int], valid_bytes: int = 1_000_000, test_bytes: int = 1_000_000,
               eval_batch_size: int | None = None, identity: dict | None = None, eval_windows: str = "spread"):
    if eval_windows not in EVAL_WINDOWS:
      raise UsageError(f"eval_windows={eval_windows!r} is not a way to cut a held-out split; use one of {EVAL_WINDOWS}")
    if len(seeds) != len(streams):
      raise UsageError(f"got {len(streams)} member streams but {len(seeds)} seeds; pass one seed per member")
    if not streams:
      raise UsageError("no member streams; pass one D_F-byte subset per ensemble member")
    L = seq_len
    views = {}  # members given the same array (e.g. a full training split) share one copy
    for s in streams:
      if id(s) not in views:
        cycle = np.append(np.asarray(s, np.uint8), np.uint8(SEP))  # the cycle joins end to start
        # Unrolled by L bytes so that the window at any start is a contiguous row: one row gather per
        # batch instead of an element-wise gather with a modulo (5-10x faster).
        ext = np.tile(cycle, -(-(len(cycle) + L) // len(cycle)))[:len(cycle) + L]
        views[id(s)] = (cycle, np.lib.stride_tricks.sliding_window_view(ext, L + 1))
    self.streams = [views[id(s)][0] for s in streams]
    self._windows = [views[id(s)][1] for s in streams]  # [len(cycle), L+1] views, no copy
    self.sizes = [len(s) - 1 for s in self.streams]
    self.valid_U8, self.test_U8 = np.asarray(valid_U8, np.uint8), np.asarray(test_U8, np.uint8)
    self.batch_size, self.seq_len, self.seeds = batch_size, seq_len, list(seeds)
    self.valid_bytes, self.test_bytes = valid_bytes, test_bytes
    self.eval_batch_size = eval_batch_size or batch_size
    self.eval_windows = eval_windows
    self._identity = identity
    self._epoch = functools.lru_cache(maxsize=4 * len(streams))(self._epoch_uncached)

  @classmethod
  def from_corpus(cls, corpus: str, d_f_bytes: list[int], batch_size: int, seq_len: int, seeds: list[int],
                  subset_seed=0, valid_bytes: int = 1_000_000, test_bytes: int = 1_000_000,
                  eval_batch_size: int | None = None):
    """Member k trains on the first d_f_bytes[k] bytes of CORPUS's order SUBSET_SEED (nested across members)
    and visits its windows in the order of seeds[k]; evaluation on CORPUS's validation and test splits."""
    from transfer_scaling.data import prepared
    train_U8, offsets = prepared.load_documents(corpus, "train")
    valid_U8, _ = prepared.load_documents(corpus, "validation")
    test_U8, _ = prepared.load_documents(corpus, "test")
    streams = [subset_of(train_U8, offsets, n, subset_seed) for n in d_f_bytes]
    identity = {"corpus": corpus, "content": prepared.content_hash(corpus), "d_f": list(d_f_bytes),
                "subset_seed": np.atleast_1d(subset_seed).tolist(), "seeds": list(seeds),
                "valid_bytes": valid_bytes, "test_bytes": test_bytes}
    return cls(streams, valid_U8, test_U8, batch_size, seq_len, seeds, valid_bytes, test_bytes, eval_batch_size,
               identity)

  @property
  def num_members(self) -> int:
    return len(self.streams)

  def identity(self) -> dict:
    if self._identity is None:
      h = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]
      self._identity = {"streams": [h(s) for s in self.streams], "valid": h(self.valid_batches()),
                        "test": h(self.test_batches()), "seeds": self.seeds}
    return self._identity

  def windows_per_epoch(self, k: int) -> int:
    return -(-len(self.streams[k]) // self.seq_len)

  def _epoch_uncached(self, k: int, epoch: int):
    rng = np.random.default_rng([self.seeds[k], epoch])
    return int(rng.integers(len(self.streams[k]))), rng.permutation(self.windows_per_epoch(k))

  def starts(self, k: int, step: int) -> np.ndarray:
    """Start offsets (into member k's cycle) of the B windows of STEP."""
    w = self.windows_per_epoch(k)
    g0, g1 = step * self.batch_size, (step + 1) * self.batch_size - 1
    if g0 // w == g1 // w:  # the usual case: the whole batch lies in one epoch
      offset, perm = self._epoch(k, g0 // w)
      return (offset + perm[g0 % w:g0 % w + self.batch_size] * self.seq_len) % len(self.streams[k])
    g = np.arange(g0, g1 + 1)
    out = np.empty(self.batch_size, np.int64)
    for epoch in range(g0 // w, g1 // w + 1):  # a batch straddles epochs (many, for a tiny subset)
      offset, perm = self._epoch(k, epoch)
      mask = g // w == epoch
      out[mask] = offset + perm[g[mask] % w] * self.seq_len
    return out % len(self.streams[k])

  def train_batch(self, step: int) -> np.ndarray:
    """int32 [M, B, L+1]: member k's windows of STEP from its own subset."""
    out = np.empty((self.num_members, self.batch_size, self.seq_len + 1), np.int32)
    for k, windows in enumerate(self._windows):
      out[k] = windows[self.starts(k, step)]
    return out

  def valid_batches(self) -> np.ndarray:
    """int32 [n, B_eval, L+1] over the fixed validation split: early stopping and every choice."""
    return _eval_windows(self.valid_U8, self.valid_bytes, self.seq_len, self.eval_batch_size, "validation",
                         self.eval_windows)

  def test_batches(self) -> np.ndarray:
    """int32 [n, B_eval, L+1] over the fixed test split: the reported loss, read by no decision."""
    return _eval_windows(self.test_U8, self.test_bytes, self.seq_len, self.eval_batch_size, "test", self.eval_windows)
