"""Sweep: train the ensembles a shard owns, one JSON record per run.

Order and dependencies. A worker walks its groups in stage order (pretrain,
zeroshot, scratch, finetune) and always takes the first group whose inputs
exist: zero-shot and fine-tuning groups need the record of the pre-training run
they start from. If that run belongs to another shard, the worker trains its
other groups first and then polls for the record (every `poll_s` seconds) - a
pre-training group is owned by exactly one shard, so nothing is trained twice.
If a pre-training run failed, the runs that need it are recorded as failed.

Restart. A run with a record is finished. A group with any unfinished member is
trained again in the same group directory, so the engine resumes from its last
checkpoint; only the missing records are then written. A group that never
started here but has members finished elsewhere (a config that adds seeds or
sizes of D_F to a finished study) trains only its unfinished members, as an
ensemble of their own.
"""
import math
import os
import sys
import time

import tqdm
from etils import epath

from transfer_scaling import ladder
from transfer_scaling.study import corpora, plan, runs as runs_lib, workdir as workdir_lib, throughput


def prepare(config) -> list:
  """Validates the study against the prepared corpora; returns its groups. Trains nothing."""
  names = (config.source,) + runs_lib.targets(config)
  corpora.ensure_prepared(names)
  plan.validate(config, corpora.train_bytes(names))
  runs = runs_lib.build_runs(config)
  return plan.group_runs(runs, int(config.ensemble.max_members))


def sweep(config, workdir: str, shard=(0, 1), poll_s: float = 5.0) -> dict:
  """Runs (or resumes) the groups shard `i/n` owns; returns counts of what it did."""
  workdir = workdir if "://" in workdir else os.path.abspath(workdir)
  _compilation_cache()
  groups = prepare(config)
  workdir_lib.write_json(os.path.join(workdir, "study.json"), {"config": config.to_dict(), "study": config.study})
  mine = plan.owned(groups, shard)
  pending = {g.id: sum(not workdir_lib.has_record(workdir, r.id) for r in g.runs) for g in mine}
  todo = [g for g in mine if pending[g.id]]
  n_runs = sum(len(g.runs) for g in groups)
  print(plan.summary(groups), file=sys.stderr)
  print(f"shard {shard[0]}/{shard[1]}: {sum(len(g.runs) for g in mine)} of {n_runs} runs in {len(mine)} "
        f"ensembles, {sum(pending.values())} still to do", file=sys.stderr)
  bar = tqdm.tqdm(total=sum(pending.values()), unit="run", file=sys.stderr, disable=None)
  counts = {"groups": 0, "runs": 0, "failed": 0}
  waiting_for = None
  while todo:
    ready = [g for g in todo if all(workdir_lib.has_record(workdir, rid) for rid in g.needs)]
    if not ready:
      missing = sorted({rid for g in todo for rid in g.needs if not workdir_lib.has_record(workdir, rid)})
      if missing != waiting_for:
        print(f"waiting for pre-training runs {', '.join(missing)} (owned by other shards)", file=sys.stderr)
        waiting_for = missing
      time.sleep(poll_s)
      continue
    g = ready[0]
    todo.remove(g)
    records = run_group(config, g, workdir)
    counts["groups"] += 1
    counts["runs"] += len(records)
    counts["failed"] += sum(r["status"].startswith("failed") for r in records)
    bar.update(pending[g.id])
  bar.close()
  return counts


def _compilation_cache() -> None:
  # Restarts, other shards and later studies reuse compiled steps (a small model compiles for seconds).
  import jax
  if not jax.config.jax_compilation_cache_dir:
    jax.config.update("jax_compilation_cache_dir",
                      os.path.join(os.path.expanduser("~"), ".cache", "transfer_scaling", "jax"))
  # Small models compile in well under JAX's default 1 s threshold; cache them too.
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def run_group(config, group: plan.Group, workdir: str) -> list:
  """Trains one ensemble (resuming if it was interrupted) and writes its missing records."""
  group = _unfinished_part(group, workdir)
  gdir = workdir_lib.group_dir(workdir, group.id)
  failed_parents = {rid: workdir_lib.read_record(workdir, rid) for rid in group.needs}
  failed_parents = {rid: r for rid, r in failed_parents.items() if r["status"].startswith("failed")}
  if failed_parents:
    results = [_failed(f"pre-training run {r.init_run} failed: {failed_parents[r.init_run]['status']}")
               if r.init_run in failed_parents else None for r in group.runs]
    if any(x is None for x in results):  # mixed parents never share a group (init_run is in its shape)
      raise AssertionError("a group mixes pre-training runs")
  elif group.stage == "zeroshot":
    results = _zeroshot(config, group, workdir)
  else:
    results = _train(config, group, workdir, gdir)
  out = []
  for run, res in zip(group.runs, results):
    rec = _record(config, run, group, res)
    if not workdir_lib.has_record(workdir, run.id):
      workdir_lib.write_json(workdir_lib.record_path(workdir, run.id), rec)
    out.append(rec)
  return out


