"""The engine in one process: learning, ensembles, per-member lr, early stopping, divergence, resume."""
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


def make_spec(members, **kw):
  base = dict(model=CFG, members=tuple(members), batch_size=8, max_steps=40, warmup=5, eval_every=10,
              patience=100, steps_per_call=5, ckpt_every=0, progress=False, tensorboard=False)
  base.update(kw)
  return engine.EnsembleSpec(**base)


def members(*pairs):
  return [engine.MemberSpec(seed=s, lr=lr) for s, lr in pairs]


def batches_for(spec, **kw):
  return markov.MarkovBatches([m.seed for m in spec.members], spec.batch_size, spec.model.seq_len, **kw)


def read_log(workdir, kind="train"):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [r for r in map(json.loads, f) if r["kind"] == kind]


def train_losses(workdir):
  """[steps, K] training losses (NaN where a member was frozen)."""
  return np.array([[np.nan if x is None else x for x in r["loss"]] for r in read_log(workdir)])


def test_loss_decreases_on_learnable_data(tmp_path):
  spec = make_spec(members((0, 1e-2)), max_steps=60)
  (r,) = engine.train_ensemble(spec, batches_for(spec), str(tmp_path))
  evals = read_log(str(tmp_path), "eval")
  assert evals[0]["step"] == 0 and evals[0]["loss"][0] > 5.0  # ~ln(256) at init
  assert r.best_loss < 0.65 * evals[0]["loss"][0] and r.best_step > 0 and r.status == "max_steps"
  assert r.steps == 60 and r.tokens == 60 * 8 * 16 and r.flops > 0
  with open(tmp_path / "results.json") as f:
    assert json.load(f)[0]["best_loss"] == pytest.approx(r.best_loss)


def test_ensemble_equals_separate_runs(tmp_path):
  pairs = [(0, 3e-3), (1, 1e-2)]
  spec = make_spec(members(*pairs))
  together = engine.train_ensemble(spec, batches_for(spec), str(tmp_path / "ens"))
  curve = train_losses(str(tmp_path / "ens"))
  for k, pair in enumerate(pairs):
    one = make_spec(members(pair))
    (alone,) = engine.train_ensemble(one, batches_for(one), str(tmp_path / f"m{k}"))
    np.testing.assert_allclose(curve[:, k], train_losses(str(tmp_path / f"m{k}"))[:, 0], rtol=2e-5)
    assert together[k].best_loss == pytest.approx(alone.best_loss, rel=2e-5)
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
  engine.train_ensemble(spec, batches_for(spec), str(tmp_path))
  for r in read_log(str(tmp_path)):
    s = r["step"] - 1  # the lr that produced this step
    want = [float(optim.schedule(s, lr, spec.warmup, spec.max_steps, spec.min_lr_ratio)) for lr in (1e-3, 4e-3)]
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
  spec = make_spec(members((0, 1e-7), (1, 1e-2)), max_steps=30, eval_every=5, patience=2, min_delta=0.01,
                   steps_per_call=5)
  slow, fast = engine.train_ensemble(spec, batches_for(spec), str(tmp_path))
  assert slow.status == "done" and slow.steps == 10 and slow.best_step == 0
  assert fast.status == "max_steps" and fast.steps == 30 and fast.best_step == 30
  curve = train_losses(str(tmp_path))
  assert np.isnan(curve[10:, 0]).all() and np.isfinite(curve[:, 1]).all()
  evals = read_log(str(tmp_path), "eval")
  assert [e["done"][0] for e in evals] == [False, False, True, True, True, True, True]
  frozen = [e["loss"][0] for e in evals[3:]]
  assert frozen == [None] * len(frozen) or len(set(frozen)) == 1


def test_all_members_done_ends_the_run(tmp_path):
  spec = make_spec(members((0, 1e-7), (1, 1e-7)), max_steps=200, eval_every=5, patience=1, min_delta=0.01,
                   steps_per_call=5)
  results = engine.train_ensemble(spec, batches_for(spec), str(tmp_path))
  assert [r.status for r in results] == ["done", "done"] and [r.steps for r in results] == [5, 5]
  assert read_log(str(tmp_path))[-1]["step"] == 5


