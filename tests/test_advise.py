"""advise decides from one model: both options from the (N, D_F, p) law, the break-even cost ratio, a thresholded
probability, extrapolation flags, --json, and one line for bad input."""
import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from transfer_scaling import cli, fileio, laws
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import mixed, pretrain
from transfer_scaling.report import advice

P0, N, D_F = 2000.0, 56640.0, 4642.0
JOINT = dict(N_c=2.0e7, D_c=4.0e6, alpha_N=0.25, alpha_D=0.3, k=20.0, alpha=0.6, beta=0.3)
# gamma at which doubling D_F and doubling p buy the same loss at (N, D_F, P0): 2^gamma = 2^alpha + D_F / D_T.
D_T = 20.0 * D_F ** 0.6 * N ** 0.3
TIE = math.log2(2 ** 0.6 + D_F / D_T)


def truth(gamma):
  """The pretrain law that equals the joint law JOINT at p = P0."""
  return {**JOINT, "k": JOINT["k"] / P0 ** gamma, "gamma": gamma}


GRID = pretrain.Grid(sizes=(12768, 25472, 56640), scratch_d=(1000, 2154, 4642, 10000, 21544), d_f=(1000, 2154, 4642),
                     p=((10, 60, 340, 2000), (2000,), (2000,)), seeds=3, gap_d_f=(1000, 4642))
NOISE = mixed.Components(seed_d=0.01 ** 2, seed=0.005 ** 2, run={0.0: 0.005 ** 2, 1.0: 0.005 ** 2})


def fits(gamma, spread=0.01, B=400):
  """What analyze saves, built from a known law: the replicates are the truth with independent jitter."""
  rng = np.random.default_rng(3)
  t = truth(gamma)
  reps = {k: (v * np.exp(rng.normal(0, spread, B)) if k != "gamma" else v + rng.normal(0, spread, B)).tolist()
          for k, v in t.items()}
  return {"target": "python", "joint": {"law": "transfer_kaplan", "params": JOINT, "bootstrap": {}},
          "N_range": [12768, 56640], "D_F_range": [1000, 4642], "sizes": {"13k": 12768, "56k": 56640},
          "heldout": "held", "identified": {}, "pretrain_steps": P0, "units": "bytes",
          "decision": {"law": "pretrain_kaplan", "params": t, "bootstrap": reps,
                       "ranges": {"N": [12768, 56640], "D_F": [1000, 4642], "p": [10, 2000]},
                       "p_by_size": {"12768": [10, 60, 340, 2000], "56640": [2000]}, "pretrain_seeds": 1,
                       "design": _design(), "noise": {**NOISE.to_dict(), "df": {"widening": 1.0}},
                       "cost": {"scratch": {f"{n:g}": 10.0 for n in GRID.sizes},
                                "finetune": {f"{n:g}": 5.0 for n in GRID.sizes},
                                "pretrain_step": {f"{n:g}": 0.01 for n in GRID.sizes}}}}


def _design():
  sc, ft = pretrain.simulate("pretrain_kaplan", truth(0.5), GRID, NOISE, np.random.default_rng(0))
  rows = [sc.assign(p=1.0, pretrained=0.0), ft.rename(columns={"D_F": "D"}).assign(pretrained=1.0)]
  return {c: np.concatenate([r[c].to_numpy() for r in rows]).tolist() for c in pretrain.DESIGN}


def test_the_pretrain_law_is_the_joint_law_at_the_studys_pretraining():
  at = lambda law, prm, **x: laws.get_law(law).predict(prm, x)
  grid = dict(N=np.array([12768.0, 56640.0]), D=np.array([1000.0, 4642.0]), pretrained=np.array([1.0, 1.0]))
  want = at("transfer_kaplan", JOINT, **grid)
  got = at("pretrain_kaplan", truth(0.7), p=np.full(2, P0), **grid)
  assert np.allclose(got, want, rtol=1e-10)
  f = laws.get_law("pretrain_kaplan").functions
  assert np.allclose(f["finetuned_loss"](truth(0.7), N=grid["N"], D_F=grid["D"], p=P0), want, rtol=1e-10)
  # Doubling p multiplies D_T by 2^gamma.
  ratio = f["D_T"](truth(0.7), N, D_F, 2 * P0) / f["D_T"](truth(0.7), N, D_F, P0)
  assert math.isclose(float(np.ravel(ratio)[0]), 2 ** 0.7, rel_tol=1e-9)


