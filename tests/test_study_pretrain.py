"""The pre-training axis of finished models: a warmup-stable run per size and seed with a cool-down
branch at each kept p, several pre-training seeds, and fine-tuning seeds paired with them."""
import json
import os

import jax
import numpy as np
import pytest

from transfer_scaling.errors import UsageError
from transfer_scaling.report import markdown, workdir_report
from transfer_scaling.study import runner, runs as runs_lib, toy, workdir as workdir_lib
from transfer_scaling.study.config import StudyConfig
from transfer_scaling.train import checkpoint

HASHES = {"toy-prose": "p0", "toy-code": "c0"}


def _wsd(**pretrain):
  c = toy.config()
  c.seeds = (0, 1, 2)
  c.pretrain.update({"schedule": "wsd", "seeds": (0, 1), "cooldown": 0.25, **pretrain})
  return c


def test_every_kept_p_is_a_cool_down_branch_and_fine_tuning_seeds_alternate_pre_training_seeds():
  cfg = StudyConfig.from_dict(_wsd())
  runs = runs_lib.build_runs(cfg, HASHES)
  stable = {r.seed: r for r in runs if r.stage == "pretrain"}
  assert sorted(stable) == [0, 1] and all(r.schedule == "constant" for r in stable.values())
  # kept p 20 and 40, cool-downs of 10 steps (25% rounded to whole 10-step chunks) from steps 10 and 30
  assert stable[0].ceiling == 30 and stable[0].keep_steps == (10, 30)
  cool = {(r.seed, r.budget): r for r in runs if r.stage == "cooldown"}
  assert sorted(cool) == [(0, 20), (0, 40), (1, 20), (1, 40)]
  for (seed, p), r in cool.items():
    assert r.init == f"pretrained@{p - 10}" and r.init_run == stable[seed].id and r.keep_steps == (p,)
  ft = [r for r in runs if r.stage == "finetune"]
  want = {0: cool[(0, 40)].id, 1: cool[(1, 40)].id, 2: cool[(0, 40)].id}  # seed i -> pre-training seed i % 2
  assert all(r.init_run == want[r.seed] and r.p == 40 for r in ft)
  zs = {(r.seed, r.p): r.init_run for r in runs if r.stage == "zeroshot"}
  assert zs == {(0, 40): cool[(0, 40)].id, (1, 40): cool[(1, 40)].id}


def test_bad_pre_training_settings_are_one_line_naming_the_field():
  for change, match in ((dict(cooldown=1.5), "config.pretrain.cooldown=1.5 makes a cool-down as long as its p"),
                        (dict(cooldown=0.0), "config.pretrain.cooldown=0.0"),
                        (dict(seeds=()), "config.pretrain.seeds is empty"),
                        (dict(seeds=(0, 0)), r"config.pretrain.seeds=\(0, 0\) repeats 0"),
                        (dict(warmup=15), "the cool-down of the first kept p=20 would start at step 10, inside the "
                                          "warm-up of config.pretrain.warmup=15")):
    with pytest.raises(UsageError, match=match) as e:
      StudyConfig.from_dict(_wsd(**change))
    assert "\n" not in str(e.value)


def test_an_old_study_json_with_one_pre_training_seed_plans_what_it_planned():
  c = toy.config().to_dict()
  c["pretrain"]["seed"] = c["pretrain"].pop("seeds")[0]
  c["pretrain"].pop("cooldown")
  old = StudyConfig.from_dict(c)
  assert old.pretrain.seeds == (0,) and old.pretrain.schedule == "cosine"
  assert [r.id for r in runs_lib.build_runs(old, HASHES)] == [
      r.id for r in runs_lib.build_runs(StudyConfig.from_dict(toy.config()), HASHES)]


def _saved(workdir, rec, step):
  ckpt = checkpoint.Checkpointer(os.path.join(workdir_lib.group_dir(workdir, rec["group"]), "ckpt"))
  try:
    return ckpt.restore_saved(step)
  finally:
    ckpt.close()


def test_a_wsd_sweep_fine_tunes_from_models_that_finished_at_p(toy_env, tmp_path):
  c = _wsd()
  c.seeds = (0, 1)
  c.d_f.num, c.scratch_d_max, c.bracket.rounds = 2, 8000, 0
  workdir = str(tmp_path / "wsd")
  runner.sweep(c, workdir)
  recs = workdir_lib.read_records(workdir)
  assert all(r["status"] in ("done", "cut_off") for r in recs.values()), [r["status"] for r in recs.values()]
  by = {r["id"]: r for r in recs.values()}
  cool = [r for r in recs.values() if r["stage"] == "cooldown"]
  assert len(cool) == 4 and all(r["steps"] == 10 for r in cool)  # the steps it took, not its stable run's
  for r in cool:
    p = r["run"]["budget"]
    # The model at p finished its schedule: its last step's rate is a few percent of the peak ...
    log = [json.loads(x) for x in open(os.path.join(workdir_lib.group_dir(workdir, r["group"]), "metrics.jsonl"))]
    lr = [x["lr"][r["member"]] for x in log if x["kind"] == "train" and x["step"] == p][0]
    assert 0 < lr < 0.05 * r["run"]["lr"]
    # ... and it continued its stable run's optimizer (the Adam step count goes on from p - c).
    start = _saved(workdir, r, p)
    count = jax.tree.leaves(start["opt_state"])[0]
    assert int(np.asarray(count)[r["member"]]) == p
  for r in recs.values():
    if r["stage"] == "finetune":
      parent = by[r["run"]["init_run"]]
      assert parent["stage"] == "cooldown" and parent["seed"] == r["pretrain_seed"] == r["seed"] % 2
  # The analysis reads such a study like any other: the cool-downs are pre-training, not points of a fit.
  result = workdir_report.write(workdir)
  assert "cool-down" not in markdown.headline(result)
  assert (tmp_path / "wsd" / "report.md").exists()
