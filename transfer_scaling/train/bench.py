"""Training speed on random bytes: what `transfer-scaling bench train` and benchmarks/ measure.

Times the training step users run (forward, backward, AdamW update) for M
ensemble members at once, several steps per compiled call, and writes
{"tokens_per_s", "step_ms", "n_params", "device", ...} as JSON. tokens_per_s
counts the tokens of all members; step_ms is the wall time of one step of the
whole ensemble (median over timed calls; step_ms_min is the fastest call, the
better estimate on a machine shared with other jobs).
"""
import functools
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from transfer_scaling import ladder
from transfer_scaling.errors import UsageError
from transfer_scaling.model import Transformer, init_params
from transfer_scaling.train import engine, optim, state as state_lib, step as step_lib
from transfer_scaling.train import mesh as mesh_lib


class Runner:
  """A compiled multi-step training call on random bytes: `call()` runs steps_per_call steps and waits."""

  def __init__(self, cfg, batch: int, members: int = 1, steps_per_call: int = 10, seed: int = 0,
               step: str = "engine"):
    self.cfg, self.batch, self.members, self.steps_per_call, self.step = cfg, batch, members, steps_per_call, step
    if step == "engine":
      self.state, self.multi_step = _engine_step(cfg, members, seed)
    elif step == "minimal":
      self.state = _init_state(cfg, jax.random.split(jax.random.key(seed), members))
      self.multi_step = _make_multi_step(cfg)
    else:
      raise UsageError(f"unknown step {step!r}; choose engine or minimal")
    mesh = mesh_lib.make_mesh()
    # As in the engine: members split over the devices when they divide evenly, else data parallel.
    split = mesh_lib.split_members(members, mesh)
    if not split:
      mesh_lib.check_divisible(batch, mesh, "--batch")
    self.state = mesh_lib.put_tree(self.state, mesh_lib.state_sharding(mesh, split))
    rng = np.random.default_rng(seed)
    shape = (steps_per_call, members, batch, cfg.seq_len + 1)
    # Two batches on the device, alternated, so host-to-device copies stay out of the timing.
    self.data = [mesh_lib.put(rng.integers(0, 256, shape, dtype=np.int32),
                              mesh_lib.chunk_sharding(mesh, split)) for _ in range(2)]
    self.layout = "member parallel" if split else "data parallel"
    self.calls, self.cpu_seconds = 0, []
    self.call()  # compiles and warms up
    self.cpu_seconds.clear()

  def call(self) -> float:
    """Runs one call; returns its wall time in seconds (its CPU time goes to self.cpu_seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    self.state, self.loss = self.multi_step(self.state, self.data[self.calls % 2])
    jax.block_until_ready((self.state, self.loss))
    self.calls += 1
    self.cpu_seconds.append(time.process_time() - c0)
    return time.perf_counter() - t0

  def result(self, call_seconds) -> dict:
    """The bench JSON dict from the wall times of several calls."""
    step_s = statistics.median(call_seconds) / self.steps_per_call
    tokens = self.members * self.batch * self.cfg.seq_len
    device = jax.devices()[0]
    c = self.cfg
    return {
        "tokens_per_s": tokens / step_s, "step_ms": 1e3 * step_s,
        "step_ms_min": 1e3 * min(call_seconds) / self.steps_per_call,
        "n_params": ladder.n_params(c), "device": f"{device.platform}: {device.device_kind}",
        "devices": len(jax.devices()), "layout": self.layout, "members": self.members, "batch": self.batch,
        "seq_len": c.seq_len, "d_model": c.d_model,
        "n_layers": c.n_layers, "n_heads": c.n_heads, "dtype": c.dtype, "steps_per_call": self.steps_per_call,
        "step": self.step,
        "timed_steps": len(call_seconds) * self.steps_per_call,
        # CPU time of all threads: work done, nearly blind to other jobs (spin-waits count, though).
        "cpu_ms_per_step": 1e3 * statistics.median(self.cpu_seconds or [float("nan")]) / self.steps_per_call,
        "model_flops_per_s": ladder.flops_per_token(c) * tokens / step_s,
        "loss": float(np.asarray(self.loss).reshape(-1)[-1]), "jax": jax.__version__,
        "xla_flags": os.environ.get("XLA_FLAGS", ""), "load_avg_1m": os.getloadavg()[0],
    }


def bench_train(cfg, batch: int, steps: int, members: int = 1, steps_per_call: int = 10, seed: int = 0,
                step: str = "engine") -> dict:
  """Times about `steps` training steps of `members` models after a warm-up call; returns the bench dict."""
  runner = Runner(cfg, batch, members, steps_per_call, seed, step)
  times = [runner.call() for _ in range(max(1, -(-steps // steps_per_call)))]
  return runner.result(times)


def _engine_step(cfg, members: int, seed: int):
  """The engine's own jitted chunk of steps (what `train_ensemble` runs), with its default optimizer."""
  s = engine.StepConfig(model=cfg, batch_size=1)  # its optimizer defaults
  tx = optim.adamw_direction(s.clip_norm, s.b1, s.b2, s.eps, s.weight_decay)
  # Built under jit, as the engine does, so that params and best_params are distinct (donatable) buffers.
  state_M = jax.jit(jax.vmap(lambda k: state_lib.init_state(state_lib.init_params(cfg, k), k, 1e-3, 10.0, 10**6, tx)))(
      jnp.arange(seed, seed + members))
  min_ratio = jnp.asarray(0.1)
  chunk = jax.jit(functools.partial(step_lib.ensemble_train_steps, cfg=cfg, tx=tx), donate_argnums=0)

  def multi_step(state_M, tokens_SxMxBxL1):
    state_M, metrics = chunk(state_M, tokens_SxMxBxL1, min_ratio)
    return state_M, metrics["loss"]

  return state_M, multi_step


# A minimal AdamW step: no clipping, schedule or divergence bookkeeping (shows what those cost).

def _loss(cfg, params, tokens_BxT1):
  logits_BxTxV = Transformer(cfg).apply({"params": params}, tokens_BxT1[:, :-1])
  return optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV, tokens_BxT1[:, 1:]).mean()


def _optimizer():
  return optax.adamw(1e-3, weight_decay=0.1)


def _init_state(cfg, keys_M):
  params = jax.vmap(lambda k: init_params(cfg, k))(keys_M)
  return params, jax.vmap(_optimizer().init)(params)


def _make_multi_step(cfg):
  """jit(scan over steps of vmap over members of one AdamW step), state donated."""
  tx = _optimizer()

  def train_step(state, tokens_BxT1):
    params, opt_state = state
    loss, grads = jax.value_and_grad(functools.partial(_loss, cfg))(params, tokens_BxT1)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss

  def multi_step(state, tokens_SxMxBxL1):
    return jax.lax.scan(jax.vmap(train_step), state, tokens_SxMxBxL1)

  return jax.jit(multi_step, donate_argnums=0)
