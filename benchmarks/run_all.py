"""JAX (transfer-scaling's training step) against the same model in plain PyTorch, on CPU.

    python -m benchmarks.run_all [--rounds 7] [--out benchmarks/results/cpu.json]

Sizes: d_model 64/128/256 x n_layers 2/4, batch 32, 128 bytes of context. Both
frameworks run in this one process, alternating call by call (10 JAX steps in one
compiled call, then 10 PyTorch steps), so that the load of a shared machine falls
on both alike; the table gives medians and the fastest call of each. Takes about
10 minutes on 2 cores; prints a markdown table and writes all numbers as JSON.

--separate runs every measurement in a fresh process instead (one `bench train` and
one `benchmarks.torch_reference` per round, alternating), so that neither framework's idle
threads can slow the other; each round contributes its median step time.
JAX splits the batch over one CPU device per core (`--cpu-devices`, as the engine does).
"""
import argparse
import json
import os
import statistics
import sys
import time


SIZES = [(64, 2), (64, 4), (128, 2), (128, 4), (256, 2), (256, 4)]


def compare(d_model, n_layers, batch, seq_len, rounds, steps_per_call=10):
  """Alternates JAX and PyTorch calls of `steps_per_call` steps; returns per-step times of each."""
  from benchmarks import torch_reference
  from transfer_scaling.train import bench
  from transfer_scaling.model import ModelConfig
  n_heads = max(1, d_model // 32)
  cfg = ModelConfig(d_model=d_model, n_layers=n_layers, n_heads=n_heads, seq_len=seq_len)
  jx = bench.Runner(cfg, batch, 1, steps_per_call)
  pt = torch_reference.Runner(d_model, n_layers, n_heads, batch, seq_len)
  assert pt.model.count_params() == jx.result([1.0])["n_params"]
  jax_s, torch_s = [], []
  for _ in range(rounds):
    jax_s.append(jx.call())
    torch_s.append(pt.call(steps_per_call))
  row = {"d_model": d_model, "n_layers": n_layers, "n_heads": n_heads, "batch": batch, "seq_len": seq_len,
         "n_params": pt.model.count_params(), "jax": jx.result(jax_s),
         "torch_step_ms": [1e3 * t / steps_per_call for t in torch_s],
         "jax_step_ms": [1e3 * t / steps_per_call for t in jax_s]}
  tj, tt = statistics.median(row["jax_step_ms"]), statistics.median(row["torch_step_ms"])
  row.update(jax_ms=tj, torch_ms=tt, jax_min_ms=min(row["jax_step_ms"]), torch_min_ms=min(row["torch_step_ms"]),
             speedup_median=tt / tj, speedup_min=min(row["torch_step_ms"]) / min(row["jax_step_ms"]),
             speedup_paired=statistics.median(t / j for t, j in zip(torch_s, jax_s)))
  return row


def _median_step_ms(cmd) -> float:
  import subprocess
  import tempfile
  with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "r.json")
    subprocess.run(cmd + ["--json", out], check=True, capture_output=True)
    with open(out) as f:
      return json.load(f)["step_ms"]


def compare_separate(d_model, n_layers, batch, seq_len, rounds, cpu_devices):
  """Alternates fresh processes of `bench train` (JAX) and torch_reference.py; one median per round each."""
  from transfer_scaling import ladder
  from transfer_scaling.model import ModelConfig
  n_heads = max(1, d_model // 32)
  shape = ["--d-model", str(d_model), "--n-layers", str(n_layers), "--batch", str(batch), "--seq-len", str(seq_len)]
  jax_cmd = [sys.executable, "-m", "transfer_scaling.cli", "bench", "train", *shape, "--steps", "40",
             "--cpu-devices", str(cpu_devices)]
  torch_cmd = [sys.executable, "-m", "benchmarks.torch_reference", *shape, "--steps", "20"]
  jax_ms, torch_ms = [], []
  for _ in range(rounds):
    jax_ms.append(_median_step_ms(jax_cmd))
    torch_ms.append(_median_step_ms(torch_cmd))
  tj, tt = statistics.median(jax_ms), statistics.median(torch_ms)
  return {"d_model": d_model, "n_layers": n_layers, "n_heads": n_heads, "batch": batch, "seq_len": seq_len,
          "n_params": ladder.n_params(ModelConfig(d_model=d_model, n_layers=n_layers, n_heads=n_heads)),
          "mode": "separate processes", "cpu_devices": cpu_devices, "jax_step_ms": jax_ms, "torch_step_ms": torch_ms,
          "jax_ms": tj, "torch_ms": tt, "jax_min_ms": min(jax_ms), "torch_min_ms": min(torch_ms),
          "speedup_median": tt / tj, "speedup_min": min(torch_ms) / min(jax_ms),
          "speedup_paired": statistics.median(t / j for t, j in zip(torch_ms, jax_ms))}


def table(rows) -> str:
  lines = ["| d_model | layers | params | JAX ms/step | PyTorch ms/step | JAX fastest | PyTorch fastest "
           "| speed-up (medians) | speed-up (fastest) | speed-up (paired median) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| {r['d_model']} | {r['n_layers']} | {r['n_params']:,} | {r['jax_ms']:.1f} | {r['torch_ms']:.1f} "
                 f"| {r['jax_min_ms']:.1f} | {r['torch_min_ms']:.1f} | {r['speedup_median']:.2f}x "
                 f"| {r['speedup_min']:.2f}x | {r['speedup_paired']:.2f}x |")
  return "\n".join(lines)


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--rounds", type=int, default=7)
  p.add_argument("--batch", type=int, default=32)
  p.add_argument("--seq-len", type=int, default=128)
  p.add_argument("--sizes", default=",".join(f"{d}x{l}" for d, l in SIZES), help="d_model x n_layers, comma separated")
  p.add_argument("--cpu-devices", type=int, default=0, help="JAX's CPU devices (0: one per core dividing --batch)")
  p.add_argument("--separate", action="store_true", help="each measurement in a fresh process (see above)")
  p.add_argument("--out", default="")
  a = p.parse_args()
  from transfer_scaling.train import mesh
  mesh.use_cpu_cores(a.cpu_devices, a.batch)
  import jax
  import torch
  rows = []
  load0 = os.getloadavg()
  t0 = time.time()
  for spec in a.sizes.split(","):
    d, l = map(int, spec.split("x"))
    rows.append(compare_separate(d, l, a.batch, a.seq_len, a.rounds, a.cpu_devices) if a.separate
                else compare(d, l, a.batch, a.seq_len, a.rounds))
    print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
  meta = {"date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime(t0)), "cpus": os.cpu_count(),
          "load_avg_before": load0, "load_avg_after": os.getloadavg(), "jax": jax.__version__,
          "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
          "xla_flags": os.environ.get("XLA_FLAGS", ""), "rounds": a.rounds,
          "jax_cpu_devices": jax.device_count(), "separate_processes": a.separate}
  print(f"{meta['date_utc']} UTC, {meta['cpus']} CPUs, load {load0[0]:.1f} -> {meta['load_avg_after'][0]:.1f}, "
        f"jax {meta['jax']} ({meta['jax_cpu_devices']} CPU devices), torch {meta['torch']} "
        f"({meta['torch_threads']} threads), XLA_FLAGS={meta['xla_flags']!r}"
        + (", separate processes" if a.separate else ", one process"))
  print(table(rows))
  if a.out:
    from transfer_scaling.fileio import write_json_atomic
    write_json_atomic(a.out, {"meta": meta, "rows": rows})


if __name__ == "__main__":
  main()
