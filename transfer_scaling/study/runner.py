"""Sweep: train the ensembles a shard owns, one JSON record per run.

Order and dependencies. A worker recomputes the plan (study/plan.py) from the records
after every ensemble and takes the first group of its shard whose inputs exist: zero-shot
and fine-tuning groups need the record of the pre-training run they start from, and the
bracketing's from-scratch groups appear once the runs they depend on have records. What
another shard owns, or another worker holds a claim on, it waits for (polling every
`poll_s` seconds); it is done when its groups have records and the plan is settled.

Restart. A run with a record is finished. A group with any unfinished member is trained
again in the same group directory, so the engine resumes from its last checkpoint; only
the missing records are then written. A group that never started here but has members
finished elsewhere (a config that adds seeds or D_F to a finished study) trains only its
unfinished members, as an ensemble of their own.
"""
import dataclasses
import math
import os
import sys
import time

import jax

from transfer_scaling import fileio, interrupt, ladder
from transfer_scaling.errors import UsageError
from transfer_scaling.study import arms, corpora, plan, pretrained, progress, results as results_lib, throughput
from transfer_scaling.study import runs as runs_lib
from transfer_scaling.study import estimate, workdir as workdir_lib
from transfer_scaling.study.config import StudyConfig


@dataclasses.dataclass(frozen=True)
class Corpora:
  hashes: dict
  sizes: dict

  @property
  def train_bytes(self) -> dict:
    return {k: v["train"] for k, v in self.sizes.items()}


def typed(config) -> StudyConfig:
  """The validated typed config of a ConfigDict, a dict or a StudyConfig."""
  return config if isinstance(config, StudyConfig) else StudyConfig.from_dict(config)


def prepare(config) -> tuple:
  """(typed config, its corpora): validates the study against the prepared corpora. Trains nothing."""
  cfg = typed(config)
  names = (cfg.source,) + tuple(cfg.targets)
  corpora.ensure_prepared(names)
  found = Corpora(hashes=corpora.hashes(names), sizes=corpora.sizes(names))
  cfg.validate_corpora(found.sizes)
  return cfg, found


def current_plan(cfg: StudyConfig, found: Corpora, workdir) -> plan.Plan:
  return plan.make_plan(cfg, found.hashes, found.train_bytes, workdir_lib.read_records(workdir))


def plan_record(cfg: StudyConfig, p: plan.Plan) -> dict:
  """What the analysis reads of a plan (plan.json): its runs, whether more may come, N of every size, and the
  bracketing and learning-rate rounds it decided (plan.record)."""
  sizes = dict.fromkeys(cfg.sizes + tuple(cfg.gap.sizes) + (cfg.analysis.example_size,))
  return {"runs": sorted(r.id for r in p.runs), "settled": bool(p.settled),
          "sizes": {s: ladder.n_params(cfg.model_config(s)) for s in sizes}, **plan.record(p)}


def write_plan(cfg: StudyConfig, p: plan.Plan, workdir) -> None:
  workdir_lib.write_plan(workdir, plan_record(cfg, p))


def sweep(config, workdir, shard=(0, 1), poll_s: float = 5.0) -> dict:
  """Runs (or resumes) the groups shard `i/n` owns; returns counts of what it did."""
  shown = progress.Progress(workdir)  # a live bar on a terminal, a line per ensemble elsewhere
  try:
    return _sweep(config, workdir, shard, poll_s, shown)
  finally:
    shown.close()