@pytest.mark.parametrize("gamma, want", [(0.1, advice.DATA), (1.5, advice.PRETRAIN), (TIE, advice.UNDECIDED)])
def test_both_options_come_from_one_model_and_the_decision_follows_the_replicates(gamma, want):
  a = advice.advise(fits(gamma), d_f=D_F, N=N)
  assert a.better == want, a.text()
  fn = laws.get_law("pretrain_kaplan").functions["finetuned_loss"]
  loss = lambda d, p: float(np.ravel(fn(truth(gamma), N, d, p))[0])
  assert math.isclose(a.loss_now.value, loss(D_F, P0), rel_tol=1e-9)
  assert math.isclose(a.more_data.value, loss(2 * D_F, P0) - loss(D_F, P0), rel_tol=1e-6)
  assert math.isclose(a.more_pretraining.value, loss(D_F, 2 * P0) - loss(D_F, P0), rel_tol=1e-6)
  assert a.loss_now.lo <= a.loss_now.value <= a.loss_now.hi
  if want == advice.UNDECIDED:
    assert a.probability < advice.THRESHOLD and "below the 95% threshold" in a.text()
  else:
    assert a.probability >= advice.THRESHOLD and a.favours == want


def test_the_break_even_cost_ratio_is_where_the_same_budget_turns():
  g = 0.8
  a = advice.advise(fits(g), d_f=D_F, N=N)
  # Closed form: D_E(2 D_F, P0) = D_E(D_F, P0 + r D_F).
  r = ((P0 ** g * (D_F + 2 ** 0.6 * D_T) / D_T) ** (1 / g) - P0) / D_F
  b = a.break_even_cost_ratio
  assert math.isclose(b.value, r, rel_tol=1e-3) and b.lo <= b.value <= b.hi, (b, r)
  assert f"unless a fine-tuning byte costs more than {r:.3g} pre-training steps" in a.text()
  cheap, dear = (advice.advise(fits(g), d_f=D_F, N=N, cost_ratio=c) for c in (r / 3, 3 * r))
  assert cheap.better == advice.DATA and dear.better == advice.PRETRAIN
  assert cheap.same_budget_pretraining.value > cheap.more_data.value > dear.same_budget_pretraining.value
  # A replicate in which pre-training never helps (gamma <= 0) never breaks even.
  assert advice.break_even(laws.get_law("pretrain_kaplan").functions["finetuned_loss"], truth(-0.1), N, D_F,
                           P0)[0] == np.inf


def test_every_axis_the_comparison_touches_is_flagged_outside_the_measured_ranges():
  a = advice.advise(fits(0.8), d_f=D_F, N=N, cost_ratio=1.0)
  assert a.extrapolated == ["2 D_F", "p + extra", "p at the same budget"], a.warnings
  text = a.text()
  assert "2 D_F = 9,284 lies outside the fitted D_F (bytes) (1,000-4,642)" in text
  assert "the pre-training option's p = 4,000 steps lies outside" in text
  assert "pre-training was varied at N = 12,768 only" in text and "one checkpoint of one pre-training run" in text
  inside = advice.advise(fits(0.8), d_f=1000, N=12768, extra_steps=1000)
  assert inside.extrapolated == ["p + extra"] and not any("varied at" in w for w in inside.warnings)
  far = advice.advise(fits(0.8), d_f=1e5, N=1e7)
  assert {"N", "D_F", "2 D_F"} <= set(far.extrapolated) and any("held" in w for w in far.warnings)


def test_fits_of_one_pretraining_amount_say_why_the_answer_is_not_determined():
  f = fits(0.8)
  f["decision"], f["decision_note"] = None, "the runs start from one pre-training amount"
  a = advice.advise(f, d_f=D_F, N=N)
  assert a.better == advice.UNDECIDED and "one pre-training amount" in a.compared_at
  assert math.isfinite(a.multiplier.value) and a.more_pretraining is None
  assert a.to_json()["break_even_cost_ratio"] is None


def _workdir(tmp_path, f):
  fileio.write_json_atomic(str(tmp_path / "study.json"), {"config": {"targets": ["python"]}})
  fileio.write_json_atomic(str(tmp_path / "fits" / "python.json"), f)
  return str(tmp_path)


def test_json_output_and_the_python_api_agree(tmp_path, capsys):
  wd = _workdir(tmp_path, fits(0.1))
  assert cli.main(["advise", "--workdir", wd, "--d-f", "4642", "--size", "56k", "--cost-ratio", "0.01", "--json"]) == 0
  out = json.loads(capsys.readouterr().out)
  assert out["better"] == "more fine-tuning data" and out["probability"] >= 0.95
  for k in ("break_even_cost_ratio", "multiplier"):
    assert len(out[k]) == 3 and out[k][1] <= out[k][0] <= out[k][2], out[k]
  api = advice.advise(advice.load(wd, "python"), d_f=4642, N=56640, cost_ratio=0.01).to_json()
  assert api == out


