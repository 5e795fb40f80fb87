"""The engine in one process: learning, ensembles, per-member lr, early stopping, budgets, divergence, resume."""
import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from transfer_scaling.errors import UsageError
from transfer_scaling.model import ModelConfig
from transfer_scaling.data import markov
from transfer_scaling.train import engine, optim

CFG = ModelConfig(d_model=16, n_layers=1, n_heads=2, seq_len=16)


LOOP = engine.LoopOptions(steps_per_call=5, ckpt_every=0, progress=False, tensorboard=False)


def make_spec(members, model=CFG, warmup=5, max_steps=40, extend=False, **kw):
  members = tuple(dataclasses.replace(m, warmup=warmup) for m in members)
  base = dict(step=engine.StepConfig(model=model, batch_size=8), members=members, ceiling=max_steps,
              eval_every=10, patience=100, extend=extend)
  base.update(kw)
  return engine.EnsembleSpec(**base)


def train(spec, batches, workdir, loop=LOOP, **kw):
  return engine.train_ensemble(spec, batches, workdir, loop=loop, **kw)


def members(*pairs):
  return [engine.MemberSpec(seed=s, lr=lr) for s, lr in pairs]


def batches_for(spec, **kw):
  return markov.MarkovBatches([m.seed for m in spec.members], spec.step.batch_size, spec.step.model.seq_len, **kw)


def read_log(workdir, kind="train"):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [r for r in map(json.loads, f) if r["kind"] == kind]


def train_losses(workdir):
  """[steps, K] training losses (NaN where a member was frozen)."""
  return np.array([[np.nan if x is None else x for x in r["loss"]] for r in read_log(workdir)])


def test_loss_decreases_on_learnable_data(tmp_path):
  spec = make_spec(members((0, 1e-2)), max_steps=60)
  (r,) = train(spec, batches_for(spec), str(tmp_path))
  evals = read_log(str(tmp_path), "eval")
  assert evals[0]["step"] == 0 and evals[0]["loss"][0] > 5.0  # ~ln(256) at init
  # Still improving at the ceiling: its loss is an upper bound, and it says so.
  assert r.valid_loss < 0.65 * evals[0]["loss"][0] and r.best_step == 60 and r.status == "cut_off"
  assert r.steps == 60 and r.tokens == 60 * 8 * 16 and r.flops > 0
  # The reported loss is on the test windows, which are not the validation ones.
  assert np.isfinite(r.test_loss) and r.test_loss != r.valid_loss and abs(r.test_loss - r.valid_loss) < 0.2
  with open(tmp_path / "results.json") as f:
    row = json.load(f)[0]
  assert row["valid_loss"] == pytest.approx(r.valid_loss) and row["test_loss"] == pytest.approx(r.test_loss)


def test_ensemble_equals_separate_runs(tmp_path):
  pairs = [(0, 3e-3), (1, 1e-2)]
  spec = make_spec(members(*pairs))
  together = train(spec, batches_for(spec), str(tmp_path / "ens"))
  curve = train_losses(str(tmp_path / "ens"))
  for k, pair in enumerate(pairs):
    one = make_spec(members(pair))
    (alone,) = train(one, batches_for(one), str(tmp_path / f"m{k}"))
    np.testing.assert_allclose(curve[:, k], train_losses(str(tmp_path / f"m{k}"))[:, 0], rtol=2e-5)
    assert together[k].valid_loss == pytest.approx(alone.valid_loss, rel=2e-5)
    a = engine.load_best_params(str(tmp_path / "ens"), k)
    b = engine.load_best_params(str(tmp_path / f"m{k}"), 0)
    # Adam divides by sqrt(v), so rounding noise in near-zero gradients moves single weights
    # visibly (by ~1e-2 with TF32 matmuls on a GPU); the parameter vector as a whole agrees.
    diff = np.sqrt(sum(np.sum((x - y) ** 2) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))))
    norm = np.sqrt(sum(np.sum(y ** 2) for y in jax.tree.leaves(b)))
    assert diff < 1e-2 * norm
  assert not np.allclose(curve[:, 0], curve[:, 1])  # the members really differ


