"""The analysis on study records whose losses follow known laws: it must recover them, choose on
validation, and list what it left out (failed, cut off, stale)."""
import os

import numpy as np
import pytest

from transfer_scaling import fileio, ladder, laws
from transfer_scaling.errors import UsageError
from transfer_scaling.report import advice, analysis, workdir_report
from transfer_scaling.study import legacy, plan as plan_lib, runs as runs_lib, toy, workdir as workdir_lib
from transfer_scaling.study.config import StudyConfig

TRUTH = dict(N_c=2.0e7, D_c=4.0e6, alpha_N=0.25, alpha_D=0.3, k=20.0, alpha=0.6, beta=0.3)
GAP = dict(A=3.0, alpha=0.5, G=0.4, beta=0.1, E=1.0)
CORPORA = {"hashes": {"toy-prose": "p0", "toy-code": "c0"},
           "sizes": {"toy-prose": {"train": 10**6}, "toy-code": {"train": 10**6}}}


def _config(gap: bool):
  c = toy.config()
  c.sizes = ("13k",) if gap else ("13k", "25k", "56k")
  c.seeds = (0, 1, 2)
  c.scratch.lrs = (1e-2, 3e-3)  # the worse one on validation must never be used
  c.bracket.rounds = 3
  c.gap.sizes = ("13k",) if gap else ()
  c.pretrain.num_kept = 4
  c.gap.d_f.num = 3
  c.analysis.update(bootstrap=50, example_size="25k", example_d_f=4000, low_data_max_d_f=8000)
  return StudyConfig.from_dict(c)


def _loss(cfg, run, rng, gap: bool) -> float:
  N = ladder.n_params(cfg.model_config(run.size))
  if run.stage in ("pretrain", "zeroshot"):
    return 2.0 if run.stage == "pretrain" else 3.0
  if gap and run.stage == "finetune":
    g = GAP
    mean = (g["A"] * run.p ** -g["alpha"] + g["G"]) * run.d_f ** -g["beta"] + g["E"]
  else:
    pre = float(run.stage == "finetune")
    mean = laws.get_law("transfer_kaplan").predict(TRUTH, {"N": np.array([N]), "D": np.array([float(run.d_f)]),
                                                          "pretrained": np.array([pre])})[0]
  return float(mean * np.exp(rng.normal(0, 0.01)))


def _record(cfg, run, loss, status="done"):
  N = ladder.n_params(cfg.model_config(run.size))
  ok = not status.startswith("failed")
  return {"id": run.id, "study": cfg.study, "stage": run.stage, "source": cfg.source, "target": run.corpus,
          "size": run.size, "N": N, "d_f": run.d_f, "init": run.init, "p": run.p, "seed": run.seed, "group": "g",
          "member": 0, "valid_loss": loss if ok else None, "test_loss": loss if ok else None, "best_step": 10,
          "steps": 20, "budget": run.budget, "tokens": 2560, "flops": 2560 * 6.0 * N, "wall_s": 1.0,
          "status": status, "run": run.to_json()}


def _records(cfg, gap=False, fail=None, cut=None) -> dict:
  """Records of every run of the plan, the bracketing rounds included (as a sweep leaves them)."""
  rng = np.random.default_rng(0)
  records = {}
  while True:
    p = plan_lib.make_plan(cfg, CORPORA["hashes"], {t: v["train"] for t, v in CORPORA["sizes"].items()}, records)
    new = [r for r in p.runs if r.id not in records]
    if not new:
      return records
    for r in new:
      loss = _loss(cfg, r, rng, gap)
      if r.stage == "scratch" and r.lr == 3e-3:
        loss *= 1.2
      status = "done"
      if fail is not None and fail(r):
        status = "failed: diverged: training loss became NaN at step 7; lower this member's learning rate"
      elif cut is not None and cut(r):
        status = "cut_off"
      records[r.id] = _record(cfg, r, loss, status)


def _plan(cfg, records) -> dict:
  """The plan.json a sweep that left these records would have written."""
  from transfer_scaling.study import runner
  train = {t: v["train"] for t, v in CORPORA["sizes"].items()}
  return runner.plan_record(cfg, plan_lib.make_plan(cfg, CORPORA["hashes"], train, records))