def _sweep(config, workdir, shard, poll_s, shown) -> dict:
  shard = plan.check_shard(shard)
  if isinstance(poll_s, bool) or not isinstance(poll_s, (int, float)) or not (poll_s > 0 and math.isfinite(poll_s)):
    raise UsageError(f"poll_s={poll_s!r} must be a positive finite number of seconds")
  fileio.check_writable_dir(workdir)
  cfg, found = prepare(config)  # everything is validated before anything is written ...
  shown.base = estimate.default(cfg)
  workdir_lib.read_records(workdir)  # ... a damaged record included
  workdir_lib.pin_devices(workdir, devices())
  workdir_lib.clear_unfinished_writes(workdir)
  compilation_cache()
  # The corpora's hashes and sizes go with the config: what the plan depends on besides the records.
  fileio.write_json_atomic(workdir_lib.study_path(workdir), {"config": cfg.to_dict(), "study": cfg.study,
                                                             "corpora": dataclasses.asdict(found)})
  counts = {"groups": 0, "runs": 0, "failed": 0}
  first = current_plan(cfg, found, workdir)
  print(plan.summary(first.groups), file=sys.stderr)
  records = workdir_lib.read_records(workdir)
  mine = plan.owned(first.groups, shard)
  print(f"shard {shard[0]}/{shard[1]}: {sum(len(g.runs) for g in mine)} of {len(first.runs)} runs in {len(mine)} "
        f"ensembles, {sum(r.id not in records for g in mine for r in g.runs)} still to do"
        + ("" if first.settled else "; more runs may follow where a chosen learning rate is at the edge of its grid "
           "or a D_E is not bracketed"),
        file=sys.stderr)
  waiting_for = None
  written = None
  while True:
    interrupt.check()
    records = workdir_lib.read_records(workdir)
    p = current_plan(cfg, found, workdir)
    if (len(p.runs), p.settled) != written:
      write_plan(cfg, p, workdir)
      written = (len(p.runs), p.settled)
    todo = [g for g in plan.owned(p.groups, shard) if any(r.id not in records for r in g.runs)]
    shown.plan(p, plan.owned(p.groups, shard), records)
    if not todo and p.settled:
      break
    ready = [g for g in todo if all(rid in records for rid in g.needs)]
    trained = False
    busy = []
    for g in ready:
      shown.start(g, records)
      out = run_group(cfg, g, workdir)
      shown.finish()
      if out is None:  # another worker holds it
        busy.append(g.id)
        continue
      trained = True
      if not out:  # another worker finished it between our plan and our claim
        break
      counts["groups"] += 1
      counts["runs"] += len(out)
      counts["failed"] += sum(r["status"].startswith("failed") for r in out)
      break
    if trained:
      continue
    why = sorted({rid for g in todo for rid in g.needs if rid not in records})
    waiting = (tuple(why), tuple(busy), len(todo), p.settled)
    if waiting != waiting_for:
      print("waiting: " + "; ".join(x for x in (
          f"pre-training runs {', '.join(why)} (other shards)" if why else "",
          f"ensembles {', '.join(busy)} held by another worker" if busy else "",
          "runs of other shards the bracketing depends on" if not todo and not p.settled else "") if x),
          file=sys.stderr)
      waiting_for = waiting
    time.sleep(poll_s)
  return counts


def devices() -> dict:
  """This process's device layout, as devices.json pins it."""
  return {"backend": jax.default_backend(), "devices": jax.device_count()}


def compilation_cache() -> None:
  # Restarts, other shards and later studies reuse compiled steps (a small model compiles for seconds).
  if not jax.config.jax_compilation_cache_dir:
    jax.config.update("jax_compilation_cache_dir",
                      os.environ.get("JAX_COMPILATION_CACHE_DIR")
                      or os.path.join(os.path.expanduser("~"), ".cache", "transfer_scaling", "jax"))
  # Small models compile in well under JAX's default 1 s threshold; cache them too.
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def run_group(cfg: StudyConfig, group: plan.Group, workdir):
  """Trains one ensemble (resuming if it was interrupted) and writes its missing records.

  Returns the records it wrote, [] if another worker finished the group meanwhile, or None if
  another live worker holds the group's claim.
  """
  group = _unfinished_part(group, workdir)
  gdir = workdir_lib.group_dir(workdir, group.id)
  claim = workdir_lib.claim(gdir)
  if isinstance(claim, dict):
    return None
  try:
    records = workdir_lib.read_records(workdir)
    if all(r.id in records for r in group.runs):  # finished by another worker meanwhile
      return []
    parents = {rid: records[rid] for rid in group.needs}
    failed = {rid: rec for rid, rec in parents.items() if rec["status"].startswith("failed")}
    if failed:
      results = [_failed(f"pre-training run {r.init_run} failed: {failed[r.init_run]['status']}") for r in group.runs]
    elif not arms.get(group.stage).trains:
      results = _zeroshot(group, workdir, parents)
    else:
      results = _train(cfg, group, workdir, gdir, parents)
    out = []
    for run, res in zip(group.runs, results):
      rec = _record(cfg, run, group, res)
      if not workdir_lib.has_record(workdir, run.id):
        workdir_lib.write_record(workdir, rec)
      out.append(rec)
    return out
  finally:
    claim.release()


