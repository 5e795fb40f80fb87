"""XLA:CPU flag variants against PyTorch, measured in CPU time so that other jobs matter little.

    python -m benchmarks.cpu_variants --d-model 128 --n-layers 2 --rounds 2 \\
        st="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \\
        st_noynn="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 \\
                  --xla_cpu_experimental_ynn_fusion_type="

Each NAME="XLA_FLAGS" runs the bench step (engine, K=1, B=32, T=128) in a fresh process
(flags are read when jax starts); `torch1`/`torch2` are the PyTorch loop on 1 and 2 threads.
Prints per variant the median process CPU time per step (all threads; with one thread this is
the work done, nearly blind to the load of a shared machine) and the fastest wall time per step.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

JAX = """
import json, statistics
from transfer_scaling.train import bench
from transfer_scaling.model import ModelConfig
r = bench.Runner(ModelConfig(d_model={d}, n_layers={l}, n_heads=max(1, {d} // 32)), 32, 1, {spc}, step={step!r})
w = [r.call() for _ in range(3)]
print(json.dumps([1e3 * statistics.median(r.cpu_seconds) / {spc}, 1e3 * min(w) / {spc}]))
"""

TORCH = """
import json, statistics, torch
torch.set_num_threads({threads})
from benchmarks import torch_reference
r = torch_reference.Runner({d}, {l}, max(1, {d} // 32), 32, 128)
w = [r.call(3) for _ in range(3)]
print(json.dumps([1e3 * statistics.median(r.cpu_seconds) / 3, 1e3 * min(w) / 3]))
"""


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--d-model", type=int, default=128)
  p.add_argument("--n-layers", type=int, default=2)
  p.add_argument("--rounds", type=int, default=2)
  p.add_argument("--steps-per-call", type=int, default=5)
  p.add_argument("--step", default="engine")
  p.add_argument("variants", nargs="*", help='NAME="XLA flags"')
  a = p.parse_args()
  variants = dict(v.split("=", 1) for v in a.variants)
  res = {name: [] for name in ["torch1", "torch2", *variants]}
  for _ in range(a.rounds):
    for name in res:
      if name.startswith("torch") and name not in variants:
        code = TORCH.format(threads=name[-1], d=a.d_model, l=a.n_layers)
        env = dict(os.environ)
      else:
        code = JAX.format(d=a.d_model, l=a.n_layers, spc=a.steps_per_call, step=a.step)
        env = dict(os.environ, XLA_FLAGS=variants[name])
      proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
      if proc.returncode:
        print(name, "failed:", proc.stderr[-500:])
        continue
      res[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
  print(f"load average {os.getloadavg()[0]:.1f}")
  print("| variant | CPU ms/step (median) | fastest wall ms/step |\n|---|---|---|")
  for name, v in res.items():
    if v:
      print(f"| {name} | {statistics.median(x[0] for x in v):.1f} | {min(x[1] for x in v):.1f} |")


if __name__ == "__main__":
  main()