def test_nan_stops_only_that_member(tmp_path, capsys):
  spec = make_spec(members((0, 1e-2), (1, 1e9)), max_steps=30, warmup=0)
  ok, bad = engine.train_ensemble(spec, batches_for(spec), str(tmp_path))
  assert bad.status.startswith("diverged: training loss became") and "lower this member's learning rate" in bad.status
  assert bad.steps < 30
  assert ok.status == "max_steps" and np.isfinite(ok.best_loss) and ok.steps == 30
  assert "member 1 (seed 1, lr 1e+09) diverged" in capsys.readouterr().err
  curve = train_losses(str(tmp_path))
  assert np.isfinite(curve[:, 0]).all() and np.isnan(curve[bad.steps + 1:, 1]).all()


def test_fine_tune_from_best_params(tmp_path):
  spec = make_spec(members((0, 1e-2)), max_steps=30)
  (pre,) = engine.train_ensemble(spec, batches_for(spec), str(tmp_path / "pre"))
  params = engine.tile_params(engine.load_best_params(str(tmp_path / "pre"), 0), 2)
  ft = make_spec(members((5, 1e-3), (6, 3e-3)), max_steps=10)
  engine.train_ensemble(ft, batches_for(ft), str(tmp_path / "ft"), init_params=params)
  first = read_log(str(tmp_path / "ft"), "eval")[0]
  np.testing.assert_allclose(first["loss"], [pre.best_loss] * 2, rtol=1e-5)


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

  def eval_batches(self):
    return self.inner.eval_batches()


def test_interrupted_run_resumes_exactly(tmp_path):
  spec = make_spec(members((0, 1e-2), (1, 3e-3)), ckpt_every=20, eval_every=10)
  full = engine.train_ensemble(spec, batches_for(spec), str(tmp_path / "full"))
  with pytest.raises(Interrupt):
    engine.train_ensemble(spec, Flaky(batches_for(spec), 27), str(tmp_path / "cut"))
  again = engine.train_ensemble(spec, batches_for(spec), str(tmp_path / "cut"), resume="require")
  np.testing.assert_array_equal(train_losses(str(tmp_path / "cut")), train_losses(str(tmp_path / "full")))
  assert [r.best_loss for r in again] == [r.best_loss for r in full]
  # A finished run called again only reports.
  assert [r.best_loss for r in engine.train_ensemble(spec, batches_for(spec), str(tmp_path / "full"))] == \
      [r.best_loss for r in full]


def test_bad_inputs_are_usage_errors_and_write_nothing(tmp_path):
  spec = make_spec(members((0, 1e-3)))
  w = tmp_path / "w"
  with pytest.raises(UsageError, match="no checkpoint to resume"):
    engine.train_ensemble(spec, batches_for(spec), str(w), resume="require")
  wrong = make_spec(members((0, 1e-3), (1, 1e-3)))
  with pytest.raises(UsageError, match=r"train_batch\(0\) returned \(1, 8, 17\)"):
    engine.train_ensemble(wrong, batches_for(spec), str(w))
  with pytest.raises(UsageError, match="positive finite learning rate"):
    engine.train_ensemble(make_spec(members((0, -1.0))), batches_for(spec), str(w))
  with pytest.raises(UsageError, match="init_params do not fit"):
    engine.train_ensemble(spec, batches_for(spec), str(w), init_params={"x": np.zeros((1, 3))})
  assert not w.exists()


def test_bfloat16_compute_keeps_float32_master_weights(tmp_path):
  import dataclasses
  spec = make_spec(members((0, 1e-2)), max_steps=10, model=dataclasses.replace(CFG, dtype="bfloat16"))
  (r,) = engine.train_ensemble(spec, batches_for(spec), str(tmp_path / "bf16"))
  evals = read_log(str(tmp_path / "bf16"), "eval")
  assert r.status == "max_steps" and r.best_loss < evals[0]["loss"][0] - 0.2
  assert {x.dtype for x in jax.tree.leaves(engine.load_best_params(str(tmp_path / "bf16")))} == {np.dtype("float32")}
  f32 = make_spec(members((0, 1e-2)), max_steps=10)
  (r32,) = engine.train_ensemble(f32, batches_for(f32), str(tmp_path / "f32"))
  assert r.best_loss == pytest.approx(r32.best_loss, rel=0.03) and r.best_loss != r32.best_loss
