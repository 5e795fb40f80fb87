"""The protocol's choices made until they can decide: learning rates until interior, an evaluation
cadence in data, and "fine-tuning did not help" as an outcome the analysis keeps out of its fits."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from transfer_scaling import ladder
from transfer_scaling.errors import UsageError
from transfer_scaling.report import analysis, markdown
from transfer_scaling.study import lr_grid, plan, results, runner, runs as runs_lib, selection, toy
from transfer_scaling.study.config import StudyConfig

HASHES = {"toy-prose": "p0", "toy-code": "c0"}
TRAIN = {"toy-prose": 10**6, "toy-code": 10**6}


def _cfg(**stage):
  c = toy.config()
  c.finetune.update(lrs=(1e-3, 3e-3), lr_rounds=2, **stage)
  return StudyConfig.from_dict(c)


def _record(cfg, run, valid, best_step=10):
  N = ladder.n_params(cfg.model_config(run.size))
  return {"id": run.id, "study": cfg.study, "stage": run.stage, "source": cfg.source, "target": run.corpus,
          "size": run.size, "N": N, "d_f": run.d_f, "init": run.init, "p": run.p, "seed": run.seed, "group": "g",
          "member": 0, "valid_loss": valid, "test_loss": valid,
          "best_step": best_step if run.stage == "finetune" else 10,
          "steps": 20, "budget": run.budget, "tokens": 2560, "flops": 1.0, "wall_s": 1.0, "status": "done",
          "run": run.to_json()}


def _sweep(cfg, valid):
  """Records for every run the plan asks for, round after round, with validation loss valid(run)."""
  records = {}
  while True:
    p = plan.make_plan(cfg, HASHES, TRAIN, records)
    new = [r for r in p.runs if r.id not in records]
    if not new:
      return p, records
    records.update({r.id: _record(cfg, r, valid(r)) for r in new})


def _fine_tuned_lrs(p, d_f):
  return sorted({r.lr for r in p.runs if r.stage == "finetune" and r.d_f == d_f})


def test_a_winner_at_the_edge_extends_the_grid_a_half_decade_until_interior():
  cfg = _cfg()
  # The loss is lowest at lr 3e-4: a half-decade below the grid's lowest rate.
  p, _ = _sweep(cfg, lambda r: 2.0 + (np.log10(r.lr) - np.log10(3e-4)) ** 2 if r.stage == "finetune" else 2.5)
  assert p.settled
  for d_f in cfg.d_f.values():
    assert _fine_tuned_lrs(p, d_f) == [1e-4, 3.2e-4, 1e-3, 3e-3]  # 3.2e-4 won: 1e-4 makes it interior
    info = p.lrs[("finetune", "toy-code", "13k", d_f, cfg.pretrain.steps)]
    assert info == {"grid": [1e-4, 3.2e-4, 1e-3, 3e-3], "limit": ""}
  # Every seed and warm-up trains at each added rate; the from-scratch grid of one rate is fixed.
  assert {r.lr for r in p.runs if r.stage == "scratch"} == {1e-2}


def test_a_winner_still_at_the_edge_stops_at_the_floor_or_the_rounds_and_the_report_says_which():
  falling = lambda r: 2.0 + r.lr if r.stage == "finetune" else 2.5  # lower is always better
  p, records = _sweep(_cfg(lr_floor=3.2e-4), falling)
  cell = ("finetune", "toy-code", "13k", cfg_d := 1000, 40)
  assert p.lrs[cell]["grid"] == [3.2e-4, 1e-3, 3e-3] and "below lr_floor 0.00032" in p.lrs[cell]["limit"]
  p, records = _sweep(_cfg(), falling)
  assert p.lrs[cell]["grid"] == [1e-4, 3.2e-4, 1e-3, 3e-3] and "after 2 of lr_rounds=2" in p.lrs[cell]["limit"]
  res = analysis.analyze(_cfg(), records, runner.plan_record(_cfg(), p))
  t = res.targets["toy-code"]
  text = "\n".join(markdown._choices(t, _cfg()))
  assert f"| finetune | 13k | {cfg_d} | 40 | 0.0001, 0.00032, 0.001, 0.003 | 0.0001 | lowest rate after 2 of " \
         "lr_rounds=2 extensions |" in text


def test_the_report_reads_the_grids_and_the_bracketing_from_the_plan():
  # plan.json holds what the sweep decided; the report prints it, never deciding again.
  p, records = _sweep(_cfg(), lambda r: 2.0 + r.lr if r.stage == "finetune" else 2.5)
  rec = runner.plan_record(_cfg(), p)
  assert json.loads(json.dumps(rec)) == rec  # as plan.json holds it
  row = next(r for r in rec["lrs"] if r["stage"] == "finetune" and r["D_F"] == 1000)
  row["grid"], row["limit"] = [1e-4, 7e-4], "the plan's own words"
  rec["brackets"][0].update(rounds=2, added=[12_345])
  res = analysis.analyze(_cfg(), records, rec)
  t = res.targets[rec["brackets"][0]["target"]]
  assert "| 0.0001, 0.0007 | 0.0001 | the plan's own words |" in "\n".join(markdown._choices(t, _cfg()))
  assert "cell(s) chose a rate still at a limit" in "\n".join(markdown._choices(t, _cfg()))
  assert "bracketing rounds |" in "\n".join(markdown._brackets(t, res.setting))
  assert "| 2 (added D 12,345); still outside on validation: D_F 1,000" in "\n".join(markdown._brackets(t, res.setting))


def test_a_grid_limit_inside_the_starting_grid_is_one_line_naming_the_field():
  with pytest.raises(UsageError, match=r"config.finetune.lr_floor=0.002 lies inside the starting grid.*lower "
                                       r"config.finetune.lr_floor to <= 0.001"):
    _cfg(lr_floor=2e-3)
  with pytest.raises(UsageError, match=r"config.finetune.lr_ceiling=0.002 lies inside.*"
                                       r"raise config.finetune.lr_ceiling"):
    _cfg(lr_ceiling=2e-3)
  assert lr_grid.beyond(1e-3, up=False) == 3.2e-4 and lr_grid.beyond(3e-3, up=True) == 9.5e-3


def test_evaluation_cadence_follows_the_data_and_a_zero_cadence_is_refused():
  c = toy.config()
  c.evals_per_epoch = 4
  cfg = StudyConfig.from_dict(c)
  tokens = cfg.batch_size * cfg.seq_len  # 128 bytes a step: 1,000 bytes is an epoch of 7.8 steps
  for d_f in (1000, 2000, 8000, 20_000):
    every, patience = runs_lib.eval_every(cfg, d_f)
    assert cfg.eval_every % every == 0 and every <= max(1, d_f / tokens / 4)
    assert patience * every == cfg.patience * cfg.eval_every  # as many steps without improvement as before
  assert runs_lib.eval_every(cfg, 1000) == (1, 20) and runs_lib.eval_every(cfg, 20_000) == (10, 2)
  # Budgets and ceilings still end on an evaluation.
  for r in runs_lib.build_runs(cfg, HASHES):
    if r.stage in ("scratch", "finetune"):
      assert r.budget % r.eval_every == 0 and r.ceiling % r.eval_every == 0
  for bad, match in ((0, "config.eval_every=0 is no cadence"), (-1, "config.eval_every=-1 is no cadence")):
    c.eval_every = bad
    with pytest.raises(UsageError, match=match):
      StudyConfig.from_dict(c)
  c.eval_every, c.evals_per_epoch = 10, -1.0
  with pytest.raises(UsageError, match="config.evals_per_epoch=-1.0 must be a number >= 0"):
    StudyConfig.from_dict(c)


def test_a_run_that_peaks_within_its_first_epoch_is_seen():
  c = toy.config()
  c.evals_per_epoch = 4
  cfg = StudyConfig.from_dict(c)
  d_f, tokens = 1000, cfg.batch_size * cfg.seq_len
  epoch = d_f / tokens
  # A fine-tuned run that is best half an epoch in and overfits after: validation loss per step.
  curve = lambda s: 2.0 - 0.1 * min(s, epoch / 2) + 0.05 * max(0.0, s - epoch / 2)
  for cadence, seen in ((cfg.eval_every, False), (runs_lib.eval_every(cfg, d_f)[0], True)):
    evals = np.arange(0, 8 * cadence + 1, cadence)
    best = evals[np.argmin([curve(s) for s in evals])]
    assert (0 < best <= epoch) == seen, cadence  # at eval_every=10 the best it sees is the untrained step 0


def test_old_study_configs_plan_what_they_planned():
  c = toy.config().to_dict()
  c.pop("evals_per_epoch")
  for arm in ("scratch", "finetune"):
    c[arm].pop("lr_rounds")
  cfg = StudyConfig.from_dict(c)
  assert cfg.evals_per_epoch == 0 and cfg.finetune.lr_rounds == 0
  assert StudyConfig().evals_per_epoch == 4 and StudyConfig().finetune.lr_rounds == 2


def test_a_fine_tuned_run_best_at_step_0_is_that_outcome_and_kept_out_of_the_fits():
  rec = {"stage": "finetune", "status": "done", "best_step": 0, "steps": 40}
  base = {"study": "s", "source": "a", "target": "b", "size": "13k", "N": 1, "d_f": 1000, "init": "pretrained@40",
          "p": 40, "seed": 0, "tokens": 1, "flops": 1.0, "wall_s": 1.0, "id": "x", "run": {"lr": 1e-3},
          "valid_loss": 1.0, "test_loss": 1.0}
  t = results.frame([{**base, **rec}, {**base, **rec, "best_step": 20, "id": "y"},
                     {**base, **rec, "best_step": 20, "outcome": results.NO_GAIN, "id": "z"}])
  assert list(t.set_index("id")["no_gain"]) == [True, False, True]
  # A study where fine-tuning on the smallest D_F never helps: that cell is listed, not fitted.
  cfg = StudyConfig.from_dict(toy.config())
  records = {}
  rng = np.random.default_rng(0)
  while True:
    p = plan.make_plan(cfg, HASHES, TRAIN, records)
    new = [r for r in p.runs if r.id not in records]
    if not new:
      break
    for r in new:
      loss = 3.0 * (r.d_f or 1000) ** -0.1 * (0.9 if r.stage == "finetune" else 1.0) * np.exp(rng.normal(0, 0.003))
      records[r.id] = _record(cfg, r, loss, best_step=0 if r.d_f == 1000 else 10)
  res = analysis.analyze(cfg, records, runner.plan_record(cfg, p))
  t = res.targets["toy-code"]
  assert list(t.no_gain["D_F"]) == [1000] and list(t.no_gain["no_gain"]) == [1]
  assert 1000 not in set(t.finetuned["D_F"]) and set(t.finetuned["D_F"]) == set(cfg.d_f.values()) - {1000}
  if t.joint is not None:
    assert 1000 not in set(t.joint.rows["D_F"])
  assert "Fine-tuning did not help in 1 fine-tuned cell(s)" in "\n".join(markdown._no_gain(t, res.setting))


def test_one_seed_of_three_best_at_step_0_keeps_its_cell():
  ft = pd.DataFrame({"size": "13k", "D_F": 1000, "p": 40, "no_gain": [True, False, False]})
  assert not analysis.no_gain(ft).any()
  assert analysis.no_gain(ft.assign(no_gain=[True, True, False])).all()


def test_tuning_on_a_few_seeds_trains_the_others_at_the_chosen_setting_and_only_the_tuners_choose():
  c = toy.config()
  c.seeds = (0, 1, 2, 3)
  c.finetune.update(lrs=(1e-3, 3e-3), lr_rounds=2, tune_seeds=2)
  cfg = StudyConfig.from_dict(c)
  first = plan.make_plan(cfg, HASHES, TRAIN, {})
  assert {r.seed for r in first.runs if r.stage == "finetune"} == {0, 1} and not first.settled
  # Followers land on a worse loss: they must not move the choice the tuners made (1e-3 interior after a round).
  def loss(r):
    if r.stage != "finetune":
      return 2.5
    return 9.0 if r.follows else 2.0 + (np.log10(r.lr) - np.log10(1e-3)) ** 2
  p, records = _sweep(cfg, loss)
  assert p.settled
  ft = [r for r in p.runs if r.stage == "finetune"]
  tuners = {(r.seed, r.lr) for r in ft if not r.follows}
  assert tuners == {(s, lr) for s in (0, 1) for lr in (3.2e-4, 1e-3, 3e-3)}
  assert {(r.seed, r.lr) for r in ft if r.follows} == {(2, 1e-3), (3, 1e-3)}
  chosen, choices = selection.choose(results.frame(records[r.id] for r in ft))
  assert set(choices["lr"]) == {1e-3} and set(choices["seeds"]) == {4} and set(choices["tuned_on"]) == {2}
  # A follower's id is the run's: how it was planned is not what it trains.
  follower = next(r for r in ft if r.follows)
  assert follower.id == runs_lib.run_id(dataclasses.replace(follower, follows=""))


def test_tune_seeds_must_cover_every_pre_trained_model():
  c = toy.config()
  c.seeds = (0, 1, 2, 3)
  c.pretrain.seeds = (0, 1)
  c.finetune.tune_seeds = 1
  with pytest.raises(UsageError, match="config.finetune.tune_seeds=1 must be 0 .* or at least 2"):
    StudyConfig.from_dict(c)


def test_from_scratch_tuners_fewer_than_the_pre_trained_models_still_plan_every_follower():
  # Followers from scratch start from no model: one tuner's setting serves every seed.
  c = toy.config()
  c.seeds = (0, 1, 2, 3, 4, 5)
  c.pretrain.seeds = (0, 1, 2)
  c.scratch.update(lrs=(1e-3, 3e-3), lr_rounds=1, tune_seeds=1)
  c.finetune.update(lrs=(1e-3, 3e-3), lr_rounds=1, tune_seeds=3)
  cfg = StudyConfig.from_dict(c)
  p, _ = _sweep(cfg, lambda r: 2.0 + (np.log10(r.lr) + 3) ** 2 if r.lr else 2.5)
  assert p.settled
  for stage in ("scratch", "finetune"):
    runs = [r for r in p.runs if r.stage == stage]
    assert {r.seed for r in runs} == set(c.seeds)
    assert {r.lr for r in runs if r.follows} == {1e-3}
  ft = [r for r in p.runs if r.stage == "finetune" and r.follows]
  models = {r.seed: r.init_run for r in p.runs if r.stage == "finetune" and not r.follows}
  assert all(r.init_run == models[r.seed % 3] for r in ft)   # seed i fine-tunes pre-trained model seeds[i % 3]
