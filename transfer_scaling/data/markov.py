"""A tiny deterministic batch provider for tests, the `train` CLI and benchmarks.

The stream is a first-order Markov chain over `alphabet` symbols where each
symbol has `branching` equally likely successors, so the best possible loss is
ln(branching) nats/byte and a unigram model gets about ln(alphabet): a small
model learns it within a few hundred steps. Member k reads only the first
subset_bytes[k] bytes of the training region (its own data subset); batches are
a pure function of (member seed, step), as the engine's contract requires.
"""
import numpy as np

from transfer_scaling.errors import UsageError


def markov_stream(n_bytes: int, seed: int, alphabet: int = 32, branching: int = 4) -> np.ndarray:
  """n_bytes of the chain as uint8 (symbols mapped to printable bytes from 'A')."""
  rng = np.random.default_rng(seed)
  table = np.stack([rng.choice(alphabet, size=branching, replace=False) for _ in range(alphabet)])
  choice = rng.integers(branching, size=n_bytes)
  out = np.empty(n_bytes, np.int64)
  s = 0
  for i in range(n_bytes):  # sequential by nature; 2**18 bytes take ~0.1 s
    s = table[s, choice[i]]
    out[i] = s
  return (out + ord("A")).astype(np.uint8)


class MarkovBatches:
  """train_batch(step) -> int32 [M, B, L+1]; valid_batches(), test_batches() -> int32 [n, B, L+1]."""

  def __init__(self, seeds, batch_size: int, seq_len: int, subset_bytes=None, n_eval_batches: int = 4,
               data_seed: int = 0, train_bytes: int = 1 << 17, eval_bytes: int = 1 << 15,
               alphabet: int = 32, branching: int = 4):
    self.seeds = [int(s) for s in seeds]
    self.batch_size, self.seq_len, self.n_eval = batch_size, seq_len, n_eval_batches
    subset = subset_bytes if subset_bytes is not None else [train_bytes] * len(self.seeds)
    if len(subset) != len(self.seeds):
      raise UsageError(f"{len(subset)} subset sizes for {len(self.seeds)} members; give one per member")
    for n in subset:
      if not seq_len + 1 < n <= train_bytes:
        raise UsageError(f"subset of {n} bytes must lie in ({seq_len + 1}, {train_bytes}]; "
                         f"change data.subset_bytes or data.train_bytes")
    self.subset = [int(n) for n in subset]
    self.stream = markov_stream(train_bytes + eval_bytes, data_seed, alphabet, branching)
    self.train_bytes, self.data_seed = train_bytes, data_seed

  def _windows(self, offsets) -> np.ndarray:
    idx = np.asarray(offsets)[:, None] + np.arange(self.seq_len + 1)
    return self.stream[idx].astype(np.int32)

  def train_batch(self, step: int) -> np.ndarray:
    """Member k's batch at `step`: random windows of its own subset (seeded by (seed_k, step))."""
    out = []
    for seed, n in zip(self.seeds, self.subset):
      rng = np.random.default_rng([seed, int(step)])
      out.append(self._windows(rng.integers(0, n - self.seq_len - 1, size=self.batch_size)))
    return np.stack(out)

  def _held_out(self, part: int) -> np.ndarray:
    # Validation windows from the first half of the region after the training bytes, test from the second.
    rng = np.random.default_rng([self.data_seed, 1 << 30, part])
    half = (len(self.stream) - self.train_bytes) // 2
    lo = self.train_bytes + part * half
    offsets = rng.integers(lo, lo + half - self.seq_len - 1, size=self.n_eval * self.batch_size)
    return self._windows(offsets).reshape(self.n_eval, self.batch_size, self.seq_len + 1)

  def valid_batches(self) -> np.ndarray:
    """Fixed held-out windows for early stopping, shared by all members."""
    return self._held_out(0)

  def test_batches(self) -> np.ndarray:
    """Fixed held-out windows, disjoint from the validation ones, for the reported loss."""
    return self._held_out(1)

  def identity(self) -> dict:
    return {"source": "markov", "data_seed": self.data_seed, "train_bytes": self.train_bytes,
            "subset_bytes": self.subset, "seeds": self.seeds, "eval_batches": self.n_eval}