def test_per_member_learning_rate(tmp_path):
  spec = make_spec(members((0, 1e-3), (0, 4e-3)), max_steps=20)
  train(spec, batches_for(spec), str(tmp_path))
  for r in read_log(str(tmp_path)):
    s = r["step"] - 1  # the lr that produced this step
    want = [float(optim.schedule(s, lr, 5, spec.ceiling, spec.min_lr_ratio)) for lr in (1e-3, 4e-3)]
    np.testing.assert_allclose(r["lr"], want, rtol=1e-6)
  curve = train_losses(str(tmp_path))
  assert curve[0, 0] == curve[0, 1]  # same seed and data: the first loss is shared
  assert not np.allclose(curve[5:, 0], curve[5:, 1])


def test_schedule_shape():
  lr = lambda s: float(optim.schedule(s, 1.0, 10, 110, 0.1))
  assert lr(0) == pytest.approx(0.1) and lr(9) == pytest.approx(1.0)
  assert lr(10) == pytest.approx(1.0) and lr(60) == pytest.approx(0.55) and lr(110) == pytest.approx(0.1)
  assert lr(500) == pytest.approx(0.1)


def test_early_stopping_freezes_one_member(tmp_path):
  # Member 0 barely moves (lr 1e-7), so it cannot beat its step-0 loss by min_delta.
  spec = make_spec(members((0, 1e-7), (1, 1e-2)), max_steps=30, eval_every=5, patience=2, min_delta=0.01)
  slow, fast = train(spec, batches_for(spec), str(tmp_path))
  # Never better than at initialisation: not a result, and the status says why.
  assert slow.status.startswith("no_improvement") and slow.steps == 10 and slow.best_step == 0
  assert fast.steps == 30 and fast.status == ("cut_off" if fast.best_step == 30 else "done"), \
    (fast.status, fast.best_step)
  curve = train_losses(str(tmp_path))
  assert np.isnan(curve[10:, 0]).all() and np.isfinite(curve[:, 1]).all()
  evals = read_log(str(tmp_path), "eval")
  assert [e["done"][0] for e in evals] == [False, False, True, True, True, True, True]
  frozen = [e["loss"][0] for e in evals[3:]]
  assert frozen == [None] * len(frozen) or len(set(frozen)) == 1


def test_all_members_done_ends_the_run(tmp_path):
  spec = make_spec(members((0, 1e-7), (1, 1e-7)), max_steps=200, eval_every=5, patience=1, min_delta=0.01)
  results = train(spec, batches_for(spec), str(tmp_path))
  assert [r.status[:14] for r in results] == ["no_improvement"] * 2 and [r.steps for r in results] == [5, 5]
  assert read_log(str(tmp_path))[-1]["step"] == 5


def test_nan_stops_only_that_member(tmp_path, capsys):
  spec = make_spec(members((0, 1e-2), (1, 1e9)), max_steps=30, warmup=0)
  ok, bad = train(spec, batches_for(spec), str(tmp_path))
  assert bad.status.startswith("diverged: training loss became") and "lower this member's learning rate" in bad.status
  assert bad.steps < 30
  assert ok.status == "cut_off" and np.isfinite(ok.valid_loss) and ok.steps == 30
  assert "member 1 (seed 1, lr 1e+09) diverged" in capsys.readouterr().err
  curve = train_losses(str(tmp_path))
  assert np.isfinite(curve[:, 0]).all() and np.isnan(curve[bad.steps + 1:, 1]).all()


def test_fine_tune_from_best_params(tmp_path):
  spec = make_spec(members((0, 1e-2)), max_steps=30)
  (pre,) = train(spec, batches_for(spec), str(tmp_path / "pre"))
  params = engine.tile_params(engine.load_best_params(str(tmp_path / "pre"), 0), 2)
  ft = make_spec(members((5, 1e-3), (6, 3e-3)), max_steps=10)
  train(ft, batches_for(ft), str(tmp_path / "ft"), init_params=params)
  first = read_log(str(tmp_path / "ft"), "eval")[0]
  np.testing.assert_allclose(first["loss"], [pre.valid_loss] * 2, rtol=1e-5)


