"""`transfer-scaling bench train --d-model D --n-layers L [...]`: training speed on random bytes.

Times the training step users run (forward, backward, AdamW update) for K ensemble
members at once and writes {"tokens_per_s", "step_ms", "n_params", "device", ...} as JSON
(see transfer_scaling/train/bench.py for what each number means).
"""
import argparse
import sys

from transfer_scaling.errors import UsageError
from transfer_scaling.fileio import check_output_file, write_json_atomic


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="transfer-scaling bench train", description=__doc__.splitlines()[0])
  p.add_argument("--d-model", type=int, required=True)
  p.add_argument("--n-layers", type=int, required=True)
  p.add_argument("--n-heads", type=int, default=0, help="default: d_model // 32 (at least 1)")
  p.add_argument("--batch", type=int, default=32, help="sequences per member per step")
  p.add_argument("--seq-len", type=int, default=128)
  p.add_argument("--steps", type=int, default=20, help="timed steps (after a compile-and-warm-up call)")
  p.add_argument("--members", type=int, default=1, help="ensemble members trained together (vmap)")
  p.add_argument("--steps-per-call", type=int, default=0,
                 help="steps fused into one compiled call (lax.scan); default: min(--steps, 10)")
  p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"], help="compute dtype")
  p.add_argument("--step", default="engine", choices=["engine", "minimal"],
                 help="engine: the training engine's step (what users run); minimal: a bare optax.adamw step")
  p.add_argument("--cpu-devices", type=int, default=0,
                 help="on CPU, split the batch over this many devices (default 0: one per core that divides "
                      "--batch; 1: one device using all cores); see docs/performance.md")
  p.add_argument("--json", default="", help="write the result here")
  return p


def main(argv) -> int:
  argv = list(argv)
  if not argv or argv[0] in ("-h", "--help"):
    print("usage: transfer-scaling bench train --d-model D --n-layers L [--batch B] [--seq-len T] "
          "[--steps S] [--members K] [--json OUT]\n\n`transfer-scaling bench train --help` for all options.")
    return 0
  if argv[0] != "train":
    raise UsageError(f"unknown benchmark {argv[0]!r}; the one benchmark is `transfer-scaling bench train`")
  a = _parser().parse_args(argv[1:])
  if a.json:
    check_output_file(a.json, "--json")  # before the benchmark runs, naming the flag
  for name in ("d_model", "n_layers", "batch", "seq_len", "steps", "members"):
    if getattr(a, name) < 1:
      raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(a, name)}")
  if a.steps_per_call < 0:
    raise UsageError(f"--steps-per-call must be at least 1 (or 0 for the default), got {a.steps_per_call}")
  from transfer_scaling.train import mesh as mesh_lib
  mesh_lib.use_cpu_cores(a.cpu_devices, a.batch)
  from transfer_scaling.study.config import model_config
  cfg = model_config("", dict(d_model=a.d_model, n_layers=a.n_layers, n_heads=a.n_heads or max(1, a.d_model // 32),
                              seq_len=a.seq_len, dtype=a.dtype), where="the shape (--n-heads)")
  from transfer_scaling.train.bench import bench_train
  out = bench_train(cfg, a.batch, a.steps, a.members, a.steps_per_call or min(a.steps, 10), step=a.step)
  print(f"{out['tokens_per_s']:,.0f} tokens/s, {out['step_ms']:.2f} ms/step (fastest call {out['step_ms_min']:.2f}), "
        f"{out['n_params']:,} params, K={out['members']}, {out['device']}", file=sys.stderr)
  if a.json:
    write_json_atomic(a.json, out)
  return 0
