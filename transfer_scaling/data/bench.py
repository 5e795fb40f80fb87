"""Data pipeline throughput vs. training speed: `python -m transfer_scaling.data.bench [--corpus python]`.

Prints a markdown table (docs/benchmarks.md, "Data pipeline"). Times are medians of
repeats; the training step is a plain jitted forward+backward+Adam of model.Transformer,
the work the engine does per batch, so bytes/s of the loader can be set against it.
"""
import argparse
import os
import shutil
import statistics
import time

import numpy as np

from transfer_scaling.data import pipeline, store


def _median_s(fn, repeats=5, warmup=1):
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t)
  return statistics.median(times)


def _train_tokens_per_s(size: str, batch: int, seq_len: int) -> float:
  import jax
  import optax
  from transfer_scaling import ladder, model
  cfg = ladder.model_config(size, seq_len=seq_len)
  params = model.init_params(cfg, jax.random.PRNGKey(0))
  tx = optax.adam(1e-3)
  opt = tx.init(params)
  net = model.Transformer(cfg)

  @jax.jit
  def step(params, opt, x_BxL1):
    def loss(p):
      logits = net.apply({"params": p}, x_BxL1[:, :-1])
      return optax.softmax_cross_entropy_with_integer_labels(logits, x_BxL1[:, 1:]).mean()
    g = jax.grad(loss)(params)
    u, opt = tx.update(g, opt, params)
    return optax.apply_updates(params, u), opt

  x = np.random.default_rng(0).integers(0, 256, (batch, seq_len + 1)).astype(np.int32)
  state = [params, opt]

  def run():
    state[0], state[1] = step(state[0], state[1], x)
    jax.block_until_ready(state[0])
  return batch * seq_len / _median_s(run, repeats=5, warmup=2)


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
  d = os.path.join(store.paths.corpus_dir(args.corpus))
  for f in os.listdir(d):  # cold: read the ArrayRecord files and write the .npy cache
    if f.endswith(".npy"):
      os.remove(os.path.join(d, f))
  t = time.perf_counter()
  train_U8, offsets = store.load_documents(args.corpus, "train")
  cold = time.perf_counter() - t
  warm = _median_s(lambda: store.load_documents(args.corpus, "train"), repeats=3)
  print(f"\nload_documents({args.corpus!r}, 'train'), {len(train_U8) / 1e6:.1f} MB: "
        f"from ArrayRecord {cold:.2f} s, from the .npy cache {warm * 1e3:.1f} ms")
  print("\n| D_F bytes | subset() ms |\n|---|---|")
  for n in (10**5, 10**6, 10**7):
    if n <= len(train_U8):
      print(f"| {n:.0e} | {_median_s(lambda: pipeline.subset_of(train_U8, offsets, n, 0)) * 1e3:.1f} |")
  _, test_U8 = store.load_splits(args.corpus)
  sub = pipeline.subset_of(train_U8, offsets, 10**6, 0)
  print("\n| K members | B | T | train_batch ms | pipeline MB/s | grain MapDataset MB/s (K=1) |\n|---|---|---|---|---|---|")
  for K, B, T in [(1, 32, 128), (8, 32, 128), (1, 32, 1024), (8, 32, 1024), (16, 64, 512)]:
    pb = pipeline.PackedBatches([sub] * K, test_U8, B, T, list(range(K)))
    step = [0]

    def run():
      pb.train_batch(step[0])
      step[0] += 1
    s = _median_s(run, repeats=30)
    g = _grain_batches_per_s(sub, B, T) * B * T / 1e6 if K == 1 else float("nan")
    print(f"| {K} | {B} | {T} | {s * 1e3:.2f} | {K * B * T / s / 1e6:.1f} | {g:.1f} |")
  print("\n| model | B | T | train step tokens/s (1 member) |\n|---|---|---|---|")
  for size, B, T in [("13k", 32, 128), ("793k", 32, 128), ("4.7M", 32, 128)]:
    print(f"| {size} | {B} | {T} | {_train_tokens_per_s(size, B, T):,.0f} |")


if __name__ == "__main__":
  main()