def _unfinished_part(group: plan.Group, workdir) -> plan.Group:
  pending = [r for r in group.runs if not workdir_lib.has_record(workdir, r.id)]
  started = fileio.path(workdir_lib.group_dir(workdir, group.id)).exists()
  if started or not pending or len(pending) == len(group.runs):
    return group
  return plan.make_group(pending)


def _failed(reason: str) -> dict:
  return dict(valid_loss=None, test_loss=None, best_step=0, steps=0, budget=0, tokens=0, flops=0.0, wall_s=0.0,
              status=f"failed: {reason}")


def _batches(group: plan.Group):
  from transfer_scaling import data
  r0 = group.runs[0]
  train_U8, valid_U8, test_U8 = corpora.splits(r0.corpus)
  if r0.d_f is None:  # the whole corpus (pre-training)
    streams = [train_U8 for _ in group.runs]
  else:
    streams = [corpora.subset(r.corpus, r.d_f, r.subset_seed) for r in group.runs]
  identity = {"corpus": r0.corpus, "content": r0.corpus_hash, "d_f": [r.d_f for r in group.runs],
              "subset_seeds": [list(r.subset_seed) for r in group.runs], "seeds": [r.seed for r in group.runs],
              "valid_bytes": r0.valid_bytes, "test_bytes": r0.test_bytes, "eval_windows": r0.eval_windows}
  return data.PackedBatches(streams, valid_U8, test_U8, r0.batch_size, r0.model_config().seq_len,
                            seeds=[r.seed for r in group.runs], valid_bytes=r0.valid_bytes, test_bytes=r0.test_bytes,
                            eval_batch_size=8 * r0.batch_size, identity=identity, eval_windows=r0.eval_windows)


# The rate a schedule ends at, as a share of the peak: a cool-down decays to 0 from the step it starts at.
MIN_LR_RATIO = {"constant": 1.0, "cosine": 0.1, "cooldown": 0.0}


def _ensemble(cfg: StudyConfig, group: plan.Group):
  from transfer_scaling.train import engine
  r0, arm = group.runs[0], arms.get(group.stage)
  step = engine.StepConfig(model=r0.model_config(), batch_size=r0.batch_size, **dict(r0.optimizer))
  members = tuple(engine.MemberSpec(seed=r.seed, lr=r.lr, warmup=r.warmup, budget=r.budget, name=r.id,
                                    decay_from=r.p if arm.continues else -1) for r in group.runs)
  spec = engine.EnsembleSpec(step=step, members=members, ceiling=group.ceiling, eval_every=r0.eval_every,
                             patience=r0.patience, min_lr_ratio=MIN_LR_RATIO[r0.schedule],
                             extend=arm.extend, require_improvement=arm.require_improvement)
  loop = engine.LoopOptions(ckpt_every=cfg.ckpt_every, tensorboard=False, progress=False)  # the sweep's bar shows
  if r0.keep_steps:
    loop = dataclasses.replace(loop, keep_steps=tuple(r0.keep_steps))  # every kept p is a checkpoint, kept
  return spec, loop


def clear_partial_checkpoints(gdir) -> list:
  """Removes the checkpoint folders a save cut short left in gdir/ckpt (kill -9, SIGTERM, a full disk):
  orbax writes N.orbax-checkpoint-tmp... and renames it when complete, so such a folder is never resumed
  from, but it holds disk and reads as a damaged checkpoint. Only under the group's claim. Returns them."""
  ckpt = fileio.path(gdir) / "ckpt"
  stale = sorted(ckpt.glob("*.orbax-checkpoint-tmp*")) if ckpt.exists() else []
  for p in stale:
    if p.is_dir():
      p.rmtree()
    else:
      p.unlink()
  return stale


