"""train_ensemble: K same-shape models trained together in one jitted step.

The loop around the pure steps of step.py: periodic evaluation with early
stopping, checkpoints every ckpt_every steps and at the end, exact resume from
the latest checkpoint in workdir, metrics, and each member's best parameters
saved under workdir/best/ for fine-tuning.
"""
import concurrent.futures
import dataclasses
import functools
import json
import math
import os
import sys
import time
import types

import flax.serialization
import jax
import numpy as np
import tqdm

from transfer_scaling import fileio, ladder
from transfer_scaling.errors import UsageError
from transfer_scaling.model import ModelConfig
from transfer_scaling.train import checkpoint as ckpt_lib
from transfer_scaling.train import mesh as mesh_lib
from transfer_scaling.train import metrics as metrics_lib
from transfer_scaling.train import optim
from transfer_scaling.train import state as state_lib
from transfer_scaling.train import step as step_lib


@dataclasses.dataclass(frozen=True)
class MemberSpec:
  """One ensemble member: its init seed and peak learning rate (its data subset lives in `batches`)."""
  seed: int
  lr: float
  name: str = ""


@dataclasses.dataclass(frozen=True)
class EnsembleSpec:
  """Everything that defines a run; every member shares the model shape and schedule shape."""
  model: ModelConfig
  members: tuple
  batch_size: int
  max_steps: int
  warmup: int = 100
  eval_every: int = 100
  patience: int = 5             # evaluations without improvement before a member is done
  min_delta: float = 0.0        # an improvement must beat the best loss by this much (nats/byte)
  weight_decay: float = 0.1
  clip_norm: float = 1.0
  min_lr_ratio: float = 0.1
  b1: float = 0.9
  b2: float = 0.95
  eps: float = 1e-8
  schedule_steps: int = 0       # length of the cosine decay; 0 means max_steps
  eval_at_start: bool = True    # step-0 evaluation (a fine-tuned model may be best before any step)
  steps_per_call: int = 10      # steps scanned inside one jit call, to amortise dispatch
  ckpt_every: int = 1000        # 0: only at the end
  keep_checkpoints: int = 2
  log_every: int = 1
  progress: bool = True
  tensorboard: bool = True      # event files besides metrics.jsonl (tensorboardX imports torch if present: ~3 s)


@dataclasses.dataclass
class MemberResult:
  """Outcome of one member. tokens and flops count every step it took; wall_s is the ensemble's."""
  name: str
  seed: int
  lr: float
  best_loss: float              # nats/byte on eval_batches(); inf if never evaluated
  best_step: int
  steps: int
  tokens: int
  flops: float
  wall_s: float
  status: str                   # 'done' | 'max_steps' | 'diverged: <reason>'
  best_params_path: str


# Fields that may change between a run and its resumption without changing the result.
_RESUME_FREE = ("steps_per_call", "ckpt_every", "keep_checkpoints", "log_every", "progress", "tensorboard")


def spec_to_dict(spec: EnsembleSpec) -> dict:
  d = dataclasses.asdict(spec)
  d["members"] = [dataclasses.asdict(m) for m in spec.members]
  return d


def _validate(spec: EnsembleSpec, mesh, split: bool) -> None:
  if not spec.members:
    raise UsageError("the ensemble has no members; give at least one MemberSpec(seed, lr)")
  for name in ("batch_size", "max_steps", "eval_every", "patience", "steps_per_call", "log_every"):
    if int(getattr(spec, name)) < 1:
      raise UsageError(f"{name}={getattr(spec, name)} must be a positive integer")
  for name in ("warmup", "ckpt_every", "schedule_steps"):
    if int(getattr(spec, name)) < 0:
      raise UsageError(f"{name}={getattr(spec, name)} must be >= 0")
  for m in spec.members:
    if not (m.lr > 0 and math.isfinite(m.lr)):
      raise UsageError(f"member seed={m.seed} has lr={m.lr}; give a positive finite learning rate")
  if not split:
    mesh_lib.check_divisible(spec.batch_size, mesh)


def _check_batch(x, shape, what: str) -> None:
  if not isinstance(x, np.ndarray) or x.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape)):
    got = getattr(x, "shape", type(x).__name__)
    raise UsageError(f"{what} returned {got}; the engine needs int32 {list(shape)} "
                     f"(None = any): match the provider to the spec's members, batch_size and model.seq_len")
  if not np.issubdtype(x.dtype, np.integer):
    raise UsageError(f"{what} returned dtype {x.dtype}; return integer byte values 0..255")


def _tx(spec):
  return optim.adamw_direction(spec.clip_norm, spec.b1, spec.b2, spec.eps, spec.weight_decay)