class Interrupt(Exception):
  pass


class Flaky:
  """Batches that raise at one step, to stop a run midway in-process."""

  def __init__(self, inner, fail_at):
    self.inner, self.fail_at = inner, fail_at

  def train_batch(self, step):
    if step == self.fail_at:
      raise Interrupt
    return self.inner.train_batch(step)

  def valid_batches(self):
    return self.inner.valid_batches()

  def test_batches(self):
    return self.inner.test_batches()

  def identity(self):
    return self.inner.identity()


def test_the_optimizer_on_two_vectors_is_adamw_leaf_by_leaf():
  # The engine's optimizer runs on optim.flat(params); it must be the per-leaf AdamW, with
  # weight decay on the matrices only.
  import optax
  params = jax.device_get(engine._init_params(CFG)(np.uint32(0)))
  rebuilt = optim.unflat(optim.flat(params), params)
  assert jax.tree.structure(rebuilt) == jax.tree.structure(params)
  for a, b in zip(jax.tree.leaves(rebuilt), jax.tree.leaves(params)):
    np.testing.assert_array_equal(a, b)
  per_leaf = optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam(b1=0.9, b2=0.95, eps=1e-8),
                         optax.add_decayed_weights(0.1, mask=lambda t: jax.tree.map(lambda x: x.ndim >= 2, t)))
  flat = optim.adamw_direction(1.0, 0.9, 0.95, 1e-8, 0.1)
  rng = np.random.default_rng(0)
  s1, s2, p1, p2 = per_leaf.init(params), flat.init(params), params, params
  for _ in range(3):
    g = jax.tree.map(lambda x: rng.normal(size=x.shape).astype(np.float32), params)
    u1, s1 = per_leaf.update(g, s1, p1)
    u2, s2 = flat.update(g, s2, p2)
    for a, b in zip(jax.tree.leaves(u1), jax.tree.leaves(u2)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)


def test_a_checkpoint_of_another_state_format_is_refused_in_one_line(tmp_path, monkeypatch):
  spec = make_spec(members((0, 1e-2)), eval_every=10)
  loop = dataclasses.replace(LOOP, ckpt_every=20)
  monkeypatch.setattr(engine, "STATE_FORMAT", 1)  # what an engine before optim.flat wrote
  with pytest.raises(Interrupt):
    train(spec, Flaky(batches_for(spec), 27), str(tmp_path), loop=loop)
  monkeypatch.undo()
  before = sorted(os.listdir(tmp_path / "ckpt"))
  with pytest.raises(UsageError, match="state format 1 .* new workdir"):
    train(spec, batches_for(spec), str(tmp_path), loop=loop)
  assert sorted(os.listdir(tmp_path / "ckpt")) == before


def test_interrupted_run_resumes_exactly(tmp_path):
  spec = make_spec(members((0, 1e-2), (1, 3e-3)), eval_every=10)
  loop = dataclasses.replace(LOOP, ckpt_every=20)
  full = train(spec, batches_for(spec), str(tmp_path / "full"), loop=loop)
  with pytest.raises(Interrupt):
    train(spec, Flaky(batches_for(spec), 27), str(tmp_path / "cut"), loop=loop)
  again = train(spec, batches_for(spec), str(tmp_path / "cut"), resume="require", loop=loop)
  np.testing.assert_array_equal(train_losses(str(tmp_path / "cut")), train_losses(str(tmp_path / "full")))
  assert [r.valid_loss for r in again] == [r.valid_loss for r in full]
  # A finished run called again only reports.
  assert [r.valid_loss for r in train(spec, batches_for(spec), str(tmp_path / "full"))] == \
      [r.valid_loss for r in full]