@pytest.mark.parametrize("args, message", [
    (["--size", "99q"], "--size '99q' is not a number"),
    (["--size", "0"], "--size 0 must be a positive number of parameters"),
    (["--size", "nan"], "--size nan must be a positive number of parameters"),
    (["--d-f", "-5"], "--d-f must be a positive number"),
    (["--d-f", "inf"], "--d-f must be a positive number"),
    (["--cost-ratio", "0"], "--cost-ratio must be a positive finite number"),
    (["--cost-ratio", "nan"], "--cost-ratio must be a positive finite number"),
    (["--extra-steps", "-1"], "--extra-steps must be a positive finite number of pre-training steps"),
    (["--extra-steps", "inf"], "--extra-steps must be a positive finite number of pre-training steps"),
    (["--target", "german"], "has no target 'german'; its targets are python"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path, capsys, args, message):
  wd = _workdir(tmp_path, fits(0.8))
  given = dict(zip(["--d-f", "--size"], ["4642", "56k"]))
  given.update(dict(zip(args[::2], args[1::2])))
  code = cli.main(["advise", "--workdir", wd, *[x for kv in given.items() for x in kv]])
  err = capsys.readouterr().err
  lines = [line for line in err.strip().splitlines() if line.strip()]
  assert code == 2 and len(lines) == 1 and message in lines[0], err


def test_bad_input_to_the_api_names_the_problem():
  for kw, message in ((dict(d_f=0.0, N=N), "D_F must be"), (dict(d_f=D_F, N=math.nan), "N must be"),
                      (dict(d_f=D_F, N=N, extra_steps=-2.0), "extra pre-training steps"),
                      (dict(d_f=D_F, N=N, cost_ratio=math.inf), "cost ratio")):
    with pytest.raises(UsageError, match=message):
      advice.advise(fits(0.8), **kw)


def test_the_model_is_fitted_to_every_pretraining_amount_and_recovers_gamma():
  sc, ft = pretrain.simulate("pretrain_kaplan", truth(0.5), GRID, NOISE, np.random.default_rng(0))
  pf = pretrain.fit_pretrain(sc, ft, scratch_law="kaplan", bootstrap=40, max_D_F=1e4)
  assert pf.fit.resample == "gls" and pf.ranges["p"] == [10.0, 2000.0] and pf.pretrain_seeds == 1
  # One pre-training seed: a model's luck cannot be told from the law's p-dependence, so it is no component.
  assert pf.noise.pretrain == 0.0 and "pretrain" not in pf.noise.df and set(pf.design["model"]) == {""}
  lo, hi = pf.fit.ci95["gamma"]
  assert lo <= 0.5 <= hi and hi - lo < 1.0, (lo, hi)
  assert set(pf.to_json()) >= {"law", "params", "bootstrap", "ranges", "p_by_size"}
  one_p = ft[ft["p"] == 2000]
  with pytest.raises(UsageError, match="start from 1 pre-training amount"):
    pretrain.fit_pretrain(sc, one_p, scratch_law="kaplan", bootstrap=0, max_D_F=1e4)


def test_an_undecided_answer_says_which_runs_would_narrow_it_and_what_they_cost():
  a = advice.advise(fits(TIE), d_f=D_F, N=N)
  assert a.better == advice.UNDECIDED and 1 <= len(a.next_runs) <= 3
  after = [r["sd_after"] for r in a.next_runs]
  assert after == sorted(after) and all(0 < x <= r["sd_now"] for x, r in zip(after, a.next_runs))
  seed = advice.next_runs(fits(TIE), N, D_F, P0, 2 * P0, top=10)
  more = next(r for r in seed if r["what"] == "one more seed on every cell")
  design = fits(TIE)["decision"]["design"]
  assert more["runs"] == len(design["N"])  # every cell once more, at the measured seconds per run
  assert more["seconds"] == sum(5.0 if a else 10.0 for a in design["pretrained"])
  further = next(r for r in seed if r["what"].startswith("pre-train 56,640 on to 4,000 steps"))
  assert further["seconds"] == 2000 * 0.01 + further["runs"] * 5.0
  assert "what to run next" in a.text() and advice.advise(fits(0.1), d_f=D_F, N=N).next_runs == []


def test_records_naming_their_pretraining_seed_are_counted_and_old_ones_count_as_one():
  assert pretrain.pretrain_seeds(pd.DataFrame({"seed": [0, 1]})) == 1
  assert pretrain.pretrain_seeds(pd.DataFrame({"pretrain_seed": [None, None]})) == 1
  assert pretrain.pretrain_seeds(pd.DataFrame({"pretrain_seed": [0, 1, 0, None]})) == 2
  # The noise model's labels: a model per (size, p, pre-training seed), a missing seed the joint fit's single one.
  sc = pd.DataFrame({"N": [1.0]})
  ft = lambda seeds: pd.DataFrame({"N": [1.0, 1.0, 2.0], "p": [10.0, 20.0, 10.0], "pretrain_seed": seeds})
  assert pretrain._models(sc, ft([0, 1, None])).tolist() == ["", "1/10|0", "1/20|1", "2/10|single"]
  assert pretrain._models(sc, ft([0, 0, 0])) is None and pretrain._models(sc, ft([None] * 3)) is None
  f = fits(0.8)
  f["decision"]["pretrain_seeds"] = 2  # fits without the component (an older analyze) say so
  a = advice.advise(f, d_f=D_F, N=N)
  assert any("from 2 pre-training seeds" in w and "no component of its own" in w for w in a.warnings)
  assert not any("one checkpoint of one pre-training run" in w for w in a.warnings)
  f["decision"]["noise"]["pretrain"] = 1e-4
  f["decision"]["noise"]["df"]["pretrain"] = 3
  a = advice.advise(f, d_f=D_F, N=N)
  assert not any("pre-training seeds" in w or "one checkpoint" in w for w in a.warnings), a.warnings


# Eight fine-tuning seeds from four pre-trained models per (size, p), as the decision scale runs them.
GRID_P = dataclasses.replace(GRID, seeds=8, pretrain_seeds=4)
NOISE_P = dataclasses.replace(NOISE, pretrain=0.01 ** 2)


def test_the_decision_models_labels_give_an_unbiased_pretrained_model_component():
  est = []
  for i in range(60):
    sc, ft = pretrain.simulate("pretrain_kaplan", truth(0.5), GRID_P, NOISE_P, np.random.default_rng([5, i]))
    data = pd.concat([sc.assign(p=1.0, arm=0.0), ft.rename(columns={"D_F": "D"}).assign(arm=1.0)], ignore_index=True)
    cells = [f"{a:g}|{n:g}|{d:g}|{p:g}" for a, n, d, p in zip(data["arm"], data["N"], data["D"], data["p"])]
    c = mixed.estimate(np.log(data["loss"]), cells, data["seed"], data["D"], data["arm"], pretrain._models(sc, ft))
    est.append(c.pretrain)
  # Each p's model is its own (a cool-down finishes it): labels of size and seed alone would pool 4 models into one.
  assert abs(np.mean(est) / NOISE_P.pretrain - 1) < 0.25, np.mean(est)
  assert c.df["pretrain"] == 6 * 3  # (4 - 1) models at each of the 6 measured (size, p)


def test_the_decision_model_estimates_and_resamples_the_pretrained_models_luck():
  sc, ft = pretrain.simulate("pretrain_kaplan", truth(0.5), GRID_P, NOISE_P, np.random.default_rng(0))
  pf = pretrain.fit_pretrain(sc, ft, scratch_law="kaplan", bootstrap=40, max_D_F=1e4)
  assert pf.pretrain_seeds == 4 and pf.noise.df["pretrain"] == 18
  # One study's moment estimate from 18 degrees of freedom: over 200 draws 90% lie within 0.28-1.9 of the truth.
  assert 1 / 3 < pf.noise.pretrain / NOISE_P.pretrain < 3, pf.noise.pretrain
  for k, v in truth(0.5).items():
    lo, hi = pf.fit.ci95[k]
    assert lo <= v <= hi, (k, lo, hi, v)
  saved = pf.to_json()
  assert saved["noise"]["pretrain"] == pf.noise.pretrain
  models = set(saved["design"]["model"])
  assert len(models) == 1 + 6 * 4 and "" in models  # from scratch, and 4 models at each measured (size, p)
  # The bootstrap draws the models' luck: the same runs without their pre-training seeds give a narrower gamma.
  one = pretrain.fit_pretrain(sc, ft.drop(columns="pretrain_seed"), scratch_law="kaplan", bootstrap=40, max_D_F=1e4)
  width = lambda f: f.fit.ci95["gamma"][1] - f.fit.ci95["gamma"][0]
  assert one.noise.pretrain == 0.0 and width(pf) > width(one), (width(pf), width(one))
  # advise reads the component back: a run planned from one new pre-trained model carries its luck.
  f = fits(0.5)
  f["decision"].update(design=saved["design"], noise=saved["noise"])
  plans = {r["what"]: r for r in advice.next_runs(f, N, D_F, P0, 2 * P0, top=10)}
  f["decision"]["noise"] = {**saved["noise"], "pretrain": 0.0}
  without = {r["what"]: r for r in advice.next_runs(f, N, D_F, P0, 2 * P0, top=10)}
  further = next(w for w in plans if w.startswith("pre-train 56,640 on to 4,000 steps"))
  assert plans[further]["sd_after"] > without[further]["sd_after"]


def test_runs_planned_without_a_model_start_from_their_pretraining_seeds_model():
  design = pd.DataFrame({"N": 1.0, "D": [5.0, 5.0, 5.0, 10.0, 10.0, 10.0, 10.0],
                         "p": [1.0, 2.0, 2.0, 4.0, 2.0, 2.0, 1.0], "pretrained": [0.0, 1, 1, 1, 1, 1, 0],
                         "seed": ["0", "0", "1", "0", "2", "10", "2"],
                         "model": ["", "1/2|a", "1/2|b", None, None, None, None]})
  # Seed 0's model finished at p = 4; new seeds 2 and 10 take the pre-training seeds in turn after seeds 0 and 1.
  want = ["", "1/2|a", "1/2|b", "1/4|a", "1/2|a", "1/2|b", ""]
  assert pretrain.models_of(design).tolist() == want
  assert pretrain.models_of(design.drop(columns="model")).tolist() == [""] * 7  # fits of an older analyze


def test_the_decision_model_takes_any_form_with_a_pretrain_law_and_says_which_form_stands_in_for_the_average():
  sc, ft = pretrain.simulate("pretrain_kaplan", truth(0.5), GRID, NOISE, np.random.default_rng(0))
  assert pretrain.forms() == ["chinchilla", "kaplan"]
  with pytest.raises(UsageError, match=r"scratch_law='flexible' has no \(N, D_F, p\) law; use one of chinchilla, "
                                       r"kaplan, average"):
    pretrain.fit_pretrain(sc, ft, scratch_law="flexible", bootstrap=0, max_D_F=1e4)
  laws.register(dataclasses.replace(laws.get_law("pretrain_kaplan"), name="pretrain_flexible"))
  try:
    assert pretrain.forms() == ["chinchilla", "flexible", "kaplan"]  # a registered law is found, none listed by hand
  finally:
    laws.registry.unregister("pretrain_flexible")
  pf = pretrain.fit_pretrain(sc, ft, scratch_law="average", bootstrap=0, max_D_F=1e4)
  note = "decision model: pretrain_kaplan (the average of the from-scratch forms"
  assert pf.fit.law == "pretrain_kaplan" and pf.to_json()["form_note"].startswith(note)
  f = fits(0.8)
  f["decision"]["form_note"] = pf.form_note
  assert any(w.startswith(note) for w in advice.advise(f, d_f=D_F, N=N).warnings)
  assert not any("decision model:" in w for w in advice.advise(fits(0.8), d_f=D_F, N=N).warnings)


def _joint_bootstrap(params, spread=0.01, B=400):
  rng = np.random.default_rng(5)
  return {k: (v * np.exp(rng.normal(0, spread, B))).tolist() for k, v in params.items()}


def test_a_multiplier_the_transfer_law_contradicts_is_not_determined():
  f = fits(0.7)
  f["joint"]["bootstrap"] = _joint_bootstrap(JOINT)  # the same law at p = P0: the two agree
  a = advice.advise(f, d_f=D_F, N=N)
  assert a.multiplier_transfer_law is None and "not determined" not in a.text().splitlines()[1]
  far = {**JOINT, "k": JOINT["k"] * 5}  # a transfer law whose multiplier lies far outside the model's interval
  f["joint"] = {**f["joint"], "params": far, "bootstrap": _joint_bootstrap(far)}
  a = advice.advise(f, d_f=D_F, N=N)
  m = a.multiplier_transfer_law
  assert m is not None and not (a.multiplier.lo <= m.value <= a.multiplier.hi)
  assert a.text().splitlines()[1].startswith("  effective-data multiplier (D_F + D_T) / D_F: not determined: ")
  assert any("each model's value lies outside the other's interval" in w for w in a.warnings)
  assert a.to_json()["multiplier_transfer_law"][0] == pytest.approx(m.value)
  assert a.better == advice.advise(fits(0.7), d_f=D_F, N=N).better  # the decision does not read the multiplier