def _unfinished_part(group: plan.Group, workdir: str) -> plan.Group:
  pending = [r for r in group.runs if not workdir_lib.has_record(workdir, r.id)]
  started = epath.Path(workdir_lib.group_dir(workdir, group.id)).exists()
  if started or not pending or len(pending) == len(group.runs):
    return group
  return plan.make_group(pending)


def _failed(reason: str) -> dict:
  return dict(best_loss=None, best_step=0, steps=0, tokens=0, flops=0.0, wall_s=0.0, status=f"failed: {reason}")


def _model(run: runs_lib.Run):
  return ladder.model_config(run.size, seq_len=run.seq_len, dtype=run.dtype)


def _batches(config, group: plan.Group):
  from transfer_scaling import data
  r0 = group.runs[0]
  train_U8, test_U8 = corpora.splits(r0.corpus)
  if r0.stage == "pretrain":
    streams = [train_U8 for _ in group.runs]
  else:
    streams = [corpora.subset(r.corpus, r.d_f, r.data_seed) for r in group.runs]
  return data.PackedBatches(streams, test_U8, r0.batch_size, r0.seq_len, seeds=[r.seed for r in group.runs],
                            eval_bytes=int(config.eval_bytes))


def _ensemble_spec(config, group: plan.Group):
  from transfer_scaling.train import engine
  r0 = group.runs[0]
  members = tuple(engine.MemberSpec(seed=r.seed, lr=r.lr, name=r.id) for r in group.runs)
  kw = dict(model=_model(r0), members=members, batch_size=r0.batch_size, max_steps=group.max_steps,
            warmup=r0.warmup, eval_every=r0.eval_every, min_lr_ratio=1.0 if r0.schedule == "constant" else 0.1,
            tensorboard=False, ckpt_every=int(config.ckpt_every))
  if r0.stage == "pretrain":
    # No early stopping on the source; every kept step p must be a checkpoint, and all are kept.
    unit = math.gcd(*r0.keep_steps)  # = pretrain.first_kept_step
    kw.update(patience=group.max_steps, ckpt_every=unit, keep_checkpoints=group.max_steps // unit + 1)
  else:
    kw.update(patience=r0.patience)
  return engine.EnsembleSpec(**kw)


def _train(config, group: plan.Group, workdir: str, gdir: str) -> list:
  from transfer_scaling.train import engine
  ens = _ensemble_spec(config, group)
  init = None
  if group.stage == "finetune":
    init = engine.stack_params([pretrained_params(workdir, r.init_run, r.p) for r in group.runs])
  results = engine.train_ensemble(ens, _batches(config, group), gdir, init_params=init)
  throughput.log(gdir, ens, results)
  out = []
  for res in results:
    d = {k: getattr(res, k) for k in ("best_loss", "best_step", "steps", "tokens", "flops", "wall_s", "status")}
    if not res.status in ("done", "max_steps") or not math.isfinite(res.best_loss):
      d["status"] = f"failed: {res.status}" if res.status not in ("done", "max_steps") else \
          "failed: no finite test loss was ever measured"
      d["best_loss"] = None
    out.append(d)
  return out


def pretrained_params(workdir: str, pretrain_id: str, step: int):
  """The parameters of pre-training run `pretrain_id` at step `step` (numpy pytree, no member axis)."""
  from transfer_scaling.study import pretrained
  rec = workdir_lib.read_record(workdir, pretrain_id)
  return pretrained.params_at(os.path.join(workdir_lib.group_dir(workdir, rec["group"]), "ckpt"), step, rec["member"])


def _zeroshot(config, group: plan.Group, workdir: str) -> list:
  from transfer_scaling import data
  from transfer_scaling.study import pretrained
  r0 = group.runs[0]
  _, test_U8 = corpora.splits(r0.corpus)
  # The same test bytes as the target's training runs see (only eval_batches() is used).
  eval_np = data.PackedBatches([test_U8], test_U8, r0.batch_size, r0.seq_len, seeds=[0],
                               eval_bytes=int(config.eval_bytes)).eval_batches()
  t0 = time.time()
  params = [pretrained_params(workdir, r.init_run, r.p) for r in group.runs]
  losses = pretrained.eval_losses(_model(r0), params, eval_np)
  wall = time.time() - t0
  out = []
  for loss in losses:
    ok = math.isfinite(loss)
    out.append(dict(best_loss=loss if ok else None, best_step=0, steps=0, tokens=0, flops=0.0, wall_s=wall,
                    status="done" if ok else "failed: zero-shot test loss is not finite"))
  return out


def _record(config, run: runs_lib.Run, group: plan.Group, res: dict) -> dict:
  parent_source = config.source if run.stage != "scratch" else ""
  return {
      "id": run.id, "study": config.study, "stage": run.stage,
      "source": config.source if run.stage == "pretrain" else parent_source,
      "target": run.corpus if run.stage != "pretrain" else "",
      "size": run.size, "N": ladder.n_params(_model(run)), "d_f": run.d_f, "init": run.init, "p": run.p,
      "seed": run.seed, "group": group.id, "member": [r.id for r in group.runs].index(run.id),
      **res, "run": run.to_json(), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
  }