def test_bad_inputs_are_usage_errors_and_write_nothing(tmp_path):
  spec = make_spec(members((0, 1e-3)))
  w = tmp_path / "w"
  with pytest.raises(UsageError, match="no checkpoint to resume"):
    train(spec, batches_for(spec), str(w), resume="require")
  wrong = make_spec(members((0, 1e-3), (1, 1e-3)))
  with pytest.raises(UsageError, match=r"train_batch\(0\) returned \(1, 8, 17\)"):
    train(wrong, batches_for(spec), str(w))
  with pytest.raises(UsageError, match="positive finite learning rate"):
    train(make_spec(members((0, -1.0))), batches_for(spec), str(w))
  with pytest.raises(UsageError, match="init_params do not fit"):
    train(spec, batches_for(spec), str(w), init_params={"x": np.zeros((1, 3))})
  assert not w.exists()


@pytest.mark.slow
def test_bfloat16_compute_keeps_float32_master_weights(tmp_path):
  spec = make_spec(members((0, 1e-2)), max_steps=10, model=dataclasses.replace(CFG, dtype="bfloat16"))
  (r,) = train(spec, batches_for(spec), str(tmp_path / "bf16"))
  evals = read_log(str(tmp_path / "bf16"), "eval")
  assert r.status == "cut_off" and r.valid_loss < evals[0]["loss"][0] - 0.2
  assert {x.dtype for x in jax.tree.leaves(engine.load_best_params(str(tmp_path / "bf16")))} == {np.dtype("float32")}
  f32 = make_spec(members((0, 1e-2)), max_steps=10)
  (r32,) = train(f32, batches_for(f32), str(tmp_path / "f32"))
  assert r.valid_loss == pytest.approx(r32.valid_loss, rel=0.03) and r.valid_loss != r32.valid_loss


def test_a_member_still_improving_at_its_budget_continues_until_it_stops(tmp_path):
  # Member 0's first budget (10 steps) ends while it improves: it goes on, its budget doubling
  # (20, 40), and early stopping, not the budget, ends it; member 1 has patience's chance too.
  m = [engine.MemberSpec(seed=0, lr=1e-2, budget=10), engine.MemberSpec(seed=1, lr=1e-2, budget=10)]
  spec = make_spec(m, max_steps=160, extend=True, patience=2)
  results = train(spec, batches_for(spec), str(tmp_path))
  budgets = [e["budget"] for e in read_log(str(tmp_path), "eval")]
  assert budgets[0] == [10, 10] and max(b[0] for b in budgets) > 10
  for r in results:
    assert r.steps > 10 and r.budget in (20, 40, 80, 160) and r.steps <= r.budget
    assert r.status == "done" or (r.status == "cut_off" and r.steps == 160)
  # Without continuation the same members stop at 10 steps, cut off.
  fixed = train(make_spec(m, max_steps=160, extend=False, patience=2), batches_for(spec), str(tmp_path / "fixed"))
  assert [(r.steps, r.status) for r in fixed] == [(10, "cut_off"), (10, "cut_off")]


def test_a_blown_up_but_finite_validation_loss_is_a_divergence():
  import jax.numpy as jnp
  from transfer_scaling.train import state as state_lib, step as step_lib
  tx = optim.adamw_direction(1.0, 0.9, 0.95, 1e-8, 0.1)
  s = state_lib.init_state(state_lib.init_params(CFG, 0), 0, 1e-3, 0, 100, tx)
  stop = (jnp.int32(5), jnp.float32(0.0), jnp.int32(100), jnp.bool_(True))
  for loss in (5.5, 3.0):
    s = step_lib.early_stop_update(s, jnp.float32(loss), stop=stop)
  assert int(s.diverged) == state_lib.OK and float(s.best_loss) == 3.0
  s = step_lib.early_stop_update(s, jnp.float32(53.0), stop=stop)  # finite, far above its best
  assert int(s.diverged) == state_lib.EVAL_BLOWUP and float(s.best_loss) == 3.0
  assert "above 2 times its best" in state_lib.reason(int(s.diverged), 7)