def _train(cfg: StudyConfig, group: plan.Group, workdir, gdir: str, parents: dict) -> list:
  from transfer_scaling.train import engine
  spec, loop = _ensemble(cfg, group)
  init = state = None
  if arms.get(group.stage).continues:
    parts = [_pretrained(workdir, parents[r.init_run], r.p, whole=True) for r in group.runs]
    state = {**{k: engine.stack_params([x[k] for x in parts]) for k in ("params", "opt_state", "rng")},
             "step": group.runs[0].p}
  elif arms.get(group.stage).init == "pretrained":
    init = engine.stack_params([_pretrained(workdir, parents[r.init_run], r.p) for r in group.runs])
  clear_partial_checkpoints(gdir)  # what an earlier worker's interrupted save left
  try:
    results = engine.train_ensemble(spec, _batches(group), gdir, init_params=init, loop=loop, init_state=state)
  except OSError:  # a full disk during a save: leave no half-written checkpoint behind (the save has failed)
    try:
      clear_partial_checkpoints(gdir)
    except OSError:
      pass
    raise
  throughput.log(gdir, spec, results)
  out = []
  for res in results:
    d = {k: getattr(res, k) for k in ("best_step", "steps", "budget", "tokens", "flops", "wall_s")}
    finite = math.isfinite(res.valid_loss) and math.isfinite(res.test_loss)
    if res.status in ("done", "cut_off") and finite:
      d.update(valid_loss=res.valid_loss, test_loss=res.test_loss, status=res.status)
      if arms.get(group.stage).init == "pretrained" and res.best_step == 0:
        d["outcome"] = results_lib.NO_GAIN  # the pre-trained model itself was best: a bound, not a D_F-dependence
    else:
      reason = res.status if res.status not in ("done", "cut_off") else "no finite validation loss was measured"
      d.update(valid_loss=None, test_loss=None, status=f"failed: {reason}")
    out.append(d)
  return out


def _pretrained(workdir, rec: dict, step: int, whole: bool = False):
  """The parameters of a recorded pre-training run at step `step` (numpy pytree, no member axis);
  whole: also its optimizer state and rng, to continue it (pretrained.state_at)."""
  from transfer_scaling.train import checkpoint
  gdir = workdir_lib.group_dir(workdir, rec["group"])
  try:
    read = pretrained.state_at if whole else pretrained.params_at
    return read(str(fileio.path(gdir) / "ckpt"), step, rec["member"])
  except checkpoint.Unreadable as e:  # the pre-training is recorded as done: its records must go too
    runs = sorted(r["id"] for r in workdir_lib.read_records(workdir).values() if r.get("group") == rec["group"])
    raise UsageError(f"{e.problem}: pre-training run {rec['id']} cannot be fine-tuned from; delete {gdir} and its "
                     f"records ({', '.join(f'runs/{r}.json' for r in runs)}) and rerun the sweep to pre-train it "
                     "again") from None


def _zeroshot(group: plan.Group, workdir, parents: dict) -> list:
  from transfer_scaling import data
  r0 = group.runs[0]
  _, valid_U8, test_U8 = corpora.splits(r0.corpus)
  T = r0.model_config().seq_len
  batches = data.PackedBatches([valid_U8], valid_U8, test_U8, r0.batch_size, T, seeds=[0],
                               valid_bytes=r0.valid_bytes, test_bytes=r0.test_bytes, eval_batch_size=8 * r0.batch_size,
                               eval_windows=r0.eval_windows)
  t0 = time.time()
  params = [_pretrained(workdir, parents[r.init_run], r.p) for r in group.runs]
  valid = pretrained.eval_losses(r0.model_config(), params, batches.valid_batches())
  test = pretrained.eval_losses(r0.model_config(), params, batches.test_batches())
  wall = time.time() - t0
  out = []
  for v, t in zip(valid, test):
    ok = math.isfinite(v) and math.isfinite(t)
    out.append(dict(valid_loss=v if ok else None, test_loss=t if ok else None, best_step=0, steps=0, budget=0,
                    tokens=0, flops=0.0, wall_s=wall, status="done" if ok else "failed: zero-shot loss is not finite"))
  return out


def _pretrain_seed(cfg: StudyConfig, run) -> dict:
  """The pre-training seed of the model a run is or starts from (none for a from-scratch run on the target)."""
  arm = arms.get(run.stage)
  if arm.corpus == "source" or not arm.trains:  # pre-training, its cool-downs, zero-shot: their own seed
    return {"pretrain_seed": run.seed}
  return {"pretrain_seed": runs_lib.pretrain_seed(cfg, run.seed)} if arm.init == "pretrained" else {}


def _record(cfg: StudyConfig, run, group: plan.Group, res: dict) -> dict:
  arm = arms.get(run.stage)
  return {
      "id": run.id, "study": cfg.study, "stage": run.stage,
      "source": cfg.source if arm.corpus == "source" or arm.init == "pretrained" else "",
      "target": run.corpus if arm.corpus == "target" else "",
      "size": run.size, "N": ladder.n_params(run.model_config()), "d_f": run.d_f, "init": run.init, "p": run.p,
      "seed": run.seed, **_pretrain_seed(cfg, run), "group": group.id,
      "member": [r.id for r in group.runs].index(run.id), "devices": devices(),
      **res, "run": run.to_json(), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
  }
