"""Everything decided before and between training: the typed config, run ids, grouping, selection, bracketing."""

import dataclasses
import numpy as np
import pandas as pd
import pytest

from transfer_scaling import config as config_lib
from transfer_scaling.errors import UsageError
from transfer_scaling.study import bracket, plan, runs as runs_lib, selection, toy
from transfer_scaling.study.config import StudyConfig, defaults

HASHES = {"toy-prose": "p0", "toy-code": "c0"}
SIZES = {n: {"train": 10**7, "validation": 10**6, "test": 10**6}
         for n in ("toy-prose", "toy-code", "english", "python")}


def typed(c):
  return StudyConfig.from_dict(c)


def test_run_ids_are_stable_and_distinct():
  runs = runs_lib.build_runs(typed(toy.config()), HASHES)
  again = runs_lib.build_runs(typed(toy.config()), HASHES)
  assert [r.id for r in runs] == [r.id for r in again]
  assert len({r.id for r in runs}) == len(runs)
  c = toy.config()
  c.study = "another name"
  assert [r.id for r in runs_lib.build_runs(typed(c), HASHES)] == [r.id for r in runs]  # a name changes no result
  c.finetune.lrs = (2e-3,)
  changed = {r.id for r in runs_lib.build_runs(typed(c), HASHES)} - {r.id for r in runs}
  assert changed and all(r.stage == "finetune" for r in runs_lib.build_runs(typed(c), HASHES) if r.id in changed)


def test_everything_that_changes_a_result_is_in_the_run_identity():
  base = {r.id for r in runs_lib.build_runs(typed(toy.config()), HASHES)}
  for field, value in (("valid_bytes", 2048), ("test_bytes", 2048), ("data_seed", 1)):
    c = toy.config()
    c[field] = value
    assert not base & {r.id for r in runs_lib.build_runs(typed(c), HASHES) if r.stage in ("scratch", "finetune")}, field
  other_text = {r.id for r in runs_lib.build_runs(typed(toy.config()), {**HASHES, "toy-code": "c1"})}
  assert {r.id for r in runs_lib.build_runs(typed(toy.config()), HASHES) if r.stage == "pretrain"} <= other_text
  assert not {r.id for r in runs_lib.build_runs(typed(toy.config()), HASHES) if r.corpus == "toy-code"} & other_text
  c = toy.config()
  c.model.ff_mult = 2  # a model option: every run changes
  assert not base & {r.id for r in runs_lib.build_runs(typed(c), HASHES)}
  # Records measured on the first held-out bytes are not the runs measured on spread windows.
  run = runs_lib.build_runs(typed(toy.config()), HASHES)[-1]
  assert run.eval_windows == "spread" and dataclasses.replace(run, eval_windows="prefix").id != run.id


def test_a_new_field_at_its_default_renames_no_run():
  run = runs_lib.build_runs(typed(toy.config()), HASHES)[-1]
  # Ids hash only the fields that differ from their defaults: a field added later with a
  # default leaves every stored id as it was. Simulated by the default-valued fields now.
  blob = runs_lib.identity(run)
  assert "keep_steps" not in blob and "stage" in blob and "lr" in blob
  assert runs_lib.Run.from_json(run.to_json()).id == run.id


def test_stages_cover_the_study():
  c = toy.config()
  c.gap.sizes = ("13k",)
  cfg = typed(c)
  runs = runs_lib.build_runs(cfg, HASHES)
  by = lambda s: [r for r in runs if r.stage == s]
  assert len(by("pretrain")) == len(cfg.sizes)
  assert {r.d_f for r in by("scratch")} == set(runs_lib.scratch_grid(cfg, cfg.scratch_d_max))
  assert set(cfg.d_f.values()) <= {r.d_f for r in by("scratch")}  # every D_F has its from-scratch pair
  assert {r.p for r in by("finetune")} == set(runs_lib.pretrain_keep_steps(cfg))
  assert all(r.init_run == by("pretrain")[0].id for r in by("finetune") + by("zeroshot"))
  assert runs_lib.pretrain_keep_steps(cfg)[-1] == cfg.pretrain.steps


def test_scratch_grid_has_three_points_per_decade():
  cfg = typed(toy.config())
  grid = runs_lib.scratch_grid(cfg, 10**6)
  canonical = [d for d in grid if d not in cfg.d_f.values()]
  assert np.allclose(np.diff(np.log10(canonical)), 1 / 3, atol=1e-3)
  assert grid[0] == cfg.d_f.min and grid[-1] <= 10**6


def test_seeds_change_the_subset_and_members_of_any_budget_share_an_ensemble():
  c = toy.config()
  c.seeds = (0, 1, 2)
  cfg = typed(c)
  runs = runs_lib.build_runs(cfg, HASHES)
  scratch = [r for r in runs if r.stage == "scratch"]
  assert len({r.subset_seed for r in scratch}) == 3
  groups = plan.group_runs(runs, max_members=100)
  g = [g for g in groups if g.stage == "scratch"]
  assert len(g) == 1 and len({r.budget for r in g[0].runs}) > 1  # one compiled ensemble, budgets per member
  assert [g.stage for g in groups] == sorted((g.stage for g in groups), key=runs_lib.STAGES.index)


