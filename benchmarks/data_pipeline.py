"""Data pipeline throughput vs. training speed: `python -m benchmarks.data_pipeline [--corpus python]`.

Prints a markdown table (docs/benchmarks.md, "Data pipeline"). Times are medians of
repeats; the training step is a plain jitted forward+backward+Adam of model.Transformer,
the work the engine does per batch, so bytes/s of the loader can be set against it.
"""
import argparse
import dataclasses
import os
import statistics
import time

import numpy as np

from transfer_scaling.data import pipeline, prepared


def _median_s(fn, repeats=5, warmup=1):
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t)
  return statistics.median(times)


class _Timed:
  """Wraps PackedBatches and adds up the time the engine spends waiting for train_batch."""

  def __init__(self, batches):
    self.batches, self.data_s = batches, 0.0

  def train_batch(self, step):
    t = time.perf_counter()
    out = self.batches.train_batch(step)
    self.data_s += time.perf_counter() - t
    return out

  def valid_batches(self):
    return self.batches.valid_batches()

  def test_batches(self):
    return self.batches.test_batches()


def _engine_run(corpus: str, size: str, K: int, B: int, T: int, steps: int):
  """(tokens/s of the engine after compilation, share of the engine's wall time spent in train_batch)."""
  import tempfile
  from transfer_scaling.study.config import model_config
  from transfer_scaling.train import engine
  spec = engine.EnsembleSpec(step=engine.StepConfig(model=model_config(size, {"seq_len": T}), batch_size=B),
                             members=tuple(engine.MemberSpec(seed=k, lr=1e-3, warmup=10) for k in range(K)),
                             ceiling=steps, eval_every=10**9, patience=0, eval_at_start=False)
  loop = engine.LoopOptions(ckpt_every=0, progress=False, tensorboard=False)
  walls = []
  # The engine caches compiled steps per shape: a first run compiles, then the difference of two
  # timed runs removes start-up and the end-of-run checkpoint.
  for n in (loop.steps_per_call * 2, loop.steps_per_call * 2, steps):
    timed = _Timed(pipeline.PackedBatches.from_corpus(corpus, [10**6] * K, B, T, list(range(K)),
                                                      valid_bytes=B * T * 2, test_bytes=B * T * 2))
    with tempfile.TemporaryDirectory() as workdir:
      t = time.perf_counter()
      engine.train_ensemble(dataclasses.replace(spec, ceiling=n), timed, workdir, loop=loop)
      walls.append((time.perf_counter() - t, timed.data_s, n))
  (w1, d1, n1), (w2, d2, n2) = walls[1:]
  return K * B * T * (n2 - n1) / (w2 - w1), (d2 - d1) / (w2 - w1)


def _grain_batches_per_s(stream, batch, seq_len):
  import grain
  n = len(stream) - seq_len - 1
  ds = grain.MapDataset.range(n // seq_len).shuffle(seed=0).map(
      lambda i: stream[i * seq_len:i * seq_len + seq_len + 1].astype(np.int32)).batch(batch)
  it = [0]

  def run():
    ds[it[0] % len(ds)]
    it[0] += 1
  return 1 / _median_s(run, repeats=50)


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--corpus", default="python")
  args = p.parse_args()
  print(f"load: {os.getloadavg()[0]:.1f} (1-min average), {os.cpu_count()} cores")
  d = prepared.paths.corpus_dir(args.corpus)
  try:
    import tensorflow_datasets  # noqa: F401  (the cold load reads ArrayRecord through TFDS)
    for f in os.listdir(d):  # cold: read the ArrayRecord files and write the .npy cache
      if f.endswith(".npy"):
        os.remove(os.path.join(d, f))
  except ImportError:  # e.g. a GPU machine given only the .npy caches
    print("tensorflow_datasets is not installed: timing loads from the .npy cache only")
  t = time.perf_counter()
  train_U8, offsets = prepared.load_documents(args.corpus, "train")
  cold = time.perf_counter() - t
  warm = _median_s(lambda: prepared.load_documents(args.corpus, "train"), repeats=3)
  print(f"\nload_documents({args.corpus!r}, 'train'), {len(train_U8) / 1e6:.1f} MB: "
        f"first load {cold:.2f} s, from the .npy cache {warm * 1e3:.1f} ms")
  print("\n| D_F bytes | subset() ms |\n|---|---|")
  for n in (10**5, 10**6, 10**7):
    if n <= len(train_U8):
      print(f"| {n:.0e} | {_median_s(lambda: pipeline.subset_of(train_U8, offsets, n, 0)) * 1e3:.1f} |")
  _, test_U8 = prepared.load_splits(args.corpus)
  sub = pipeline.subset_of(train_U8, offsets, 10**6, 0)
  print("\n| K members | B | T | train_batch ms | pipeline MB/s | grain MapDataset MB/s (K=1) |\n"
        "|---|---|---|---|---|---|")
  for K, B, T in [(1, 32, 128), (8, 32, 128), (1, 32, 1024), (8, 32, 1024), (16, 64, 512)]:
    pb = pipeline.PackedBatches([sub] * K, test_U8, B, T, list(range(K)))
    step = [0]

    def run():
      pb.train_batch(step[0])
      step[0] += 1
    s = _median_s(run, repeats=30)
    g = _grain_batches_per_s(sub, B, T) * B * T / 1e6 if K == 1 else float("nan")
    print(f"| {K} | {B} | {T} | {s * 1e3:.2f} | {K * B * T / s / 1e6:.1f} | {g:.1f} |")
  print("\n| engine run | engine tokens/s | pipeline MB/s at that shape | share of engine time in train_batch |"
        "\n|---|---|---|---|")
  import jax
  shapes = [("13k", 4, 32, 128, 120), ("793k", 1, 32, 128, 60), ("4.7M", 1, 16, 256, 30)]
  if jax.default_backend() == "gpu":  # an accelerator eats tokens far faster: try to make the loader the bottleneck
    shapes = [("13k", 16, 64, 256, 220), ("4.7M", 8, 64, 256, 120), ("25M", 1, 64, 1024, 120)]
  print(f"(engine on {jax.devices()[0].device_kind})")
  for size, K, B, T, steps in shapes:
    tok_s, share = _engine_run(args.corpus, size, K, B, T, steps)
    pb = pipeline.PackedBatches([sub] * K, test_U8, B, T, list(range(K)))
    s = _median_s(lambda: pb.train_batch(7), repeats=30)
    print(f"| {size}, K={K}, B={B}, T={T} | {tok_s:,.0f} | {K * B * T / s / 1e6:.1f} | {share:.1%} |")

if __name__ == "__main__":
  main()
