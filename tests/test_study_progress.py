"""What a sweep shows while it runs, and how long it says runs take (no training: a clock the test moves)."""
import dataclasses
import io
import json

import pytest

from transfer_scaling import ladder
from transfer_scaling.study import estimate, plan, progress, runs as runs_lib, toy
from transfer_scaling.study.config import StudyConfig
from transfer_scaling.study.config import model_config


@pytest.fixture
def study():
  cfg = StudyConfig.from_dict(toy.config())
  runs = runs_lib.build_runs(cfg, {})
  return cfg, runs, plan.group_runs(runs, cfg.max_members)


class Clock:
  def __init__(self):
    self.t = 100.0

  def __call__(self):
    return self.t


def _plan(groups, brackets=None):
  return plan.Plan(runs=[r for g in groups for r in g.runs], groups=groups, settled=False, brackets=brackets or {})


def _model_key(run):
  return tuple(sorted(dataclasses.asdict(run.model_config()).items()))


def test_run_tokens_and_the_table(study):
  cfg, runs, _ = study
  scratch = next(r for r in runs if r.stage == "scratch")
  assert estimate.run_tokens(scratch) == min(scratch.budget, scratch.ceiling) * cfg.batch_size * cfg.seq_len
  assert estimate.run_tokens(next(r for r in runs if r.stage == "zeroshot")) == 0
  # A size in the table runs at its measured FLOP/s; one beyond it at the largest size's FLOP/s.
  big = dataclasses.replace(scratch, size="1.8M", model=(("seq_len", 64),))
  flops = lambda s: ladder.flops_per_token(model_config(s, {"seq_len": 64}))
  assert estimate.table_rate(big) == pytest.approx(estimate.CPU_TOKENS_PER_S["56k"] * flops("56k") / flops("1.8M"))
  at64 = dataclasses.replace(scratch, model=(("seq_len", 64),))
  assert estimate.table_rate(at64) == pytest.approx(estimate.CPU_TOKENS_PER_S["13k"])


def test_measured_throughput_comes_from_the_workdir(study, tmp_path):
  _, runs, _ = study
  r = next(r for r in runs if r.stage == "scratch")
  model = dataclasses.asdict(r.model_config())
  for gid, tokens, wall in (("a", 3000, 1.0), ("b", 1000, 1.0)):
    (tmp_path / "groups" / gid).mkdir(parents=True)
    timing = {"model": model, "tokens": tokens, "wall_s": wall}
    (tmp_path / "groups" / gid / "throughput.json").write_text(json.dumps(timing))
  (tmp_path / "groups" / "c").mkdir()
  (tmp_path / "groups" / "c" / "throughput.json").write_text("{")  # damaged: left out, not fatal
  rates = estimate.measured(tmp_path)
  assert rates == {_model_key(r): 2000.0}
  e = estimate.estimate([r], rates)
  assert e.seconds == pytest.approx(estimate.run_tokens(r) / 2000.0) and e.measured_runs == 1
  assert e.source == "this workdir's measured throughput"
  assert estimate.measured(tmp_path / "none") == {}
  assert "table" in estimate.estimate([r], {}).source


def test_a_cooldown_is_estimated_from_the_step_it_branches_at(study):
  _, runs, _ = study
  stable = next(r for r in runs if r.stage == "scratch")
  cool = dataclasses.replace(stable, stage="cooldown", init="pretrained@800", budget=1000, ceiling=1000)
  assert estimate.run_tokens(cool) == 200 * cool.batch_size * cool.model_config().seq_len


def test_history_scales_by_stage_as_the_workdir_runs_went(study):
  _, runs, groups = study
  rates = {}
  by_stage = {}
  for g in groups:
    by_stage.setdefault(g.runs[0].stage, []).append(g)
  (sg, *_), (fg, *_) = by_stage["scratch"], by_stage["finetune"]
  est = lambda rs: estimate.estimate(rs, rates).seconds
  # A record's wall_s is its ensemble's: one from-scratch ensemble took half its estimate, one fine-tuned twice.
  records = {r.id: {"group": "s", "wall_s": 0.5 * est(sg.runs)} for r in sg.runs}
  records.update({r.id: {"group": "f", "wall_s": 2.0 * est(fg.runs)} for r in fg.runs})
  h = estimate.history(runs, records, rates, prior_s=0)
  assert h.overrun["scratch"] == pytest.approx(0.5) and h.overrun["finetune"] == pytest.approx(2.0)
  # with the stored factor counted as PRIOR_S seconds beside them, a few ensembles move it only part of the way
  shrunk = estimate.history(runs, records, rates).overrun["scratch"]
  base, e = estimate.DECISION.overrun["scratch"], est(sg.runs)
  assert shrunk == pytest.approx((0.5 * e + estimate.PRIOR_S * base) / (e + estimate.PRIOR_S))
  assert h.overrun["pretrain"] == estimate.DECISION.overrun["pretrain"] and h.rounds == estimate.DECISION.rounds
  assert h.source.startswith("this workdir's finished ensembles")
  # rounds, once the plan is settled: the final plan's estimated seconds per first-round second
  first = [r for r in runs if r not in sg.runs[1:]]  # as if a round had added the group's other runs
  h = estimate.history(runs, records, rates, first, prior_s=0)
  ratio = estimate.estimate(runs, rates).by_stage["scratch"] / estimate.estimate(first, rates).by_stage["scratch"]
  assert h.rounds["scratch"] == pytest.approx(ratio) and ratio > 1
  e = estimate.estimate(sg.runs + fg.runs, rates)
  assert e.expected(h, rounds=False) == pytest.approx(0.5 * est(sg.runs) + 2.0 * est(fg.runs))
  assert e.expected(h) == pytest.approx(0.5 * ratio * est(sg.runs) + 2.0 * h.rounds["finetune"] * est(fg.runs))
  assert estimate.history(runs, {}, rates) == estimate.DECISION
  assert estimate.history(runs, {}, rates, base=estimate.CPU) == estimate.CPU