def test_max_members_splits_groups_into_equal_parts():
  c = toy.config()
  c.seeds = (0, 1, 2, 3, 4)
  runs = runs_lib.build_runs(typed(c), HASHES)
  groups = plan.group_runs(runs, max_members=8)
  scratch = [len(g.runs) for g in groups if g.stage == "scratch"]
  # Parts of one width (the last takes the rest), even so they split over two devices.
  sizes = sorted(scratch)
  assert sizes[-1] <= 8 and sizes[1:] == [sizes[-1]] * (len(sizes) - 1) and all(s % 2 == 0 for s in sizes)
  assert sorted(r.id for g in groups for r in g.runs) == sorted(r.id for r in runs)


def test_shards_partition_the_groups():
  c = toy.config()
  c.seeds = (0, 1, 2)
  groups = plan.group_runs(runs_lib.build_runs(typed(c), HASHES), max_members=1)
  parts = [plan.owned(groups, (i, 3)) for i in range(3)]
  ids = [g.id for part in parts for g in part]
  assert sorted(ids) == sorted(g.id for g in groups) and len(set(ids)) == len(ids)
  with pytest.raises(UsageError, match="i/n"):
    plan.parse_shard("2")
  for bad in ("2/2", (5, 2), ("0", 1), (0, 1.5)):
    with pytest.raises(UsageError, match="0 <= i < n|i/n"):
      plan.parse_shard(bad) if isinstance(bad, str) else plan.check_shard(bad)


@pytest.mark.parametrize("field, value, match", [
    ("sizes", ("13k", "7M"), r"'7M'.*not on the ladder.*13k"),
    ("seeds", (), "config.seeds is empty"),
    ("model.dtype", "float7", "config.model.dtype='float7'"),
    ("scratch.schedule", "linear", "config.scratch.schedule='linear' is unknown; use one of constant, cosine"),
    ("scratch.lrs", (1e-3, -1e-3), "config.scratch.lrs has -0.001"),
    ("finetune.lrs", (0.0,), "config.finetune.lrs has 0.0"),
    ("batch_size", 0, "config.batch_size=0 must be a positive integer"),
    ("model.seq_len", 0, "config.model.seq_len=0"),
    ("eval_every", 0, "config.eval_every=0"),
    ("max_members", 0, "config.max_members=0"),
    ("scratch.ceiling", 10, "config.scratch.ceiling=10 is below the first budget"),
    ("gap.sizes", ("56k",), "not in config.sizes"),
    ("model.ff_multiplier", 2, "unknown option.*ff_multiplier"),
    ("analysis.bootstrap", 2.5, "config.analysis.bootstrap=2.5 must be an integer"),
])
def test_bad_configs_fail_before_anything_with_the_field_named(field, value, match):
  d = toy.config().to_dict()
  *parents, leaf = field.split(".")
  node = d
  for p in parents:
    node = node[p]
  node[leaf] = value
  with pytest.raises(UsageError, match=match):
    StudyConfig.from_dict(d)


def test_an_unknown_field_or_wrong_type_is_refused():
  with pytest.raises(UsageError, match="unknown config field"):
    StudyConfig.from_dict({**typed(toy.config()).to_dict(), "d_f_large": (10,)})
  with pytest.raises(UsageError, match="config.batch_size='8' must be an integer"):
    StudyConfig.from_dict({**typed(toy.config()).to_dict(), "batch_size": "8"})


def test_splits_larger_than_the_corpus_are_refused():
  cfg = typed(toy.config())
  small = {**SIZES, "toy-code": {"train": 10**7, "validation": 500, "test": 10**6}}
  with pytest.raises(UsageError, match=r"config.valid_bytes=1,024 is larger than the validation split of 'toy-code'"):
    cfg.validate_corpora(small)
  tiny = {**SIZES, "toy-code": {"train": 5000, "validation": 10**6, "test": 10**6}}
  with pytest.raises(UsageError, match=r"asks for 8,000 bytes of 'toy-code'.*lower config.d_f.max"):
    cfg.validate_corpora(tiny)


def test_typed_config_round_trips_through_study_json():
  cfg = typed(toy.config())
  assert StudyConfig.from_dict(cfg.to_dict()) == cfg
  assert StudyConfig.from_dict(defaults()) == StudyConfig()


