"""train_ensemble: M same-shape models trained together in one jitted step.

The loop around the pure steps of step.py: periodic validation with early stopping,
per-member step budgets that double while a member still improves at its end (up to
the ensemble's ceiling), checkpoints every ckpt_every steps and at the end, exact resume
from the latest checkpoint in workdir, metrics, each member's best parameters saved
under workdir/best/, and at the very end one test-split loss per member of those best
parameters: the reported number, which no decision of the loop has seen.

Three kinds of settings: StepConfig defines the compiled computation (model, batch,
optimizer); EnsembleSpec holds everything else that decides a result (members, budgets,
stopping); LoopOptions only steer the loop (chunking, checkpoints, logging) and may change
between a run and its resumption.
"""
import concurrent.futures
import dataclasses
import functools
import json
import math
import sys
import time
import types

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import tqdm
from jax.sharding import NamedSharding, PartitionSpec as P

from transfer_scaling import fileio, interrupt, ladder
from transfer_scaling.errors import UsageError
from transfer_scaling.model import ModelConfig
from transfer_scaling.train import checkpoint as ckpt_lib
from transfer_scaling.train import compile_clock
from transfer_scaling.train import mesh as mesh_lib
from transfer_scaling.train import metrics as metrics_lib
from transfer_scaling.train import optim
from transfer_scaling.train import state as state_lib
from transfer_scaling.train import step as step_lib


@dataclasses.dataclass(frozen=True)
class StepConfig:
  """What the compiled step depends on: the model, the batch and the optimizer (the compile key)."""
  model: ModelConfig
  batch_size: int
  weight_decay: float = optim.DEFAULTS.weight_decay
  clip_norm: float = optim.DEFAULTS.clip_norm
  b1: float = optim.DEFAULTS.b1
  b2: float = optim.DEFAULTS.b2
  eps: float = optim.DEFAULTS.eps


@dataclasses.dataclass(frozen=True)
class MemberSpec:
  """One ensemble member: its init seed, peak learning rate, warm-up and first step budget.

  Its data subset lives in the batch provider. budget 0 means the ensemble's ceiling.
  """
  seed: int
  lr: float
  warmup: int = 100
  budget: int = 0
  name: str = ""
  decay_from: int = -1          # the step the cosine decay starts; -1: at the end of the warm-up


@dataclasses.dataclass(frozen=True)
class EnsembleSpec:
  """Everything besides the step that decides a result."""
  step: StepConfig
  members: tuple
  ceiling: int                  # no member takes more steps than this
  eval_every: int = 100
  patience: int = 5             # evaluations without improvement before a member stops; 0: never early
  min_delta: float = 0.0        # an improvement must beat the best loss by this much (nats/byte)
  min_lr_ratio: float = 0.1     # cosine decay over each member's first budget to this fraction; 1: constant
  extend: bool = True           # a member still improving at the end of its budget continues (budget x 2)
  eval_at_start: bool = True    # step-0 evaluation (a fine-tuned model may be best before any step)
  # A member never better than at step 0 has learnt nothing: a failure for a fresh initialisation,
  # but a result for a pre-trained one (fine-tuning on this data does not help).
  require_improvement: bool = True


@dataclasses.dataclass(frozen=True)
class LoopOptions:
  steps_per_call: int = 10      # steps scanned inside one jit call, to amortise dispatch
  ckpt_every: int = 1000        # 0: only at the end
  keep_checkpoints: int = 2     # the latest this many are kept (all of them when keep_steps is set)
  keep_steps: tuple = ()        # steps also saved, and kept, e.g. the pre-training steps p fine-tuning starts from
  log_every: int = 1
  # Members per compiled program (0: the default layout of `layout`, whose results do not depend
  # on the device count on a CPU). Another block may change the last bits of a result, through
  # how XLA lays members out, so it is part of the checkpoint's layout and a resume must keep it.
  block: int = 0
  progress: bool = True
  tensorboard: bool = True      # event files besides metrics.jsonl (tensorboardX imports torch if present: ~3 s)


@dataclasses.dataclass
class MemberResult:
  """Outcome of one member. tokens and flops count every step it took; wall_s is the ensemble's."""
  name: str
  seed: int
  lr: float
  warmup: int
  valid_loss: float             # best validation loss (nats/byte); inf if never evaluated
  test_loss: float              # test loss of the parameters at best_step (nats/byte)
  best_step: int
  steps: int
  budget: int                   # the budget it ended with (its first one, doubled while it still improved)
  tokens: int
  flops: float
  wall_s: float
  status: str                   # 'done' | 'cut_off' | 'diverged: <reason>' | 'no_improvement: <reason>'
  best_params_path: str

# The layout of a checkpointed TrainState; a resume must restore the layout it was saved in.
STATE_FORMATS = {1: "optimizer state per parameter", 2: "optimizer state over the two vectors of optim.flat",
                 3: "a schedule with its decay start"}
STATE_FORMAT = 3


def spec_to_dict(spec: EnsembleSpec) -> dict:
  d = dataclasses.asdict(spec)
  d["members"] = [dataclasses.asdict(m) for m in spec.members]
  return json.loads(json.dumps(d))