@pytest.mark.parametrize("block", [1, 3, 8])
def test_members_that_stop_free_their_slots_and_a_resume_replays_the_layout_exactly(tmp_path, block):
  # Four members; two stop early (tiny lr), so after an evaluation the other two train in fewer
  # slots: one-member blocks (1), two blocks of 3 packed into one (3), or one block of 4 that
  # narrows to 2 (8, the accelerator layout). A run cut after that point resumes to the same
  # losses and steps.
  pairs = [(0, 1e-7), (1, 1e-2), (2, 1e-7), (3, 3e-3)]
  spec = make_spec(members(*pairs), max_steps=80, eval_every=10, patience=2, min_delta=0.01)
  loop = dataclasses.replace(LOOP, ckpt_every=20, block=block)
  full = train(spec, batches_for(spec), str(tmp_path / "full"), loop=loop)
  assert [r.steps for r in full][0::2] == [20, 20] and min(r.steps for r in full[1::2]) > 20
  # Cut at 27: the resume starts from the checkpoint of step 20, the evaluation after which the
  # layout shrank; cut at 57: from step 40, already packed.
  for cut in (27, 57):
    with pytest.raises(Interrupt):
      train(spec, Flaky(batches_for(spec), cut), str(tmp_path / f"cut{cut}"), loop=loop)
    again = train(spec, batches_for(spec), str(tmp_path / f"cut{cut}"), loop=loop)
    assert [(r.valid_loss, r.test_loss, r.steps, r.best_step) for r in again] == \
        [(r.valid_loss, r.test_loss, r.steps, r.best_step) for r in full], cut
    np.testing.assert_array_equal(train_losses(str(tmp_path / f"cut{cut}")), train_losses(str(tmp_path / "full")))
  timing = json.loads((tmp_path / "full" / "timing.json").read_text())
  slots = {1: 4, 3: 6, 8: 4}[block]  # at the start
  assert timing["member_steps_all"] < slots * max(r.steps for r in full)  # the frozen pair stopped costing steps
  widths = {w for w, _ in (x for x in timing["shapes"] if x[0] != "eval")}
  assert widths == {1: {1}, 3: {3}, 8: {4, 2}}[block]
  # The whole call holds the loop, and its compilation is part of it.
  assert timing["ensemble_s"] >= timing["wall_s"] and 0 < timing["compile_s"] < timing["ensemble_s"]
  assert timing["ensemble_steady_s"] == pytest.approx(timing["ensemble_s"] - timing["compile_s"])


def test_the_compile_clock_counts_a_compilation_once():
  import jax.numpy as jnp
  from transfer_scaling.train import compile_clock
  before = compile_clock.seconds()
  f = jax.jit(lambda x: jnp.sin(x) * 3.0 + 1.0)
  x = jax.device_put(np.ones(7, np.float32))
  f(x).block_until_ready()
  compiled = compile_clock.seconds()
  assert compiled > before
  f(x).block_until_ready()  # the same program again: nothing to compile
  assert compile_clock.seconds() == compiled


def test_every_layout_trains_the_same_members_to_the_same_results(tmp_path):
  # The layout decides how members share compiled programs, not what they learn: decisions are
  # equal and losses agree to float32 rounding.
  pairs = [(0, 1e-7), (1, 1e-2), (2, 3e-3), (3, 1e-2), (4, 3e-3)]
  spec = make_spec(members(*pairs), max_steps=60, eval_every=10, patience=2, min_delta=0.01)
  out = {b: train(spec, batches_for(spec), str(tmp_path / str(b)), loop=dataclasses.replace(LOOP, block=b))
         for b in (1, 2, 8)}
  decisions = lambda rs: [(r.best_step, r.steps, r.budget, r.status) for r in rs]
  for b in (2, 8):
    assert decisions(out[b]) == decisions(out[1])
    np.testing.assert_allclose([r.valid_loss for r in out[b]], [r.valid_loss for r in out[1]], rtol=1e-5)
    np.testing.assert_allclose([r.test_loss for r in out[b]], [r.test_loss for r in out[1]], rtol=1e-5)