@pytest.mark.parametrize("name", ["quickstart", "text_to_python", "text_docs_to_python", "text_code_to_python",
                                  "english_to_german", "english_to_spanish", "english_to_chinese", "english_to_french",
                                  "transfer_gap_multi", "synthetic_distance", "text_to_python:cpu",
                                  "transfer_gap_multi:cpu", "english_to_german_own", "english_to_spanish_own",
                                  "english_to_french_own", "english_to_chinese_own",
                                  "english_to_spanish_own:decision", "english_to_dna:decision",
                                  "synthetic_distance:decision"])
def test_shipped_configs_plan(name):
  cfg = typed(config_lib.load_config(name))
  cfg.validate_corpora({n: SIZES["english"] for n in (cfg.source,) + cfg.targets})
  groups = plan.group_runs(runs_lib.build_runs(cfg, {}), cfg.max_members)
  assert groups and all(g.runs for g in groups)


def test_cpu_scale_keeps_the_pair_and_takes_the_quickstart_scale():
  gpu, cpu, quick = (typed(config_lib.load_config(n))
                     for n in ("transfer_gap_multi", "transfer_gap_multi:cpu", "quickstart"))
  assert (cpu.source, cpu.targets) == (gpu.source, gpu.targets) and cpu.study == "transfer_gap_multi_cpu"
  assert (cpu.sizes, cpu.model, cpu.d_f, cpu.finetune, cpu.seeds) == (quick.sizes, quick.model, quick.d_f,
                                                                      quick.finetune, quick.seeds)
  assert len(cpu.seeds) >= 3
  with pytest.raises(UsageError, match="unknown scale"):
    config_lib.load_config("text_to_python:tpu")
  with pytest.raises(UsageError, match="takes no ':cpu' argument"):
    config_lib.load_config("quickstart:cpu")


def _table(rows):
  df = pd.DataFrame(rows, columns=["stage", "target", "size", "D_F", "p", "seed", "lr", "warmup", "valid_loss", "loss"])
  return df.assign(status="done", N=1, id=[str(i) for i in range(len(df))])


def test_selection_chooses_on_validation_the_same_way_for_both_arms_and_flags_grid_edges():
  rows = []
  for stage, p in (("scratch", None), ("finetune", 8)):
    for seed in range(3):
      rows += [(stage, "t", "13k", 100, p, seed, 1e-3, 5, 2.0 + 0.01 * seed, 1.0),   # best on validation
               (stage, "t", "13k", 100, p, seed, 3e-3, 5, 2.5, 0.5),                # best on test: never chosen
               (stage, "t", "13k", 100, p, seed, 1e-2, 5, 2.2, 0.9)]
  chosen, choices = selection.choose(_table(rows))
  assert set(chosen["lr"]) == {1e-3} and len(chosen) == 6
  assert list(choices["edge"]) == ["lowest lr", "lowest lr"] and set(choices["seeds"]) == {3}


def test_selection_never_counts_failed_runs():
  rows = [("scratch", "t", "13k", 100, None, s, lr, 5, v, 1.0)
          for s in range(2) for lr, v in ((1e-3, 2.0), (3e-3, 1.0))]
  df = _table(rows)
  df.loc[(df["lr"] == 3e-3) & (df["seed"] == 1), ["status", "valid_loss"]] = ["failed: diverged", np.nan]
  chosen, _ = selection.choose(df)
  assert set(chosen["lr"]) == {1e-3}  # the setting with every seed finished wins


def test_bracketing_fills_gaps_and_extends_beyond_the_largest_D():
  grid = [1000, 2154, 4642, 10000, 21544, 46416, 100000, 215443]
  scratch = {1000: 3.0, 10000: 2.0}           # a decade with nothing measured
  assert bracket.new_points(scratch, {1000: 2.5}, grid, 0.5) == [2154, 4642]
  assert bracket.new_points({1000: 3.0, 2154: 2.8, 4642: 2.6}, {1000: 2.0}, grid, 0.5) == [10000, 21544, 46416]
  assert bracket.new_points({1000: 3.0, 2154: 2.8}, {1000: 2.99}, grid, 0.5) == []  # bracketed, gap small
  # Bracketed on validation but within half a gap of the curve's end: measured a decade further,
  # so that on test it cannot fall beyond the end.
  assert bracket.new_points({1000: 3.0, 2154: 2.8}, {1000: 2.81}, grid, 0.5) == [4642, 10000]
  assert "beyond the largest" in bracket.outside({1000: 3.0, 2154: 2.8}, {1000: 2.0}, 0.5)[1000]


def test_scratch_grid_holds_no_near_duplicate_cells():
  # The CPU scale's D_F grid 1,000 / 2,155 / 4,642 sits a byte off the decade grid's 2,154: one cell.
  cfg = typed(config_lib.load_config("text_to_python:cpu"))
  grid = runs_lib.scratch_grid(cfg, cfg.scratch_d_max)
  assert grid == [1_000, 2_155, 4_642, 10_000, 21_544]
  assert set(cfg.d_f.values()) <= set(grid)  # every D_F keeps its from-scratch pair
  assert np.all(np.diff(np.log10(grid)) > 0.1)
