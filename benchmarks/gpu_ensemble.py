"""GPU: ensemble speed-up (K=16 vmapped vs 16 sequential runs) and bf16 MFU of the largest model.

    python -m benchmarks.gpu_ensemble --out results.json

1. For every ladder entry under 1M non-embedding parameters (batch 32, 128 bytes,
   float32 and bfloat16 compute): the step time of one member (K=1) and of K=16 members
   vmapped in one step. 16 sequential runs cost 16 x t(K=1), so the speed-up is
   16 t(1) / t(16). Goal: at least 10x.
2. The largest ladder entry (85M) in bfloat16: model FLOPs utilisation
   = flops_per_token x tokens/s / peak (H100 SXM: 989 TFLOP/s dense bf16). Goal: 45%.

Both use the training step of transfer_scaling (bench.Runner: scan of
`--steps-per-call` steps per jitted call, state donated). Takes about 5 minutes on an H100.
"""
import argparse
import json
import time
import traceback


# Dense bf16 peak without sparsity, by device kind (datasheets).
PEAK_BF16 = {"H100 80GB HBM3": 989.4e12, "H100 PCIe": 756.0e12, "H200": 989.4e12, "H100": 989.4e12}


def peak_flops(kind: str) -> float:
  for key, value in PEAK_BF16.items():
    if key in kind:
      return value
  return float("nan")


def measure(cfg, batch, members, steps_per_call, calls, step="engine"):
  from transfer_scaling.train import bench
  runner = bench.Runner(cfg, batch, members, steps_per_call, step=step)
  return runner.result([runner.call() for _ in range(calls)])


def _log(path, row):
  # One JSON line per measurement as soon as it exists: a run cut short keeps what it measured.
  print(json.dumps(row), flush=True)
  if path:
    with open(path + ".jsonl", "a") as f:
      f.write(json.dumps(row) + "\n")


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--sizes", default="13k,56k,100k,335k,793k")
  p.add_argument("--members", type=int, default=16)
  p.add_argument("--dtypes", default="float32,bfloat16")
  p.add_argument("--mfu-size", default="85M")
  p.add_argument("--mfu-batches", default="64,128,256")
  p.add_argument("--steps-per-call", type=int, default=20)
  p.add_argument("--calls", type=int, default=5)
  p.add_argument("--mfu-steps", default="engine,minimal", help="training steps to time for MFU")
  p.add_argument("--out", default="")
  a = p.parse_args()
  import jax
  from transfer_scaling.study.config import model_config
  kind = jax.devices()[0].device_kind
  print(f"jax {jax.__version__}, {jax.devices()}", flush=True)
  results = {"device": kind, "jax": jax.__version__, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
             "ensemble": [], "mfu": []}

  for dtype in a.dtypes.split(","):
    for size in filter(None, a.sizes.split(",")):
      cfg = model_config(size, {"dtype": dtype})
      try:
        one = measure(cfg, 32, 1, a.steps_per_call, a.calls)
        many = measure(cfg, 32, a.members, a.steps_per_call, a.calls)
        row = {"size": size, "dtype": dtype, "n_params": one["n_params"], "k1_step_ms": one["step_ms"],
               f"k{a.members}_step_ms": many["step_ms"], "members": a.members,
               "speedup": a.members * one["step_ms"] / many["step_ms"],
               "k1_tokens_per_s": one["tokens_per_s"], "kK_tokens_per_s": many["tokens_per_s"],
               "kK_mfu": many["model_flops_per_s"] / peak_flops(kind)}
      except Exception as e:  # one failing size must not lose the others' numbers
        traceback.print_exc()
        row = {"size": size, "dtype": dtype, "error": repr(e)[:300]}
      results["ensemble"].append(row)
      _log(a.out, row)

  for step in a.mfu_steps.split(","):
    for batch in map(int, a.mfu_batches.split(",")):
      cfg = model_config(a.mfu_size, {"dtype": "bfloat16"})
      try:
        r = measure(cfg, batch, 1, max(2, a.steps_per_call // 4), a.calls, step)
        r["mfu"] = r["model_flops_per_s"] / peak_flops(kind)
      except Exception as e:
        traceback.print_exc()
        r = {"batch": batch, "step": step, "error": repr(e)[:300]}
      results["mfu"].append(r)
      _log(a.out, r)

  print(f"\n{kind}, jax {jax.__version__}, {results['date_utc']} UTC")
  print(f"| size | params | dtype | K=1 ms/step | K={a.members} ms/step | speed-up vs {a.members} sequential | "
        f"MFU at K={a.members} |")
  print("|---|---|---|---|---|---|---|")
  for r in results["ensemble"]:
    if "error" in r:
      print(f"| {r['size']} | | {r['dtype']} | error: {r['error'][:80]} | | | |")
    else:
      print(f"| {r['size']} | {r['n_params']:,} | {r['dtype']} | {r['k1_step_ms']:.2f} | "
            f"{r[f'k{a.members}_step_ms']:.2f} | {r['speedup']:.1f}x | {100 * r['kK_mfu']:.1f}% |")
  print(f"\n| {a.mfu_size} bf16 step | batch | tokens/s | ms/step | model TFLOP/s | MFU |")
  print("|---|---|---|---|---|---|")
  for r in results["mfu"]:
    if "error" in r:
      print(f"| {r['step']} | {r['batch']} | error: {r['error'][:80]} | | | |")
    else:
      print(f"| {r['step']} | {r['batch']} | {r['tokens_per_s']:,.0f} | {r['step_ms']:.1f} | "
            f"{r['model_flops_per_s'] / 1e12:.0f} | {100 * r['mfu']:.1f}% |")
  if a.out:
    with open(a.out, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