@pytest.fixture(scope="module")
def study():
  cfg = _config(gap=False)
  first = lambda r: r.stage == "scratch" and r.size == "13k" and r.seed == 0 and r.lr == 1e-2
  failed_run = [r for r in runs_lib.build_runs(cfg, CORPORA["hashes"]) if first(r)][-1]
  recs = _records(cfg, fail=lambda r: r.id == failed_run.id,
                  cut=lambda r: r.stage == "scratch" and r.size == "56k" and r.seed == 1 and r.d_f == 1000)
  return cfg, recs, failed_run


def test_the_analysis_recovers_the_transfer_law_from_the_runs(study):
  cfg, recs, failed_run = study
  res = analysis.analyze(cfg, recs, _plan(cfg, recs))
  t = res.targets["toy-code"]
  assert res.settled and t.joint is not None and t.joint.fit.converged
  p = t.joint.fit.params
  assert abs(p["alpha"] - TRUTH["alpha"]) < 0.2 and abs(p["beta"] - TRUTH["beta"]) < 0.25, p
  assert t.joint.fit.resample == "gls"  # three seeds per cell: GLS under the seed-structured noise model
  assert t.joint.noise is not None and set(t.joint.check) >= {"alpha", "multiplier"}
  N = ladder.n_params(cfg.model_config("25k"))
  truth = laws.get_law("transfer_kaplan").functions["multiplier"](TRUTH, np.array([N]), np.array([4000.0]))[0]
  m = t.example["multiplier"]
  assert m.lo <= truth <= m.hi and t.example["inside"]
  # Every chosen scratch run is at the lr that is better on validation, except in the cell where it
  # diverged once (a setting that trained every seed wins); failed and cut-off runs are out.
  sc = t.runs[t.runs["stage"] == "scratch"]
  other = (sc["size"] == "13k") & (sc["D_F"] == failed_run.d_f)
  assert set(sc[~other]["lr"]) == {1e-2} and set(sc[other]["lr"]) == {3e-3}
  assert failed_run.id in set(res.failed["id"]) and failed_run.id not in set(t.runs["id"])
  assert len(t.cut_off) == 1 and t.cut_off["id"].iloc[0] not in set(t.runs["id"])
  # The bracketing rounds extended the from-scratch curve past every D_E.
  for size, b in t.brackets.items():
    assert not b["outside"], (size, b)
  assert t.gain["lo"] > 0


@pytest.mark.slow
def test_a_stale_record_is_not_used(study):
  cfg, recs, _ = study
  stale = dict(next(r for r in recs.values() if r["stage"] == "scratch"), id="0ldc0nf1g000", test_loss=0.01,
               valid_loss=0.01)
  res = analysis.analyze(cfg, {**recs, stale["id"]: stale}, _plan(cfg, recs))
  assert res.not_in_plan == 1 and "0ldc0nf1g000" not in set(res.table["id"])
  assert len(res.table) == len(recs)


def test_the_workdir_report_writes_figures_fits_and_advice(study, tmp_path):
  cfg, recs, failed_run = study
  wd = str(tmp_path)
  fileio.write_json_atomic(workdir_lib.study_path(wd),
                           {"config": cfg.to_dict(), "study": cfg.study, "corpora": CORPORA})
  for rid, rec in recs.items():
    fileio.write_json_atomic(workdir_lib.record_path(wd, rid), rec)
  with pytest.raises(UsageError, match="has no plan.json"):
    workdir_report.load(wd)
  legacy.ensure_plan(wd)  # as `analyze` does for a workdir swept before sweeps wrote the plan
  assert workdir_lib.read_plan(wd) == _plan(cfg, recs)
  # A plan.json written before plans held their rounds: they are added, its runs kept as the sweep wrote them.
  old = {k: v for k, v in _plan(cfg, recs).items() if k not in ("brackets", "lrs")}
  fileio.write_json_atomic(workdir_lib.plan_path(wd), {**old, "runs": old["runs"][1:]})
  assert workdir_lib.read_plan(wd)["lrs"] is None
  legacy.ensure_plan(wd)
  assert workdir_lib.read_plan(wd) == {**_plan(cfg, recs), "runs": old["runs"][1:]}
  fileio.write_json_atomic(workdir_lib.plan_path(wd), _plan(cfg, recs))
  workdir_report.write(wd)
  text = open(tmp_path / "report.md").read()
  for stem in ("fig1_loss_vs_data", "fig3_dt_vs_df", "fig9_profiles", "fig10_heldout_size"):
    assert f"figures/{stem}" in text, stem
  pngs = [f for f in os.listdir(tmp_path / "figures") if f.endswith(".png")]
  assert pngs and all(os.path.getsize(tmp_path / "figures" / f) > 5000 for f in pngs)
  assert "## Left out" in text and "training loss became NaN at step 7" in text and "cut off" in text
  assert os.path.exists(tmp_path / "results.csv") and os.path.exists(tmp_path / "effective_data_toy-code.csv")
  a = advice.advise(advice.load(wd, "toy-code"), d_f=4000, N=ladder.n_params(cfg.model_config("25k")))
  assert np.isfinite(a.multiplier.value) and a.multiplier.lo <= a.multiplier.value <= a.multiplier.hi
  assert a.better == "not determined"  # no transfer-gap law in this study