def _shape_key(spec: EnsembleSpec) -> EnsembleSpec:
  # The compiled functions depend on neither the members (they are data) nor the loop's bookkeeping.
  return dataclasses.replace(spec, members=(), steps_per_call=1, ckpt_every=0, keep_checkpoints=1,
                             log_every=1, progress=True, tensorboard=True, eval_at_start=True,
                             max_steps=1, warmup=0, schedule_steps=0, min_lr_ratio=0.0, eval_every=1,
                             patience=1, min_delta=0.0)


@functools.lru_cache(maxsize=8)
def _compiled(spec: EnsembleSpec, mesh, split: bool):
  """The jitted init, train-chunk and eval functions for one spec shape (cached: sweeps compile once)."""
  cfg, tx = spec.model, _tx(spec)
  repl, st = mesh_lib.replicated(mesh), mesh_lib.state_sharding(mesh, split)
  make_state = jax.vmap(functools.partial(state_lib.init_state, tx=tx))
  init_params_K = jax.vmap(functools.partial(state_lib.init_params, cfg))
  return types.SimpleNamespace(
      fresh=jax.jit(make_state, out_shardings=st),
      init=jax.jit(lambda seeds, lrs: make_state(init_params_K(seeds), seeds, lrs), out_shardings=st),
      chunk=jax.jit(functools.partial(step_lib.ensemble_train_steps, cfg=cfg, tx=tx), donate_argnums=0,
                    in_shardings=(st, mesh_lib.chunk_sharding(mesh, split), repl), out_shardings=(st, repl)),
      eval=jax.jit(functools.partial(step_lib.ensemble_eval, cfg=cfg), donate_argnums=0,
                   in_shardings=(st, mesh_lib.eval_sharding(mesh, split), repl, repl),
                   out_shardings=(st, repl)))