class _OtherTest:
  """The same batches with the test split replaced by random bytes."""

  def __init__(self, inner):
    self._inner = inner

  def __getattr__(self, name):
    return getattr(self._inner, name)

  def test_batches(self):
    t = self._inner.test_batches()
    return np.random.default_rng(1).integers(0, 256, t.shape).astype(t.dtype)


def test_the_test_split_decides_nothing(tmp_path):
  # Early stopping, continuation and the reported step read validation only: corrupting the test
  # split changes the reported test loss and no decision.
  m = [engine.MemberSpec(seed=0, lr=1e-2, budget=10), engine.MemberSpec(seed=1, lr=3e-3, budget=10)]
  spec = make_spec(m, max_steps=80, extend=True, patience=2)
  a = train(spec, batches_for(spec), str(tmp_path / "a"))
  b = train(spec, _OtherTest(batches_for(spec)), str(tmp_path / "b"))
  decisions = lambda rs: [(r.best_step, r.steps, r.budget, r.status, r.valid_loss) for r in rs]
  assert decisions(a) == decisions(b)
  assert all(abs(x.test_loss - y.test_loss) > 0.1 for x, y in zip(a, b))


def test_a_run_that_never_improves_is_not_told_to_lower_a_tiny_learning_rate(tmp_path):
  spec = make_spec(members((0, 1e-30)), max_steps=20, require_improvement=True, eval_at_start=True)
  (r,) = train(spec, batches_for(spec), str(tmp_path))
  assert r.status.startswith("no_improvement") and "learning rate 1e-30 may be too high or too low" in r.status


def _saved(workdir, step):
  from transfer_scaling.train import checkpoint
  ckpt = checkpoint.Checkpointer(os.path.join(workdir, "ckpt"))
  try:
    return ckpt.restore_saved(step)
  finally:
    ckpt.close()


def test_a_cool_down_branch_continues_its_stable_run_into_the_run_that_finished_there(tmp_path):
  # Warmup-stable-decay: a branch that takes the stable run's state at step 30 and decays to 0 by
  # step 40 is, bit for bit, the run trained 40 steps with that schedule (same data, moments, rng).
  two = members((0, 1e-2), (1, 1e-2))
  keep = dataclasses.replace(LOOP, keep_steps=(30, 40))
  whole = make_spec([dataclasses.replace(m, decay_from=30) for m in two], max_steps=40, min_lr_ratio=0.0,
                    patience=0)
  train(whole, batches_for(whole), str(tmp_path / "whole"), loop=keep)
  stable = make_spec(two, max_steps=30, min_lr_ratio=1.0, patience=0)
  train(stable, batches_for(stable), str(tmp_path / "stable"), loop=keep)
  at = _saved(str(tmp_path / "stable"), 30)
  branch = make_spec([dataclasses.replace(m, decay_from=30) for m in two], max_steps=40, min_lr_ratio=0.0,
                     patience=0)
  start = {"params": at["params"], "opt_state": at["opt_state"], "rng": at["rng"], "step": 30}
  res = train(branch, batches_for(branch), str(tmp_path / "branch"), loop=keep, init_state=start)
  got, want = _saved(str(tmp_path / "branch"), 40), _saved(str(tmp_path / "whole"), 40)
  for a, b in zip(jax.tree.leaves(got["params"]), jax.tree.leaves(want["params"])):
    np.testing.assert_array_equal(a, b)
  lrs = [r["lr"][0] for r in read_log(str(tmp_path / "branch"))]
  assert lrs[0] == pytest.approx(1e-2, rel=1e-6) and lrs[-1] < 0.03 * lrs[0] and lrs == sorted(lrs, reverse=True)
  assert [r.steps for r in res] == [10, 10]  # the steps the branch took, not its parent's


def test_init_state_must_leave_steps_to_take(tmp_path):
  spec = make_spec(members((0, 1e-2)), max_steps=20)
  with pytest.raises(UsageError, match="init_state step=20"):
    train(spec, batches_for(spec), str(tmp_path), init_state={"params": {}, "opt_state": (), "rng": 0, "step": 20})