def _budget(m: MemberSpec, spec: EnsembleSpec) -> int:
  return min(m.budget or spec.ceiling, spec.ceiling)


def _validate(spec: EnsembleSpec, loop: LoopOptions) -> None:
  if not spec.members:
    raise UsageError("the ensemble has no members; give at least one MemberSpec(seed, lr)")
  for obj, names in ((spec.step, ("batch_size",)), (spec, ("ceiling", "eval_every")),
                     (loop, ("steps_per_call", "log_every", "keep_checkpoints"))):
    for name in names:
      v = getattr(obj, name)
      if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise UsageError(f"{name}={v!r} must be a positive integer")
  for name, v in (("patience", spec.patience), ("ckpt_every", loop.ckpt_every), ("block", loop.block)):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
      raise UsageError(f"{name}={v!r} must be an integer >= 0")
  for m in spec.members:
    if not (isinstance(m.lr, (int, float)) and m.lr > 0 and math.isfinite(m.lr)):
      raise UsageError(f"member seed={m.seed} has lr={m.lr}; give a positive finite learning rate")
    if m.warmup < 0 or m.budget < 0:
      raise UsageError(f"member seed={m.seed} has warmup={m.warmup}, budget={m.budget}; both must be >= 0")
    if m.decay_from < -1:
      raise UsageError(f"member seed={m.seed} has decay_from={m.decay_from}; give a step >= 0, or -1 for the end "
                       "of the warm-up")


def _check_batch(x, shape, what: str) -> None:
  if (not isinstance(x, np.ndarray) or x.ndim != len(shape)
      or any(s is not None and s != d for s, d in zip(shape, x.shape))):
    got = getattr(x, "shape", type(x).__name__)
    raise UsageError(f"{what} returned {got}; the engine needs int32 {list(shape)} "
                     f"(None = any): match the provider to the spec's members, batch_size and model.seq_len")
  if not np.issubdtype(x.dtype, np.integer):
    raise UsageError(f"{what} returned dtype {x.dtype}; return integer byte values 0..255")


@functools.lru_cache(maxsize=8)
def _compiled(step: StepConfig, mesh, split: bool):
  """The jitted init, train-chunk and eval functions of one step config (cached: sweeps compile once)."""
  cfg = step.model
  tx = optim.adamw_direction(step.clip_norm, step.b1, step.b2, step.eps, step.weight_decay)
  repl, st = mesh_lib.replicated(mesh), mesh_lib.state_sharding(mesh, split)
  make_state = jax.vmap(lambda params, seed, lr, warmup, decay_from, budget: state_lib.init_state(
      params, seed, lr, warmup, budget, tx, decay_from))
  ev = mesh_lib.eval_sharding(mesh, split)
  chunk = functools.partial(step_lib.ensemble_train_steps, cfg=cfg, tx=tx)
  evaluate = functools.partial(step_lib.ensemble_eval, cfg=cfg)
  losses = functools.partial(step_lib.ensemble_losses, cfg=cfg)
  out = repl
  if split:
    # Member parallel: each device runs the program of its own members, written at their width,
    # so no step can come to depend on another device's members through the partitioner.
    M_, SxM, rep = P("data"), P(None, "data"), P()
    chunk = jax.shard_map(chunk, mesh=mesh, in_specs=(M_, P(None, "data"), rep), out_specs=(M_, SxM),
                          check_vma=False)
    evaluate = jax.shard_map(evaluate, mesh=mesh, in_specs=(M_, rep, rep), out_specs=(M_, M_), check_vma=False)
    losses = jax.shard_map(losses, mesh=mesh, in_specs=(M_, rep), out_specs=M_, check_vma=False)
    out = NamedSharding(mesh, M_)
  return types.SimpleNamespace(
      fresh=jax.jit(make_state, out_shardings=st),
      chunk=jax.jit(chunk, donate_argnums=0, in_shardings=(st, mesh_lib.chunk_sharding(mesh, split), repl),
                    out_shardings=(st, NamedSharding(mesh, P(None, "data")) if split else repl)),
      eval=jax.jit(evaluate, donate_argnums=0, in_shardings=(st, ev, repl), out_shardings=(st, out)),
      losses=jax.jit(losses, in_shardings=(st, ev), out_shardings=out))