def _chunk_len(step: int, spec: EnsembleSpec) -> int:
  # Chunks never cross an eval or checkpoint boundary, so a resumed run replays the same chunks.
  ends = [spec.max_steps, (step // spec.eval_every + 1) * spec.eval_every, step + spec.steps_per_call]
  if spec.ckpt_every:
    ends.append((step // spec.ckpt_every + 1) * spec.ckpt_every)
  return min(ends) - step


def _host_batches(batches, step: int, n: int, K: int, spec: EnsembleSpec) -> np.ndarray:
  out = []
  for s in range(step, step + n):
    b = batches.train_batch(s)
    _check_batch(b, (K, spec.batch_size, None), f"batches.train_batch({s})")
    out.append(b.astype(np.int32, copy=False))
  return np.stack(out)


def _finite_or_none(xs, active):
  return [float(x) if a and math.isfinite(x) else None for x, a in zip(xs, active)]


def train_ensemble(spec: EnsembleSpec, batches, workdir: str, init_params=None,
                   resume: str = "auto") -> list:
  """Trains (or resumes) the ensemble in workdir; returns one MemberResult per member.

  init_params: None (fresh init from each member's seed) or a params pytree with a
  leading member axis K (fine-tuning). resume: 'auto' continues from the latest
  checkpoint if any, 'require' insists on one, 'never' refuses a workdir that has one.
  """
  spec = dataclasses.replace(spec, members=tuple(spec.members))
  K, cfg = len(spec.members), spec.model
  mesh = mesh_lib.make_mesh()
  split = mesh_lib.split_members(K, mesh)
  _validate(spec, mesh, split)
  ckpt_dir = os.path.join(workdir, "ckpt")
  has_ckpt = ckpt_lib.has_checkpoint(ckpt_dir)
  if resume not in ("auto", "require", "never"):
    raise UsageError(f"resume={resume!r}; choose 'auto', 'require' or 'never'")
  if resume == "require" and not has_ckpt:
    raise UsageError(f"no checkpoint to resume in {ckpt_dir}; check --workdir, or drop --resume to start a new run")
  if resume == "never" and has_ckpt:
    raise UsageError(f"{workdir} already holds a run; choose a new workdir, or resume it")

  # Look at the data before anything is written, so bad input leaves no trace.
  eval_np = batches.eval_batches()
  _check_batch(eval_np, (None, None, cfg.seq_len + 1), "batches.eval_batches()")
  if not split:
    mesh_lib.check_divisible(eval_np.shape[1], mesh, "eval batch size")
  _check_batch(batches.train_batch(0), (K, spec.batch_size, cfg.seq_len + 1), "batches.train_batch(0)")

  seeds = np.asarray([m.seed for m in spec.members], np.uint32)
  lrs = np.asarray([m.lr for m in spec.members], np.float32)
  abstract_params = jax.eval_shape(jax.vmap(functools.partial(state_lib.init_params, cfg)), seeds)
  abstract_params = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), abstract_params)
  if init_params is not None:
    want = [x.shape for x in jax.tree.leaves(abstract_params)]
    got = [tuple(np.shape(x)) for x in jax.tree.leaves(init_params)]
    if jax.tree.structure(abstract_params) != jax.tree.structure(init_params) or want != got:
      raise UsageError(f"init_params do not fit {K} members of the model {cfg}; "
                       f"stack K copies of params of this model (engine.tile_params / stack_params)")

  repl, st = mesh_lib.replicated(mesh), mesh_lib.state_sharding(mesh, split)
  fns = _compiled(_shape_key(spec), mesh, split)
  seeds, lrs = mesh_lib.put(seeds, st), mesh_lib.put(lrs, st)
  abstract_state = jax.eval_shape(fns.fresh, abstract_params, seeds, lrs)

  ckpt = ckpt_lib.Checkpointer(ckpt_dir, spec.keep_checkpoints)
  spec_dict = spec_to_dict(spec)
  wall_before = 0.0
  if has_ckpt:
    step = ckpt.latest_step()
    meta = ckpt.read_meta(step)
    old = {k: v for k, v in meta["spec"].items() if k not in _RESUME_FREE}
    new = {k: v for k, v in json.loads(json.dumps(spec_dict)).items() if k not in _RESUME_FREE}
    if old != new:
      diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
      raise UsageError(f"{workdir} holds a run with a different spec (fields {', '.join(diff)}); "
                       f"use a new workdir or the original settings")
    state, meta = ckpt.restore(step, abstract_state, st)
    wall_before = float(meta["wall_s"])
  else:
    step = 0
    if init_params is None:
      state = fns.init(seeds, lrs)
    else:
      state = fns.fresh(mesh_lib.put_tree(init_params, st), seeds, lrs)
  if jax.process_index() == 0:
    fileio.write_json_atomic(os.path.join(workdir, "spec.json"), spec_dict)
  metrics = metrics_lib.MetricsWriter(workdir, keep_until=step if has_ckpt else -1,
                                      tensorboard=spec.tensorboard)

  sched = mesh_lib.put(np.asarray([spec.warmup, spec.schedule_steps or spec.max_steps, spec.min_lr_ratio],
                                   np.float32), repl)
  patience = mesh_lib.put(np.asarray(spec.patience, np.int32), repl)
  min_delta = mesh_lib.put(np.asarray(spec.min_delta, np.float32), repl)
  eval_dev = mesh_lib.put(eval_np.astype(np.int32), mesh_lib.eval_sharding(mesh, split))
  tokens_per_step = spec.batch_size * cfg.seq_len

  def save(at_step):
    ckpt.save(at_step, state, {"spec": spec_dict, "step": at_step,
                               "wall_s": wall_before + time.time() - t0})

  def evaluate(at_step):
    nonlocal state
    state, loss_K = fns.eval(state, eval_dev, patience, min_delta)
    loss_K = mesh_lib.to_host(loss_K)
    metrics.write("eval", at_step, {"loss": [float(x) if math.isfinite(x) else None for x in loss_K],
                                    "best_loss": _host_list(state.best_loss),
                                    "done": _host_list(state.done)})

  def flags():
    """(frozen, diverged code, diverged step) per member, fetched once per chunk."""
    done, codes, steps = (mesh_lib.to_host(x) for x in (state.done, state.diverged, state.diverged_step))
    return done | (codes != state_lib.OK), codes, steps

  t0 = time.time()
  warm = None  # (time, step) when the first chunk, which compiles, has finished
  reported = np.zeros(K, bool)
  if not has_ckpt and spec.eval_at_start:
    evaluate(0)
  bar = tqdm.tqdm(total=spec.max_steps, initial=step, disable=None if spec.progress else True,
                  unit="step", file=sys.stderr, dynamic_ncols=True)
  last_saved = step if has_ckpt else -1
  # The next chunk's batches are built in a thread while the device runs this one; an error
  # there surfaces only after this chunk is logged and checkpointed.
  pool = concurrent.futures.ThreadPoolExecutor(1)
  def prefetch(at):
    n = _chunk_len(at, spec) if at < spec.max_steps else 0
    return pool.submit(_host_batches, batches, at, n, K, spec) if n else None
  try:
    host = prefetch(step) if not flags()[0].all() else None
    while host is not None:
      host = host.result()
      t_chunk = time.time()
      state, m = fns.chunk(state, mesh_lib.put(host, mesh_lib.chunk_sharding(mesh, split)), sched)
      first, step = step, step + host.shape[0]
      host = prefetch(step)
      m = jax.tree.map(mesh_lib.to_host, m)
      warm = warm or (time.time(), step)
      for i in range(m["loss"].shape[0]):
        s = first + i + 1
        if s % spec.log_every == 0 or s == step:
          active = m["active"][i]
          metrics.write("train", s, {"loss": _finite_or_none(m["loss"][i], active),
                                     "grad_norm": _finite_or_none(m["grad_norm"][i], active),
                                     "lr": [float(x) for x in m["lr"][i]]})
      if step % spec.eval_every == 0 or step == spec.max_steps:
        evaluate(step)
      frozen, codes, code_steps = flags()
      _report_divergence(codes, code_steps, reported, spec)
      stop = frozen.all()
      if (spec.ckpt_every and step % spec.ckpt_every == 0) or step == spec.max_steps or stop:
        save(step)
        last_saved = step
      act = m["active"][-1]
      mean_loss = float(np.mean(m["loss"][-1][act])) if act.any() else float("nan")
      bar.set_postfix(loss=f"{mean_loss:.3f}", tok_s=f"{K * tokens_per_step * (step - first) / (time.time() - t_chunk):.3g}")
      bar.update(step - first)
      metrics.flush()
      if stop:
        host = None
    if last_saved != step:
      save(step)
  finally:
    # Also on an exception or Ctrl-C: let the in-flight async save finish, so a rerun resumes from it.
    pool.shutdown(cancel_futures=True)
    bar.close()
    ckpt.wait()
    ckpt.close()
    metrics.close()
  if warm and jax.process_index() == 0:
    # Throughput without compilation: every member's steps (frozen ones are computed too) after the first chunk.
    fileio.write_json_atomic(os.path.join(workdir, "timing.json"), {
        "wall_s": time.time() - t0, "steady_s": time.time() - warm[0], "steady_steps": step - warm[1],
        "member_tokens_per_step": K * tokens_per_step})
  return _finish(spec, state, workdir, wall_before + time.time() - t0)


def _host_list(x):
  return [v.item() for v in mesh_lib.to_host(x)]


def _report_divergence(codes, steps, reported, spec):
  for k in np.flatnonzero((codes != state_lib.OK) & ~reported):
    reported[k] = True
    m = spec.members[k]
    print(f"member {k} (seed {m.seed}, lr {m.lr:g}) diverged: {state_lib.reason(int(codes[k]), int(steps[k]))}",
          file=sys.stderr)


def _finish(spec, state, workdir, wall_s) -> list:
  cfg = spec.model
  fpt = ladder.flops_per_token(cfg)
  # Bookkeeping and best params only: the live params and optimizer state are not needed
  # here (and member parallel across processes would gather them all).
  host = jax.tree.map(mesh_lib.to_host, state.replace(params=None, opt_state=None))
  results = []
  for k, m in enumerate(spec.members):
    path = os.path.join(workdir, "best", f"member_{k}.msgpack")
    if jax.process_index() == 0:
      best_k = jax.tree.map(lambda x: x[k], host.best_params)
      fileio.write_bytes_atomic(path, flax.serialization.msgpack_serialize(best_k))
    steps = int(host.step[k])
    if host.diverged[k] != state_lib.OK:
      status = "diverged: " + state_lib.reason(int(host.diverged[k]), int(host.diverged_step[k]))
    elif host.done[k]:
      status = "done"
    else:
      status = "max_steps"
    tokens = steps * spec.batch_size * cfg.seq_len
    results.append(MemberResult(
        name=m.name or f"member{k}", seed=m.seed, lr=m.lr, best_loss=float(host.best_loss[k]),
        best_step=int(host.best_step[k]), steps=steps, tokens=tokens, flops=float(tokens * fpt),
        wall_s=float(wall_s), status=status, best_params_path=path))
  if jax.process_index() == 0:
    rows = [{**dataclasses.asdict(r), "best_loss": r.best_loss if math.isfinite(r.best_loss) else None}
            for r in results]
    fileio.write_json_atomic(os.path.join(workdir, "results.json"), rows)
  return results


def load_best_params(workdir: str, member: int = 0):
  """Best parameters of one member of a finished run, as a nested dict of numpy arrays."""
  path = os.path.join(workdir, "best", f"member_{member}.msgpack")
  if not os.path.exists(path):
    raise UsageError(f"no best parameters at {path}; train that workdir to the end first "
                     f"(or check the member index)")
  with open(path, "rb") as f:
    return flax.serialization.msgpack_restore(f.read())


def stack_params(params_list):
  """Stacks K params pytrees into one with a leading member axis (init_params)."""
  return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *params_list)


def tile_params(params, k: int):
  """K copies of one params pytree (e.g. K fine-tuning runs from one pre-trained model)."""
  return stack_params([params] * k)