@pytest.mark.slow
def test_the_transfer_gap_law_is_fitted_on_the_gap_grid():
  cfg = _config(gap=True)
  recs = _records(cfg, gap=True)
  res = analysis.analyze(cfg, recs, _plan(cfg, recs))
  g = res.targets["toy-code"].gap
  assert g is not None and g.fit is not None and g.fit.converged
  lo, hi = g.fit.ci95["beta"]  # under a decade of f with 1% noise: beta is loose, but its interval holds it
  assert lo <= GAP["beta"] <= hi, (lo, hi)
  pred = laws.get_law("barnett").predict(g.fit.params, g.points)
  assert np.max(np.abs(np.log(pred / g.points["loss"]))) < 0.05
  assert set(g.identified) == {"G", "alpha", "beta"} and g.allocation is not None


def test_a_workdir_without_a_study_says_so(tmp_path):
  with pytest.raises(UsageError, match="holds no study"):
    workdir_report.load(str(tmp_path))


def test_a_cut_off_run_of_a_setting_that_lost_the_choice_is_reported(study):
  # The report must not say early stopping ended every run when a losing setting hit its ceiling.
  from transfer_scaling.report import markdown
  cfg, recs, _ = study
  recs = {k: dict(v) for k, v in recs.items() if not v["status"].startswith("failed") and v["status"] != "cut_off"}
  loser = next(r for r in recs.values() if r["stage"] == "scratch" and r["run"]["lr"] == 3e-3 and r["size"] == "25k")
  loser["status"] = "cut_off"
  res = analysis.analyze(cfg, recs, _plan(cfg, recs))
  assert all(t.cut_off.empty for t in res.targets.values())
  text = " ".join(markdown._left_out(res))
  assert "every chosen run" in text and "lost the learning-rate choice" in text, text


def test_a_gap_nuisance_parameter_whose_interval_spans_decades_is_not_determined():
  # The gap law's E ran along its ridge to 0 in most replicates: [1.3e-8, 6.2e7] is no interval.
  from types import SimpleNamespace
  from transfer_scaling.report.markdown import _scale
  fit = SimpleNamespace(params={"E": 1.2e-6, "A": 5.0}, derived={}, ci95={"E": (1.27e-8, 6.17e7), "A": (3.6, 11.5)})
  assert _scale(fit, "E").startswith("not determined by this grid (bootstrap [1.27e-08, 6.17e+07] spans 16 decades")
  assert _scale(fit, "A") == "5 [3.6, 11.5]"


def test_figure_8_prints_g_only_where_the_grid_determines_it(tmp_path, monkeypatch):
  # The report's table says "G is not determined"; the figure's title must not print a value for it.
  from transfer_scaling.report import figures as F
  titles = []
  monkeypatch.setattr(F, "_save", lambda fig, out_dir, stem: titles.append(fig.axes[0].get_title()))
  import pandas as pd
  points = pd.DataFrame({"p": [10, 100, 10, 100], "f": [1e3, 1e3, 1e4, 1e4], "loss": [3.0, 2.5, 2.8, 2.2]})
  params = dict(A=6.43, alpha=0.0348, G=9.71e-09, beta=0.18, E=1.67)
  from transfer_scaling import laws
  for status in ("not determined", "determined"):
    F.gap_contours(points, None, None, F.law_title(laws.get_law("barnett"), params, {"G": status}), str(tmp_path))
  assert "9.71e-09" not in titles[0] and "G not determined" in titles[0]
  assert titles[1] == "L(p,f) = (6.43 p^-0.03 + 9.71e-09) f^-0.18 + 1.67"


