"""Achieved tokens/s and model-FLOPs utilisation of one ensemble, logged per group.

tokens_per_s counts each member's own steps over the ensemble's whole wall time
(compilation, evaluation and checkpoints included); steady_tokens_per_s is the
hardware's rate once compiled: the member-steps computed outside the first call of
each program (frozen members that pad a block included) over the time outside those
calls, from the engine's timing.json.
"""
import dataclasses
import os
import sys

import jax

from transfer_scaling import fileio

# Dense peak FLOP/s per device by device kind (bf16 tensor cores; float32 runs use a fraction of it).
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "V100": 125e12,
              "TPU v4": 275e12, "TPU v5": 459e12, "TPU v5 lite": 197e12}


def peak_flops():
  """Total peak FLOP/s of the local devices, or None where unknown (CPUs)."""
  kind = jax.devices()[0].device_kind
  peak = next((v for k, v in sorted(PEAK_FLOPS.items(), key=lambda kv: -len(kv[0])) if k in kind), None)
  return peak * jax.local_device_count() if peak else None


def log(gdir: str, ens, results) -> dict:
  """Writes groups/<id>/throughput.json and prints one line; tokens count every member's own steps."""
  wall = max(r.wall_s for r in results) or float("nan")
  tokens = sum(r.tokens for r in results)
  flops = sum(r.flops for r in results)
  peak = peak_flops()
  d = {"members": len(results), "model": dataclasses.asdict(ens.step.model), "wall_s": wall,
       "tokens": tokens, "flops": flops,
       "tokens_per_s": tokens / wall, "flops_per_s": flops / wall, "device": jax.devices()[0].device_kind,
       "n_devices": jax.device_count(), "mfu": flops / wall / peak if peak else None}
  d["steady_tokens_per_s"] = d["steady_mfu"] = None
  try:
    t = fileio.read_json(os.path.join(gdir, "timing.json"))
  except (OSError, ValueError):
    t = {}
  if t.get("steady_steps"):
    # Every member-step computed once compiled, frozen padding included: the hardware's rate.
    d["steady_tokens_per_s"] = t["member_steps"] * t["tokens_per_step"] / t["steady_s"]
    d["steady_s"], d["computed_tokens"] = t["steady_s"], t["member_steps"] * t["tokens_per_step"]
    d["compile_s"] = t.get("compile_s")  # the whole ensemble's tracing, lowering and XLA (or cache loads)
    if peak and tokens:
      d["steady_mfu"] = d["steady_tokens_per_s"] * flops / tokens / peak
  fileio.write_json_atomic(os.path.join(gdir, "throughput.json"), d)
  mfu = f", MFU {100 * d['mfu']:.1f}%" if d["mfu"] is not None else ""
  if d["steady_tokens_per_s"]:
    mfu += f" ({d['steady_tokens_per_s']:,.0f} tokens/s once compiled)"
  print(f"  {len(results)} x d_model={ens.step.model.d_model} layers={ens.step.model.n_layers}: "
        f"{d['tokens_per_s']:,.0f} tokens/s, "
        f"{d['flops_per_s'] / 1e9:.2f} GFLOP/s{mfu} over {wall:.1f} s", file=sys.stderr)
  return d