def test_the_stored_factors_follow_the_protocol(study):
  cfg = study[0]
  assert not (cfg.scratch.lr_rounds or cfg.finetune.lr_rounds) and estimate.default(cfg) == estimate.CPU
  c = toy.config()
  c.finetune.lr_rounds = 2
  assert estimate.default(StudyConfig.from_dict(c)) == estimate.DECISION


def test_durations_read_as_a_person_says_them():
  assert [estimate.duration(s) for s in (12, 600, 3 * 3600, 5 * 86400)] == ["12 s", "10 min", "3.0 h", "5.0 days"]


def test_plain_log_is_a_line_per_ensemble_with_stage_k_of_n_elapsed_and_left(study, tmp_path):
  _, runs, groups = study
  out, clock = io.StringIO(), Clock()
  shown = progress.Progress(tmp_path, file=out, clock=clock)
  assert not shown.live  # not a terminal: no bar
  shown.plan(_plan(groups), groups, {})
  first = groups[0]
  # scaled per stage as the stored studies' runs went (no records: estimate.DECISION, the Progress default)
  est = estimate.estimate(first.runs, {}).expected(estimate.DECISION, rounds=False)
  assert est == pytest.approx(estimate.estimate(first.runs, {}).seconds * estimate.DECISION.overrun["pretrain"])
  shown.start(first, {})
  clock.t += 2 * est  # the first ensemble takes twice its estimate: what is left is scaled by that
  shown.finish()
  done = {r.id: {} for r in first.runs}
  shown.plan(_plan(groups), groups, done)
  shown.start(groups[1], done)
  shown.close()
  lines = out.getvalue().splitlines()
  assert "\r" not in out.getvalue() and len(lines) == 3
  total = sum(len(g.runs) for g in groups)
  assert lines[0].startswith("estimated time: about ") and f"for the {total} runs still to do" in lines[0]
  assert lines[1].startswith(f"ensemble 1 of {len(groups)}: 13k on toy-prose (pre-training), 1 run; "
                             f"0 of {total} runs done")
  assert lines[2].startswith(f"ensemble 2 of {len(groups)}: {progress.STAGE_WORDS[groups[1].stage]} 13k on toy-code")
  assert f"{len(first.runs)} of {total} runs done" in lines[2] and "elapsed" in lines[2] and "left" in lines[2]
  assert shown.ratio() == pytest.approx(2.0)
  left = estimate.estimate([r for g in groups[1:] for r in g.runs], {}).expected(estimate.DECISION, rounds=False)
  assert shown.seconds_left() == pytest.approx(2.0 * left)


def test_a_bracketing_round_is_announced(study, tmp_path):
  cfg, runs, groups = study
  out = io.StringIO()
  shown = progress.Progress(tmp_path, file=out, clock=Clock())
  brackets = {("toy-code", "13k"): {"rounds": 0, "added": [], "outside": {}}}
  shown.plan(_plan(groups, brackets), groups, {})
  added = runs_lib.target_runs(cfg, {}, "scratch", "toy-code", "13k", 30_000)
  more = groups + plan.group_runs(added, cfg.max_members)
  shown.plan(_plan(more, {("toy-code", "13k"): {"rounds": 1, "added": [30_000], "outside": {}}}), more, {})
  shown.close()
  total = sum(len(g.runs) for g in more)
  assert out.getvalue().splitlines()[-1] == (f"plan: {len(added)} new run{'s' if len(added) > 1 else ''} "
                                             f"({len(added)} from-scratch) from bracketing round 1 for toy-code 13k; "
                                             f"{total} runs planned now")


def test_live_bar_prints_lines_above_it_and_gives_stderr_back(study, tmp_path, monkeypatch):
  import sys
  _, _, groups = study
  out = io.StringIO()
  before = sys.stderr
  shown = progress.Progress(tmp_path, file=out, live=True, clock=Clock(), refresh_s=60)
  shown.plan(_plan(groups), groups, {})
  assert sys.stderr is not before  # what the sweep prints now goes above the bar
  print("a line from the engine", file=sys.stderr)
  shown.start(groups[0], {})
  shown.close()
  assert sys.stderr is before
  text = out.getvalue()
  assert "a line from the engine\n" in text and "ensemble 1/" in text and "runs, " in text and "elapsed" in text


def test_a_learning_rate_round_is_announced(study, tmp_path):
  _, runs, groups = study
  out = io.StringIO()
  shown = progress.Progress(tmp_path, file=out, clock=Clock())
  shown.plan(_plan(groups), groups, {})
  cell = [r for r in runs if r.stage == "scratch" and r.d_f == min(x.d_f for x in runs if x.stage == "scratch")]
  added = [dataclasses.replace(r, lr=r.lr / 10 ** 0.5) for r in cell]  # the next rate below an edge winner
  more = groups + plan.group_runs(added, 8)
  shown.plan(_plan(more), more, {})
  shown.close()
  last = out.getvalue().splitlines()[-1]
  assert last.startswith(f"plan: {len(added)} new run{'s' if len(added) > 1 else ''} ({len(added)} from-scratch) "
                         "from a learning-rate round for 1 cell;"), last