def _chunk_len(step: int, spec: EnsembleSpec, loop: LoopOptions) -> int:
  # Chunks never cross an eval or checkpoint boundary, so a resumed run replays the same chunks.
  ends = [spec.ceiling, (step // spec.eval_every + 1) * spec.eval_every, step + loop.steps_per_call]
  if loop.ckpt_every:
    ends.append((step // loop.ckpt_every + 1) * loop.ckpt_every)
  ends += [k for k in loop.keep_steps if k > step]
  return min(ends) - step


def _host_batches(batches, step: int, n: int, M: int, spec: EnsembleSpec, idx) -> np.ndarray:
  out = []
  # An empty slot (index M) trains on a copy of the last member's batch; it is frozen.
  whole = len(idx) == M and idx[-1] == M - 1
  for s in range(step, step + n):
    b = batches.train_batch(s)
    _check_batch(b, (M, spec.step.batch_size, None), f"batches.train_batch({s})")
    out.append(b.astype(np.int32, copy=False) if whole else b[np.minimum(idx, M - 1)].astype(np.int32, copy=False))
  return np.stack(out)


def _finite_or_none(xs, active):
  return [float(x) if a and math.isfinite(x) else None for x, a in zip(xs, active)]


def _identity(batches) -> dict:
  ident = getattr(batches, "identity", None)
  return ident() if callable(ident) else {}


def train_ensemble(spec: EnsembleSpec, batches, workdir, init_params=None, resume: str = "auto",
                   loop: LoopOptions = LoopOptions(), init_state=None) -> list:
  """Trains (or resumes) the ensemble in workdir (local or remote); returns one MemberResult per member.

  batches: train_batch(step) -> [M, B, L+1], valid_batches() and test_batches() -> [n, B', L+1],
  and optionally identity() -> dict (a run is never resumed on other data). init_params: None
  (fresh init from each member's seed) or a params pytree with a leading member axis M
  (fine-tuning). init_state: None, or where another run stopped, to continue it (a cool-down
  branch of a pre-training run): {"params", "opt_state", "rng"} with a leading member axis and the
  "step" every member is at; its data position is that step. resume: 'auto' continues from the
  latest checkpoint if any, 'require' insists on one, 'never' refuses a workdir that has one.
  """
  t_call, compiled_before = time.time(), compile_clock.seconds()
  spec = dataclasses.replace(spec, members=tuple(spec.members))
  _validate(spec, loop)
  lay = layout(len(spec.members), loop.block)
  has_ckpt = _check_resume(resume, fileio.path(workdir) / "ckpt", workdir)
  valid_np = _check_data(spec, batches, lay)  # before anything is written, so bad input leaves no trace
  if init_state is not None:
    init_params = _check_init_state(init_state, spec)["params"]
  run = _Run(spec, batches, workdir, lay, loop, valid_np, init_params, has_ckpt, init_state)
  run.train()
  results = run.finish()
  run.write_timing(t_call, compiled_before)
  return results


def _check_resume(resume: str, ckpt_dir, workdir) -> bool:
  """Whether workdir holds a checkpoint, checked against what `resume` asks."""
  has_ckpt = ckpt_lib.has_checkpoint(ckpt_dir)
  if resume not in ("auto", "require", "never"):
    raise UsageError(f"resume={resume!r}; choose 'auto', 'require' or 'never'")
  if resume == "require" and not has_ckpt:
    raise UsageError(f"no checkpoint to resume in {ckpt_dir}; check --workdir, or drop --resume to start a new run")
  if resume == "never" and has_ckpt:
    raise UsageError(f"{workdir} already holds a run; choose a new workdir, or resume it")
  return has_ckpt


def _check_data(spec: EnsembleSpec, batches, lay: "Layout") -> np.ndarray:
  """The validation batches, after the provider's shapes (and a batch split, if any) are checked."""
  M, cfg, mesh = len(spec.members), spec.step.model, lay.mesh
  # Batches are split over devices in any layout whose members are not (mesh.py).
  split_all = all(mesh_lib.split_members(w, mesh) for w in _widths(M, lay.block, lay.narrow))
  if not split_all:
    mesh_lib.check_divisible(spec.step.batch_size, mesh)
  valid_np = batches.valid_batches()
  _check_batch(valid_np, (None, None, cfg.seq_len + 1), "batches.valid_batches()")
  if not split_all:
    mesh_lib.check_divisible(valid_np.shape[1], mesh, "eval batch size")
  _check_batch(batches.train_batch(0), (M, spec.step.batch_size, cfg.seq_len + 1), "batches.train_batch(0)")
  return valid_np


def _check_init_params(init_params, abstract_params, M: int, cfg) -> None:
  want = [x.shape for x in jax.tree.leaves(abstract_params)]
  got = [tuple(np.shape(x)) for x in jax.tree.leaves(init_params)]
  if jax.tree.structure(abstract_params) != jax.tree.structure(init_params) or want != got:
    raise UsageError(f"init_params do not fit {M} members of the model {cfg}; "
                     f"stack M copies of params of this model (engine.tile_params / stack_params)")


def _check_init_state(init_state: dict, spec: EnsembleSpec) -> dict:
  missing = sorted({"params", "opt_state", "rng", "step"} - set(init_state))
  if missing:
    raise UsageError(f"init_state lacks {', '.join(missing)}; give the params, opt_state, rng and step of the run "
                     "it continues (a checkpoint's TrainState)")
  step = init_state["step"]
  if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step < spec.ceiling:
    raise UsageError(f"init_state step={step!r} must be an integer in [0, ceiling={spec.ceiling}); the run it "
                     "continues must have steps left")
  return init_state


def _check_checkpoint(meta: dict, spec_dict: dict, lay: "Layout", workdir, ckpt_dir) -> None:
  """Refuses a checkpoint of another state format, device layout, spec or data (the caller closes it)."""
  found = meta.get("state_format", 1)  # checkpoints before the field were format 1
  if found != STATE_FORMAT:
    raise UsageError(f"{workdir} holds a checkpoint in state format {found} "
                     f"({STATE_FORMATS.get(found, 'unknown to this engine')}), this engine resumes format "
                     f"{STATE_FORMAT} ({STATE_FORMATS[STATE_FORMAT]}); finish the run with the version that "
                     f"started it, or start it again in a new workdir")
  if meta.get("layout") != lay.key:
    raise UsageError(f"{workdir} was checkpointed on the device layout {_layout_words(meta.get('layout'))}, "
                     f"this process has {_layout_words(lay.key)}; resume it on the layout that started it, "
                     f"or delete {ckpt_dir} to train it again from the start")
  old = meta["spec"]
  if old != spec_dict:
    diff = sorted(k for k in set(old) | set(spec_dict) if old.get(k) != spec_dict.get(k))
    raise UsageError(f"{workdir} holds a run with a different spec or data (fields {', '.join(diff)}); "
                     f"use a new workdir or the original settings")


class _Run:
  """One call's training of an ensemble: its state (fresh or restored), the loop, the results.

  Besides the state it keeps the call's timing: time in first calls of a program (a chunk of a
  new width or length, an evaluation at a new width) is mostly compilation, which a warm cache
  or a longer run amortises; the rest is steady state.
  """

  def __init__(self, spec, batches, workdir, lay, loop, valid_np, init_params, has_ckpt, init_state=None):
    self.spec, self.batches, self.lay, self.loop, self.workdir = spec, batches, lay, loop, workdir
    self.wd, self.has_ckpt = fileio.path(workdir), has_ckpt
    M, cfg, mesh = len(spec.members), spec.step.model, lay.mesh
    self.M, self.cfg = M, cfg
    split = mesh_lib.split_members(M, mesh)
    seeds = np.asarray([m.seed for m in spec.members], np.uint32)
    per_member = (np.asarray([m.lr for m in spec.members], np.float32),
                  np.asarray([m.warmup for m in spec.members], np.float32),
                  np.asarray([m.decay_from for m in spec.members], np.float32),
                  np.asarray([_budget(m, spec) for m in spec.members], np.int32))
    abstract_params = jax.eval_shape(jax.vmap(functools.partial(state_lib.init_params, cfg)), seeds)
    abstract_params = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), abstract_params)
    if init_params is not None:
      _check_init_params(init_params, abstract_params, M, cfg)
    repl, st = mesh_lib.replicated(mesh), mesh_lib.state_sharding(mesh, split)
    fns = _compiled(spec.step, mesh, split)
    seeds = mesh_lib.put(seeds, st)
    per_member = tuple(mesh_lib.put(x, st) for x in per_member)
    self.spec_dict = {**spec_to_dict(spec), "data": json.loads(json.dumps(_identity(batches)))}
    if init_state is not None:  # where it starts is part of the run: a resume must start there too
      self.spec_dict["start"] = int(init_state["step"])
    self.start = self.spec_dict.get("start", 0)
    ckpt_dir = self.wd / "ckpt"
    self.ckpt = ckpt_lib.Checkpointer(ckpt_dir, None if loop.keep_steps else loop.keep_checkpoints)
    self.wall_before = 0.0
    if has_ckpt:
      self.step = self.ckpt.latest_step()
      try:
        _check_checkpoint(self.ckpt.read_meta(self.step), self.spec_dict, lay, workdir, ckpt_dir)
      except UsageError:
        self.ckpt.close()
        raise
      abstract_state = jax.eval_shape(fns.fresh, abstract_params, seeds, *per_member)
      full, meta = self.ckpt.restore(self.step, abstract_state, st)
      self.wall_before = float(meta["wall_s"])
      self.members = _Members(full, meta["active"], meta["width"], lay.block, lay.narrow, spec.step, mesh)
    else:
      self.step = 0
      if init_params is None:
        # One member's init compiled once per model (a vmapped init compiles for seconds per width).
        init_one = _init_params(cfg)
        init_params = stack_params([jax.device_get(init_one(np.uint32(m.seed))) for m in spec.members])
      full = fns.fresh(mesh_lib.put_tree(init_params, st), seeds, *per_member)
      if init_state is not None:
        full = _continued(full, init_state, st)
        self.step = int(init_state["step"])
      self.members = _Members(full, range(M), min(lay.block, M), lay.block, lay.narrow, spec.step, mesh)
    if jax.process_index() == 0:
      fileio.write_json_atomic(self.wd / "spec.json", self.spec_dict)
    self.metrics = metrics_lib.MetricsWriter(self.wd, keep_until=self.step if has_ckpt else -1,
                                             tensorboard=loop.tensorboard)
    self.min_ratio = mesh_lib.put(np.asarray(spec.min_lr_ratio, np.float32), repl)
    self.stop_args = tuple(mesh_lib.put(np.asarray(v, t), repl) for v, t in (
        (spec.patience, np.int32), (spec.min_delta, np.float32), (spec.ceiling, np.int32), (spec.extend, bool)))
    self.valid_np, self.valid_dev = valid_np, {}  # per layout: the batches placed for member- or data-parallel
    self.tokens_per_step = spec.step.batch_size * cfg.seq_len
    self.reported = np.zeros(M, bool)
    self.seen_shapes, self.first_calls_s = set(), 0.0
    self.first_steps = self.first_member_steps = self.steps_here = 0
    self.t0 = time.time()

  def _valid(self):
    split = self.members.split
    if split not in self.valid_dev:
      self.valid_dev[split] = mesh_lib.put(self.valid_np.astype(np.int32), mesh_lib.eval_sharding(self.lay.mesh, split))
    return self.valid_dev[split]

  def save(self, at_step: int) -> None:
    m = self.members
    self.ckpt.save(at_step, m.merged(), {"spec": self.spec_dict, "step": at_step, "state_format": STATE_FORMAT,
                                         "layout": self.lay.key, "active": m.idx.tolist(), "width": m.width,
                                         "wall_s": self.wall_before + time.time() - self.t0})

  def evaluate(self, at_step: int) -> None:
    t_eval, kind, m = time.time(), ("eval", self.members.width), self.members
    loss_k = m.eval(self._valid(), self.stop_args)
    self.metrics.write("eval", at_step, {"loss": m.spread(loss_k, finite=True),
                                         "best_loss": m.spread(m.field("best_loss"), finite=True),
                                         "budget": m.spread(m.field("budget").tolist()),
                                         "done": m.spread(m.field("done").tolist(), fill=True)})
    if kind not in self.seen_shapes:  # an evaluation at a new width: mostly compilation
      self.seen_shapes.add(kind)
      self.first_calls_s += time.time() - t_eval

  def flags(self):
    """(frozen, diverged code, diverged step) per slot of the layout, fetched once per chunk."""
    done, codes, steps = (self.members.field(x) for x in ("done", "diverged", "diverged_step"))
    return done | (codes != state_lib.OK), codes, steps

  def _log_chunk(self, m: dict, first: int, t_chunk: float) -> None:
    """Train metrics of the chunk's steps first+1 .. self.step, and its timing."""
    shape = (self.members.width, m["loss"].shape[0])
    self.steps_here += self.step - first
    if shape not in self.seen_shapes:
      self.seen_shapes.add(shape)
      self.first_calls_s += time.time() - t_chunk
      self.first_steps += self.step - first
      self.first_member_steps += len(self.members.idx) * (self.step - first)
    for i in range(m["loss"].shape[0]):
      s = first + i + 1
      if s % self.loop.log_every == 0 or s == self.step:
        active = m["active"][i]
        self.metrics.write("train", s, {"loss": self.members.spread(_finite_or_none(m["loss"][i], active)),
                                        "grad_norm": self.members.spread(_finite_or_none(m["grad_norm"][i], active)),
                                        "lr": self.members.spread([float(x) for x in m["lr"][i]])})

  def train(self) -> None:
    """The loop: chunks of steps, evaluations, checkpoints; a stop request saves first (interrupt.py)."""
    spec, loop, members = self.spec, self.loop, self.members
    if not self.has_ckpt and spec.eval_at_start:
      self.evaluate(self.step)
    if self.has_ckpt and self.step % spec.eval_every == 0 and self.step < spec.ceiling and not self.flags()[0].all():
      # A checkpoint at an evaluation holds the width before the shrink that followed it; shrink
      # here as the uninterrupted run did, or the next chunks would run at another width.
      members.shrink(self.flags()[0])
    bar = tqdm.tqdm(total=spec.ceiling, initial=self.step, disable=None if loop.progress else True,
                    unit="step", file=sys.stderr, dynamic_ncols=True)
    last_saved = self.step if self.has_ckpt else -1
    # The next chunk's batches are built in a thread while the device runs this one; an error
    # there surfaces only after this chunk is logged and checkpointed.
    pool = concurrent.futures.ThreadPoolExecutor(1)

    def prefetch(at, idx):
      n = _chunk_len(at, spec, loop) if at < spec.ceiling else 0
      return pool.submit(_host_batches, self.batches, at, n, self.M, spec, idx) if n else None

    with interrupt.deferred() as ctrl_c:
      try:
        host = prefetch(self.step, members.idx) if not self.flags()[0].all() else None
        while host is not None:
          host = host.result()
          t_chunk = time.time()
          m = members.chunk(host, self.min_ratio)
          first = self.step
          self.step += host.shape[0]
          at_eval = self.step % spec.eval_every == 0 or self.step == spec.ceiling
          # Prefetch for the current members unless an evaluation may shrink the ensemble first.
          host = prefetch(self.step, members.idx) if not at_eval else None
          m = members.to_host(m)
          self._log_chunk(m, first, t_chunk)
          if at_eval:
            self.evaluate(self.step)
          frozen, codes, code_steps = self.flags()
          _report_divergence(codes, code_steps, self.reported, spec, members.idx)
          stop = frozen.all() or self.step >= spec.ceiling
          if ((loop.ckpt_every and self.step % loop.ckpt_every == 0) or self.step in loop.keep_steps or stop
              or ctrl_c.requested):
            self.save(self.step)
            last_saved = self.step
          act = m["active"][-1]
          mean_loss = float(np.mean(m["loss"][-1][act])) if act.any() else float("nan")
          tok_s = len(members.idx) * self.tokens_per_step * (self.step - first) / (time.time() - t_chunk)
          bar.set_postfix(loss=f"{mean_loss:.3f}", members=f"{int((~frozen).sum())}/{self.M}", tok_s=f"{tok_s:.3g}")
          bar.update(self.step - first)
          self.metrics.flush()
          if ctrl_c.requested:
            interrupt.check()
          if stop:
            host = None
          elif at_eval:
            members.shrink(frozen)
            host = prefetch(self.step, members.idx)
        if last_saved != self.step:
          self.save(self.step)
      finally:
        # Also on an exception or Ctrl-C: let the in-flight async save finish, so a rerun resumes from it.
        pool.shutdown(cancel_futures=True)
        bar.close()
        self.ckpt.wait()
        self.ckpt.close()
        self.metrics.close()
    self.loop_s = time.time() - self.t0

  def finish(self) -> list:
    """The test split, read once, after every decision: the reported loss of each member's best parameters."""
    test_np = self.batches.test_batches()
    _check_batch(test_np, (None, None, self.cfg.seq_len + 1), "batches.test_batches()")
    state = self.members.merged()
    test_M = self.members.best_losses(state, test_np.astype(np.int32), "test batch size")
    return _finish(self.spec, state, test_M, self.wd, self.wall_before + time.time() - self.t0, self.start)

  def write_timing(self, t_call: float, compiled_before: float) -> None:
    """timing.json: the whole call (init, training, test, results) and its compilation.

    The rest is the time the call would take with every program compiled. The loop's
    member-steps (frozen padding included) over its time outside first calls are the hardware's
    rate; member_steps_all counts the first calls' chunks too.
    """
    if not self.steps_here or jax.process_index() != 0:
      return
    ensemble_s, compile_s = time.time() - t_call, compile_clock.seconds() - compiled_before
    fileio.write_json_atomic(self.wd / "timing.json", {
        "ensemble_s": ensemble_s, "compile_s": compile_s, "ensemble_steady_s": ensemble_s - compile_s,
        "wall_s": self.loop_s, "first_calls_s": self.first_calls_s, "steady_s": self.loop_s - self.first_calls_s,
        "steady_steps": self.steps_here - self.first_steps,
        "member_steps": self.members.computed - self.first_member_steps,
        "member_steps_all": self.members.computed, "member_tokens_per_step": self.M * self.tokens_per_step,
        "tokens_per_step": self.tokens_per_step, "shapes": sorted(map(list, self.seen_shapes), key=str)})


# The narrower widths a one-block ensemble shrinks to. Each width costs a compilation (a few
# seconds of XLA per program at 13k-56k parameters on a CPU), so there are few: docs/performance.md.
WIDTHS = (2, 8)


@dataclasses.dataclass(frozen=True)
class Layout:
  """How an ensemble's members are spread over devices and compiled programs.

  key is what a result may depend on: a checkpoint records it and a resume must find the same.
  """
  mesh: object
  block: int        # members per compiled program
  narrow: bool      # one block that narrows through WIDTHS as members stop (else fixed-width blocks)
  key: dict


def layout(M: int, block: int = 0) -> Layout:
  """The layout of M members on this process's devices; block 0 picks the default.

  On a CPU the default gives every device one member per program and never splits a batch
  (an ensemble smaller than the device count uses that many devices: a single run, one). An
  accelerator needs the whole ensemble in one program to be busy. Either way XLA compiles the
  program for the devices it spans, and its fusions, hence the last bits of a result, may
  differ with their number: the key names the device count, and a study keeps one (workdir.py).
  """
  n = jax.device_count()
  if jax.default_backend() == "cpu" and not block:
    k = min(n, M) if jax.process_count() == 1 else n
    return Layout(mesh_lib.make_mesh(k), k, False, {"backend": "cpu", "devices": k, "members_per_device": 1})
  block = block or M
  return Layout(mesh_lib.make_mesh(), block, block >= M,
                {"backend": jax.default_backend(), "devices": n, "block": block})


def _layout_words(key) -> str:
  if not key:
    return "unrecorded (an older engine's)"
  if "members_per_device" in key:
    return f"{key['backend']}, {key['devices']} device{'s' if key['devices'] > 1 else ''}, one member per device"
  return f"{key['backend']}, {key['devices']} devices, {key['block']} members per program"


def _widths(M: int, block: int, narrow: bool) -> set:
  """Every width the layout of M members may take (see _Members)."""
  return {M} | {w for w in WIDTHS if w < M} if narrow else {block}


class _Members:
  """The members still training, laid out in blocks of one compiled width.

  idx maps each slot of the layout to a member (M: an empty slot, a frozen copy that is never
  written back); slots j*width ... (j+1)*width - 1 form block j. Fixed-width blocks (a CPU):
  every block has width `block`, the last one padded with empty slots, and after an evaluation
  the members still training are packed into fewer blocks once they fit. A narrowing block (an
  accelerator): one block, which narrows to a width of WIDTHS once enough members have stopped,
  since frozen members cost a full step each under vmap. The layout depends only on which
  members are frozen, and is saved with each checkpoint, so a resumed run replays it.
  """

  def __init__(self, full, idx, width, block, narrow, step_cfg: StepConfig, mesh):
    self.full, self.step_cfg, self.mesh, self.block, self.narrow = full, step_cfg, mesh, block, narrow
    self.M = int(jax.tree.leaves(full)[0].shape[0])
    self.computed = 0
    idx = np.asarray(list(idx), np.int32)
    width = int(width or len(idx))
    self._use(np.concatenate([idx, np.full(-len(idx) % width, self.M, np.int32)]), width)

  def _use(self, idx, width):
    self.idx, self.width = idx, width
    self.split = mesh_lib.split_members(width, self.mesh)
    self.fns = _compiled(self.step_cfg, self.mesh, self.split)
    self.whole = width == self.M and np.array_equal(idx, np.arange(self.M))
    if self.whole:
      self.blocks = [self.full]
    else:
      take = _gather(self.mesh, self.split)
      self.blocks = [take(self.full, jnp.asarray(idx[cols])) for cols in self._spans()]

  def _spans(self):
    """The slots of each block, as slices of idx (and of a chunk's batch columns)."""
    return [slice(j, j + self.width) for j in range(0, len(self.idx), self.width)]

  def merged(self):
    """The full M-member state, brought up to date with the blocks."""
    if self.whole:
      self.full = self.blocks[0]
    else:
      put_back = _scatter(self.mesh, mesh_lib.split_members(self.M, self.mesh))
      for cols, b in zip(self._spans(), self.blocks):
        self.full = put_back(self.full, jnp.asarray(self.idx[cols]), b)
    return self.full

  def shrink(self, frozen) -> None:
    """Packs the members still training (frozen: per slot) into a smaller layout, if one fits them."""
    live = self.idx[~frozen & (self.idx < self.M)]
    if not self.narrow:
      width, n = self.width, -(-len(live) // self.width)
    else:
      width, n = min(next((w for w in WIDTHS if w >= len(live)), self.width), self.width), 1
    if width * n >= len(self.idx):
      return
    self.merged()
    self._use(np.concatenate([live, np.full(width * n - len(live), self.M, np.int32)]), width)

  def chunk(self, host_SxKxBxL1, min_ratio) -> list:
    """Dispatches one chunk of steps to every block; host batches have one column per slot."""
    sharding, out = mesh_lib.chunk_sharding(self.mesh, self.split), []
    for j, cols in enumerate(self._spans()):
      self.blocks[j], m = self.fns.chunk(self.blocks[j], mesh_lib.put(host_SxKxBxL1[:, cols], sharding), min_ratio)
      out.append(m)
    self.computed += len(self.idx) * host_SxKxBxL1.shape[0]
    return out

  @staticmethod
  def to_host(metrics: list) -> dict:
    """The chunk's per-block metrics [S, width] as one host array [S, slots] per name."""
    return {k: np.concatenate([mesh_lib.to_host(m[k]) for m in metrics], axis=1) for k in metrics[0]}

  def eval(self, valid, stop) -> np.ndarray:
    """Validation losses (per slot) and the early-stopping update of every block."""
    losses = []
    for j, b in enumerate(self.blocks):
      self.blocks[j], loss = self.fns.eval(b, valid, stop)
      losses.append(loss)
    return np.concatenate([mesh_lib.to_host(x) for x in losses])

  def field(self, name: str) -> np.ndarray:
    """One per-member state field, per slot, on the host."""
    return np.concatenate([mesh_lib.to_host(getattr(b, name)) for b in self.blocks])

  def best_losses(self, full, batches_np, what: str) -> np.ndarray:
    """Loss of every member's best parameters (full: the merged state) on these batches, in blocks of the
    starting width."""
    width = min(self.block, self.M)
    split = mesh_lib.split_members(width, self.mesh)
    if not split:
      mesh_lib.check_divisible(batches_np.shape[1], self.mesh, what)
    dev = mesh_lib.put(batches_np, mesh_lib.eval_sharding(self.mesh, split))
    losses = _compiled(self.step_cfg, self.mesh, split).losses
    if width == self.M:
      return mesh_lib.to_host(losses(full.best_params, dev))
    take = _gather(self.mesh, split)
    parts = [losses(take(full, jnp.arange(j, j + width)).best_params, dev) for j in range(0, self.M, width)]
    return np.concatenate([mesh_lib.to_host(x) for x in parts])[:self.M]

  def spread(self, values, finite=False, fill=None) -> list:
    """Per-slot values -> a M-long list (None, or `fill`, for members outside the layout)."""
    out = [fill] * self.M
    for k, v in zip(self.idx, values):
      if k < self.M:
        out[int(k)] = (float(v) if math.isfinite(v) else None) if finite and v is not None else v
    return out


@functools.lru_cache(maxsize=8)
def _init_params(cfg: ModelConfig):
  return jax.jit(functools.partial(state_lib.init_params, cfg))


def _take(full, idx):
  # An index past the last member is an empty slot: a frozen copy of the last member.
  M = full.done.shape[0]
  sub = jax.tree.map(lambda x: x[jnp.minimum(idx, M - 1)], full)
  return sub.replace(done=sub.done | (idx >= M))


@functools.lru_cache(maxsize=16)
def _gather(mesh, split: bool):
  return jax.jit(_take, out_shardings=mesh_lib.state_sharding(mesh, split))


@functools.lru_cache(maxsize=16)
def _scatter(mesh, split: bool):
  # Empty slots (index M) are dropped.
  return jax.jit(lambda tree, idx, sub: jax.tree.map(lambda x, y: x.at[idx].set(y, mode="drop"), tree, sub),
                 out_shardings=mesh_lib.state_sharding(mesh, split), donate_argnums=0)


def _report_divergence(codes, steps, reported, spec, idx):
  for j in np.flatnonzero(codes != state_lib.OK):
    k = int(idx[j])
    if k >= len(reported) or reported[k]:
      continue
    reported[k] = True
    m = spec.members[k]
    print(f"member {k} (seed {m.seed}, lr {m.lr:g}) diverged: {state_lib.reason(int(codes[j]), int(steps[j]))}",
          file=sys.stderr)


def _status(host, k: int, spec: EnsembleSpec) -> str:
  if host.diverged[k] != state_lib.OK:
    return "diverged: " + state_lib.reason(int(host.diverged[k]), int(host.diverged_step[k]))
  if spec.require_improvement and spec.eval_at_start and int(host.best_step[k]) == 0 and int(host.step[k]) > 0:
    return (f"no_improvement: the validation loss never fell below its value at initialisation in "
            f"{int(host.step[k])} steps; its learning rate {spec.members[k].lr:g} may be too high or too low: try the "
            f"other end of the grid")
  return "cut_off" if host.cut_off[k] else "done"


def _finish(spec, state, test_M, wd, wall_s, start: int = 0) -> list:
  cfg = spec.step.model
  fpt = ladder.flops_per_token(cfg)
  # Bookkeeping and best params only: the live params and optimizer state are not needed
  # here (and member parallel across processes would gather them all).
  host = jax.tree.map(mesh_lib.to_host, state.replace(params=None, opt_state=None))
  results = []
  for k, m in enumerate(spec.members):
    path = wd / "best" / f"member_{k}.msgpack"
    if jax.process_index() == 0:
      best_k = jax.tree.map(lambda x: x[k], host.best_params)
      fileio.write_bytes_atomic(path, flax.serialization.msgpack_serialize(best_k))
    steps = int(host.step[k]) - start  # a continued run counts the steps it took, not its parent's
    tokens = steps * spec.step.batch_size * cfg.seq_len
    status = _status(host, k, spec)
    valid = float(host.best_loss[k])
    results.append(MemberResult(
        name=m.name or f"member{k}", seed=m.seed, lr=m.lr, warmup=m.warmup, valid_loss=valid,
        test_loss=float(test_M[k]) if math.isfinite(valid) else math.inf,
        best_step=int(host.best_step[k]), steps=steps, budget=int(host.budget[k]), tokens=tokens,
        flops=float(tokens * fpt), wall_s=float(wall_s), status=status, best_params_path=str(path)))
  if jax.process_index() == 0:
    rows = [{**dataclasses.asdict(r), **{k: (v if math.isfinite(v) else None) for k, v in
                                         (("valid_loss", r.valid_loss), ("test_loss", r.test_loss))}}
            for r in results]
    fileio.write_json_atomic(wd / "results.json", rows)
  return results


def load_best_params(workdir, member: int = 0):
  """Best parameters of one member of a finished run, as a nested dict of numpy arrays."""
  path = fileio.path(workdir) / "best" / f"member_{member}.msgpack"
  if not path.exists():
    raise UsageError(f"no best parameters at {path}; train that workdir to the end first "
                     f"(or check the member index)")
  return flax.serialization.msgpack_restore(path.read_bytes())


def _continued(full, init_state: dict, sharding):
  """A fresh state with the optimizer state, rng and step of the run it continues (init_state)."""
  leaves = jax.tree.leaves(init_state["opt_state"])  # a checkpoint read without a target gives other containers
  want = jax.tree.leaves(full.opt_state)
  if [np.shape(x) for x in leaves] != [x.shape for x in want]:
    raise UsageError("init_state opt_state does not fit this ensemble's optimizer state; continue a run of the "
                     "same model, optimizer and number of members")
  opt = jax.tree.unflatten(jax.tree.structure(full.opt_state), [np.asarray(x, w.dtype) for x, w in zip(leaves, want)])
  M = full.step.shape[0]
  return full.replace(opt_state=mesh_lib.put_tree(opt, sharding),
                      rng=mesh_lib.put(np.asarray(init_state["rng"], np.uint32), sharding),
                      step=mesh_lib.put(np.full(M, int(init_state["step"]), np.int32), sharding))


def stack_params(params_list):
  """Stacks M params pytrees into one with a leading member axis (init_params)."""
  return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *params_list)


def tile_params(params, k: int):
  """M copies of one params pytree (e.g. M fine-tuning runs from one pre-trained model)."""
  return stack_params([params] * k)
