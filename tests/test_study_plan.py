"""Run ids, validation and grouping: everything decided before training starts."""
import pytest

from transfer_scaling import config as config_lib
from transfer_scaling.errors import UsageError
from transfer_scaling.study import plan, runs as runs_lib, toy

CORPUS_BYTES = {"toy-prose": 10**6, "toy-code": 10**6, "english": 10**7, "python": 10**7}


def test_run_ids_are_stable_and_distinct():
  runs = runs_lib.build_runs(toy.config())
  again = runs_lib.build_runs(toy.config())
  assert [r.id for r in runs] == [r.id for r in again]
  assert len({r.id for r in runs}) == len(runs)
  c = toy.config()
  c.study = "another name"
  assert [r.id for r in runs_lib.build_runs(c)] == [r.id for r in runs]  # the name does not change a result
  c.finetune.lr = 2e-3
  changed = {r.id for r in runs_lib.build_runs(c)} - {r.id for r in runs}
  assert changed and all(r.stage == "finetune" for r in runs_lib.build_runs(c) if r.id in changed)


def test_stages_cover_the_study():
  c = toy.config()
  c.gap.sizes = ("13k",)
  runs = runs_lib.build_runs(c)
  by = lambda s: [r for r in runs if r.stage == s]
  d_fs = runs_lib.d_f_grid(c)
  assert len(by("pretrain")) == len(c.sizes)
  assert {r.d_f for r in by("scratch")} == set(d_fs) | set(c.d_f_large)
  assert {r.p for r in by("finetune")} == set(runs_lib.pretrain_keep_steps(c))
  assert all(r.init_run == by("pretrain")[0].id for r in by("finetune") + by("zeroshot"))
  assert runs_lib.pretrain_keep_steps(c)[-1] == c.pretrain.steps


def test_step_budgets_are_rounded_so_similar_runs_share_an_ensemble():
  c = toy.config()
  budgets = sorted({r.max_steps for r in runs_lib.build_runs(c) if r.stage == "scratch"})
  assert all(c.scratch.min_steps <= b <= c.scratch.max_steps for b in budgets)
  groups = plan.group_runs(runs_lib.build_runs(c), max_members=8)
  for g in groups:
    assert len({r.max_steps for r in g.runs}) == 1 and len({r.stage for r in g.runs}) == 1
  assert [g.stage for g in groups] == sorted((g.stage for g in groups), key=runs_lib.STAGES.index)


def test_max_members_splits_groups():
  c = toy.config()
  c.seeds = (0, 1, 2, 3, 4)
  groups = plan.group_runs(runs_lib.build_runs(c), max_members=2)
  assert max(len(g.runs) for g in groups) == 2
  assert sorted(r.id for g in groups for r in g.runs) == sorted(r.id for r in runs_lib.build_runs(c))


def test_shards_partition_the_groups():
  c = toy.config()
  c.seeds = (0, 1, 2)
  groups = plan.group_runs(runs_lib.build_runs(c), max_members=1)
  parts = [plan.owned(groups, (i, 3)) for i in range(3)]
  ids = [g.id for part in parts for g in part]
  assert sorted(ids) == sorted(g.id for g in groups) and len(set(ids)) == len(ids)
  with pytest.raises(UsageError, match="i/n"):
    plan.parse_shard("2")
  with pytest.raises(UsageError, match="0 <= i < n"):
    plan.parse_shard("2/2")


def test_too_much_fine_tuning_data_fails_before_training():
  c = toy.config()
  c.d_f_large = (5 * 10**6,)
  with pytest.raises(UsageError, match=r"asks for 5,000,000 bytes of 'toy-code'.*lower config.d_f.max"):
    plan.validate(c, CORPUS_BYTES)


def test_size_not_on_the_ladder_fails_with_the_fix():
  c = toy.config()
  c.sizes = ("13k", "7M")
  with pytest.raises(UsageError, match=r"'7M'.*not on the ladder.*13k"):
    plan.validate(c, CORPUS_BYTES)
  c = toy.config()
  c.gap.sizes = ("56k",)
  with pytest.raises(UsageError, match="not in config.sizes"):
    plan.validate(c, CORPUS_BYTES)


@pytest.mark.parametrize("name", ["quickstart", "text_to_python", "text_code_to_python", "english_to_german",
                                  "english_to_spanish", "english_to_chinese", "english_to_french",
                                  "transfer_gap_multi", "synthetic_distance", "text_to_python:cpu",
                                  "transfer_gap_multi:cpu"])
def test_shipped_configs_plan(name):
  c = config_lib.load_config(name)
  sizes = {n: 10**9 for n in (c.source,) + runs_lib.targets(c)}
  plan.validate(c, sizes)
  groups = plan.group_runs(runs_lib.build_runs(c), int(c.ensemble.max_members))
  assert groups and all(g.runs for g in groups)
  assert c.get("study") and config_lib.resolve_config_path(name.split(":")[0])


def test_cpu_scale_keeps_the_pair_and_takes_the_quickstart_scale():
  gpu, cpu, quick = (config_lib.load_config(n) for n in ("transfer_gap_multi", "transfer_gap_multi:cpu", "quickstart"))
  assert (cpu.source, cpu.targets) == (gpu.source, gpu.targets) and cpu.study == "transfer_gap_multi_cpu"
  assert (cpu.sizes, cpu.seq_len, cpu.d_f, cpu.finetune) == (quick.sizes, quick.seq_len, quick.d_f, quick.finetune)
  with pytest.raises(UsageError, match="unknown scale"):
    config_lib.load_config("text_to_python:tpu")
  with pytest.raises(UsageError, match="takes no ':cpu' argument"):
    config_lib.load_config("quickstart:cpu")


def test_a_learning_rate_grid_adds_runs_and_keeps_the_single_lr_ids():
  c = toy.config()
  one = {r.id for r in runs_lib.build_runs(c)}
  c.finetune.lrs, c.scratch.lrs = (c.finetune.lr, 3e-3), (c.scratch.lr, 1e-3)
  many = runs_lib.build_runs(c)
  assert one < {r.id for r in many}  # the first lr's runs are the runs of the single-lr study
  for stage, lrs in (("finetune", c.finetune.lrs), ("scratch", c.scratch.lrs)):
    assert {r.lr for r in many if r.stage == stage} == set(lrs)
  assert len(many) - len(one) == sum(r.stage in ("finetune", "scratch") for r in runs_lib.build_runs(toy.config()))


def test_best_lr_keeps_the_lowest_loss_per_point():
  import pandas as pd
  from transfer_scaling.study import results
  df = pd.DataFrame({"stage": ["scratch"] * 3 + ["finetune"], "target": ["t"] * 4, "N": [1, 1, 2, 1],
                     "D_F": [10, 10, 10, 10], "init": ["scratch"] * 3 + ["pretrained@8"], "seed": [0] * 4,
                     "lr": [1e-3, 3e-3, 1e-3, 1e-3], "loss": [2.0, 1.5, 3.0, 1.0], "id": list("abcd")})
  assert sorted(results.best_lr(df)["id"]) == ["b", "c", "d"]