def test_a_damaged_record_is_counted_and_named_as_left_out_never_fitted(study):
  # A "done" record whose loss is NaN, or whose stage is unknown, must not vanish while the report says
  # none were left out: it is a failed run, listed with the file to delete, in report.md and the headline.
  from transfer_scaling.report import markdown
  cfg, recs, _ = study
  plan = _plan(cfg, recs)
  recs = {k: dict(v) for k, v in recs.items() if not v["status"].startswith("failed") and v["status"] != "cut_off"}
  scratch = [r for r in recs.values() if r["stage"] == "scratch" and r["run"]["lr"] == 1e-2]
  nan, odd = scratch[0], scratch[1]
  nan["test_loss"] = float("nan")
  odd["stage"] = "scratch2"
  res = analysis.analyze(cfg, recs, plan)
  assert set(res.failed["id"]) == {nan["id"], odd["id"]}
  for t in res.targets.values():
    assert not {nan["id"], odd["id"]} & set(t.runs["id"])
  text = "\n".join(markdown._left_out(res))
  assert "none were left out" not in text and "2 run(s) failed" in text
  assert "done but test_loss is nan" in text and "unknown stage 'scratch2'" in text and f"runs/{nan['id']}.json" in text
  head = markdown.headline(res)
  assert "2 run(s) failed and are left out" in head and f"runs/{odd['id']}.json" in head


def test_headline_says_provisional_left_out_and_extrapolated_as_the_report_does(study):
  """The terminal headline of analyze and the quickstart must not look final where report.md says otherwise."""
  from transfer_scaling.report import markdown
  cfg, recs, _ = study
  res = analysis.analyze(cfg, recs, _plan(cfg, recs))
  head = markdown.headline(res)
  assert res.settled and res.planned == len(_plan(cfg, recs)["runs"])
  assert "PROVISIONAL" not in head and "extrapolation" not in head
  assert "1 run(s) failed and are left out" in head
  assert "1 chosen run(s) reached their step ceiling still improving and are left out of the fits" in head
  # A sweep stopped early (the 56k fine-tuned runs have no records yet) leaves a plan that is not settled ...
  part = {k: v for k, v in recs.items() if not (v["stage"] == "finetune" and v["size"] == "56k")}
  plan = _plan(cfg, part)
  assert not plan["settled"]
  # ... and the analysis of it says so first (the fits are as above: only the flags are looked at here).
  res.settled, res.planned = plan["settled"], len(plan["runs"])
  t = res.targets["toy-code"]
  t.example["inside"] = False
  t.brackets["56k"]["outside"] = {16000: "above the largest measured D"}
  head = markdown.headline(res)
  assert head.startswith(f"PROVISIONAL: the study is not finished ({len(res.table)} of {len(plan['runs'])} planned "
                         "runs have records)"), head
  assert "(outside the measured sizes or D_F: an extrapolation)" in head
  assert "1 fine-tuned cell(s) have a D_E outside the measured from-scratch runs" in head


def test_a_run_is_charged_its_share_of_its_ensembles_wall_time():
  import pandas as pd
  # Two fine-tuned runs in one 10 s ensemble, one from-scratch run trained alone (a runs file: no ensemble).
  rec = pd.DataFrame({"stage": ["finetune", "finetune", "scratch", "pretrain"], "N": [100, 100, 100, 100],
                      "wall_s": [10.0, 10.0, 4.0, 8.0], "steps": [5, 5, 5, 400], "id": ["a", "b", "c", "d"],
                      "ensemble": ["g", "g", "", "p"]})
  cost = analysis.run_cost(rec, rec[rec["stage"] == "scratch"], rec[rec["stage"] == "finetune"])
  assert cost["finetune"] == {"100": 5.0} and cost["scratch"] == {"100": 4.0}
  assert cost["pretrain_step"] == {"100": 8.0 / 400}
