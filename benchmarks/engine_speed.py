"""Engine throughput: `python -m benchmarks.engine_speed --sizes 13k,335k --members 1,8`.

Times train_ensemble itself (dispatch, host batches, metrics included) on the
toy stream: steady-state seconds per step from two runs of different length
after a warm-up run that compiles, so compilation is excluded.
"""
import argparse
import statistics
import tempfile
import time

import jax

from transfer_scaling.study.config import model_config
from transfer_scaling.data import markov
from transfer_scaling.train import engine


def step_time(size: str, k: int, batch: int, seq_len: int, dtype: str, steps_per_call: int, repeats: int) -> float:
  """Median steady-state seconds per training step of a k-member ensemble."""
  cfg = model_config(size, {"seq_len": seq_len, "dtype": dtype})
  members = [engine.MemberSpec(seed=i, lr=1e-3, warmup=5) for i in range(k)]
  batches = markov.MarkovBatches(range(k), batch, seq_len)

  def run(n):
    spec = engine.EnsembleSpec(step=engine.StepConfig(model=cfg, batch_size=batch), members=members, ceiling=n,
                               eval_every=n, patience=0, eval_at_start=False)
    loop = engine.LoopOptions(steps_per_call=steps_per_call, ckpt_every=0, progress=False, tensorboard=False)
    with tempfile.TemporaryDirectory() as w:
      t = time.perf_counter()
      engine.train_ensemble(spec, batches, w, loop=loop)
      return time.perf_counter() - t

  short, long_ = 2 * steps_per_call, 6 * steps_per_call
  run(short)  # compiles
  return statistics.median((run(long_) - run(short)) / (long_ - short) for _ in range(repeats))


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__)
  p.add_argument("--sizes", default="13k,335k")
  p.add_argument("--members", default="1,8")
  p.add_argument("--batch", type=int, default=16)
  p.add_argument("--seq-len", type=int, default=128)
  p.add_argument("--dtype", default="float32")
  p.add_argument("--steps-per-call", type=int, default=10)
  p.add_argument("--repeats", type=int, default=3)
  a = p.parse_args(argv)
  print(f"devices: {jax.devices()}")
  print("| size | members | step ms | member-tokens/s | tokens/s per member |")
  print("|---|---|---|---|---|")
  for size in a.sizes.split(","):
    for k in map(int, a.members.split(",")):
      t = step_time(size, k, a.batch, a.seq_len, a.dtype, a.steps_per_call, a.repeats)
      tok = a.batch * a.seq_len / t
      print(f"| {size} | {k} | {1e3 * t:.1f} | {k * tok:,.0f} | {tok:,.0f} |", flush=True)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
