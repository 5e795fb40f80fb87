"""The joint fit, its intervals and verdicts and the held-out-size check, on studies with known answers.

advise, which reads them: test_advise.py.
"""

import math
import numpy as np
import pandas as pd
import pytest

from transfer_scaling import laws
from transfer_scaling.errors import UsageError
from transfer_scaling.laws import coverage, identify, joint

# A Kaplan-form scratch law and a transfer law at the scale of the quickstart (bytes, nats/byte).
TRUTH = dict(N_c=2.0e7, D_c=4.0e6, alpha_N=0.25, alpha_D=0.3, k=20.0, alpha=0.6, beta=0.3)
DESIGN = coverage.Design(sizes=(12768, 25472, 56640), scratch_d=(1000, 2154, 4642, 10000, 21544, 46416),
                         d_f=(1000, 2154, 4642, 10000), seeds=3, reference=(56640, 4642))


@pytest.fixture(scope="module")
def study():
  return coverage.simulate("transfer_kaplan", TRUTH, DESIGN, 0.01, np.random.default_rng(0))


@pytest.fixture(scope="module")
def fitted(study):
  sc, ft = study
  return joint.fit_joint(sc, ft, scratch_law="kaplan", bootstrap=100, max_D_F=1e4)


def test_the_joint_fit_recovers_known_parameters_with_noise(fitted):
  f = fitted.fit
  assert f.converged and f.resample == "gls" and f.n_bootstrap_converged >= 90
  assert abs(f.params["alpha"] - TRUTH["alpha"]) < 0.15 and abs(f.params["beta"] - TRUTH["beta"]) < 0.2, f.params
  true_mult = laws.get_law("transfer_kaplan").functions["multiplier"](TRUTH, 56640, 4642)
  lo, hi = fitted.interval("multiplier", 56640, 4642)
  assert lo[0] <= true_mult <= hi[0]
  for k in ("alpha", "beta"):
    assert fitted.identified[k].status in ("determined", "bounded"), fitted.identified[k]
    p = fitted.profiles[k]
    assert p.bounded and p.lo < f.params[k] < p.hi


@pytest.mark.slow
def test_one_seed_per_cell_gets_a_parametric_bootstrap(study):
  sc, ft = study
  sc1, ft1 = sc.iloc[::3].reset_index(drop=True), ft.iloc[::3].reset_index(drop=True)  # seed 0 only
  jf = joint.fit_joint(sc1, ft1, scratch_law="kaplan", bootstrap=40, max_D_F=1e4, profiles=())
  assert jf.fit.resample == "parametric" and jf.fit.ci95 is not None


def test_beta_with_two_sizes_is_not_determined(study):
  sc, ft = study
  keep = lambda d: d[d["N"] != 25472]
  jf = joint.fit_joint(keep(sc), keep(ft), scratch_law="kaplan", bootstrap=20, max_D_F=1e4, profiles=("beta",))
  v = jf.identified["beta"]
  assert v.status == "not determined" and "3 or more sizes" in v.fix


def test_an_unreachable_gap_is_reported_as_not_determined():
  # Pre-training's term A p^-alpha stays far above G over the whole measured p: G is not determined.
  truth = dict(A=5.0, G=1e-4, E=1.0, alpha=0.3, beta=0.3)
  rng = np.random.default_rng(1)
  rows = [(p, f, s) for p in (10, 60, 340, 2000) for f in (1000, 2154, 4642) for s in range(3)]
  pts = pd.DataFrame(rows, columns=["p", "f", "seed"])
  pts["loss"] = laws.get_law("barnett").predict(truth, pts) * np.exp(rng.normal(0, 0.005, len(pts)))
  cells = [f"{p}|{f}" for p, f in zip(pts["p"], pts["f"])]
  fit = laws.fit("barnett", pts[["p", "f", "loss"]], bootstrap=50, cells=cells, delta="auto", refit_iter=200)
  prof = laws.fitting.profile(fit, ["G"])
  v = identify.parameter(laws.get_law("barnett"), "G", fit, prof["G"], {"p_max": 2000})
  assert v.status in ("upper bound only", "not determined") and "pre-train further" in v.fix, v


@pytest.mark.slow
def test_the_held_out_size_is_predicted_when_the_law_holds(study):
  sc, ft = study
  h = joint.heldout_size_check(sc, ft, scratch_law="kaplan", bootstrap=100, max_D_F=1e4)
  assert h.size_N == 56640 and h.inside >= h.expected[0] and h.rmse_log_loss < 0.05
  assert h.expected == (3, 4) and "0.35 decades of N" in h.verdict and "consistent with the law" in h.verdict
  with pytest.raises(UsageError, match="3 or more sizes"):
    joint.heldout_size_check(sc[sc["N"] < 30000], ft[ft["N"] < 30000], scratch_law="kaplan", bootstrap=10)


@pytest.mark.slow
def test_the_95_percent_intervals_cover_the_truth_on_simulated_studies():
  # The calibration check of docs/coverage.md at a smaller number of studies, with a seed's runs
  # sharing most of their noise as the project's own runs do.
  table = coverage.coverage("transfer_kaplan", TRUTH, DESIGN, 0.01, n_studies=40, bootstrap=200, max_D_F=1e4,
                            noise=coverage.Noise(same_d=0.85, across_d=0.3))
  assert (table["resample"] == "gls").all()
  s = coverage.summary(table).set_index("quantity")
  for k in ("alpha", "beta", "multiplier"):
    assert 0.8 <= s.loc[k, "coverage"] <= 1.0, s


def test_a_scale_parameter_bounded_only_within_decades_is_not_determined():
  from types import SimpleNamespace
  from transfer_scaling.laws.fitting import Profile
  fit = SimpleNamespace(ci95={"k": (1e-7, 2e3)}, params={"k": 0.6})
  design = dict(sizes=3, d_f=3, d_f_decades=0.7, n_decades=0.6)
  wide = Profile("k", 0.6, np.array([1e-6, 1e4]), np.array([5.0, 5.0]), 2e-5, 3.6e3, 3.84)
  v = identify.parameter(laws.get_law("hernandez"), "k", fit, wide, design)
  assert v.status == "not determined" and "spans 8 decades" in v.text
  narrow = Profile("k", 0.6, np.array([0.1, 10.0]), np.array([5.0, 5.0]), 0.2, 3.0, 3.84)
  # a bounded profile beside a wide interval: bounded
  v = identify.parameter(laws.get_law("hernandez"), "k", fit, narrow, design)
  assert v.status == "bounded" and "design centre" in v.text
  fit.ci95["k"] = (0.4, 0.75)
  assert identify.parameter(laws.get_law("hernandez"), "k", fit, narrow, design).determined


def test_the_average_keeps_every_form_the_runs_do_not_reject_with_equal_weight():
  # Deviances (AIC less 2P) 100, 103 and 120 with 7, 8 and 12 parameters: the second is within chi2(1) of the
  # best (3 < 3.84), the third is rejected (20 > chi2(5) = 11.07). Akaike weights would give the second 0.08.
  from types import SimpleNamespace
  fit = lambda P: SimpleNamespace(law=SimpleNamespace(params=tuple(range(P))))
  fits = {"kaplan": fit(7), "chinchilla": fit(8), "flexible": fit(12)}
  aic = {"kaplan": 100 + 14, "chinchilla": 103 + 16, "flexible": 120 + 24}
  assert joint._weights(fits, aic) == {"kaplan": 0.5, "chinchilla": 0.5, "flexible": 0.0}
  boots = {f: pd.DataFrame({"k": np.full(100, v), "alpha": v, "beta": 0.0}) for f, v in
           (("kaplan", 1.0), ("chinchilla", 2.0), ("flexible", 3.0))}
  pooled = joint._pool(boots, joint._weights(fits, aic), seed=0)
  assert len(pooled) == 200 and set(pooled["alpha"]) == {1.0, 2.0}  # the kept forms' 100 + 100
  assert abs((pooled["alpha"] == 2.0).mean() - 0.5) < 0.01


def test_average_and_flexible_are_named_through_the_scratch_role(study):
  from transfer_scaling.laws import registry
  from transfer_scaling.study import config as study_config
  # The config takes what the registry's scratch role offers, average included, and lists it when refusing.
  for name in ("average", "flexible", "kaplan"):
    assert study_config.StudyConfig.from_dict({"analysis": {"scratch_law": name}}).analysis.scratch_law == name
  with pytest.raises(UsageError, match="no scratch law; use one of .*flexible.*average"):
    study_config.StudyConfig.from_dict({"analysis": {"scratch_law": "hernandez"}})
  # The flexible entry is built for the runs' sizes when fitted (3 coefficients a size); the built law stays out
  # of the role's list, so the average fits each form once.
  sc, _ = study
  f = laws.fit("flexible", sc[["N", "D", "loss"]], bootstrap=0)
  assert f.law.startswith("flexible[") and len(laws.get_law(f.law).params) == 9
  assert f.law not in registry.law_names("scratch") and "flexible" in registry.law_names("scratch")
  assert joint.scratch_forms()[:3] == ["kaplan", "chinchilla", "flexible"]


def test_the_average_fits_every_scratch_form_and_pools_the_transfer_laws_replicates(study):
  sc, ft = study
  jf = joint.fit_joint(sc, ft, scratch_law="average", bootstrap=20, max_D_F=1e4, profiles=(), check=False)
  assert set(jf.forms) == set(joint.scratch_forms())
  assert math.isclose(sum(v["weight"] for v in jf.forms.values()), 1.0)
  assert list(jf.pooled.columns) == list(laws.get_law("hernandez").params)
  assert set(jf.identified) == set(identify.profiled(jf.law)) and "form weight" in jf.boundary
  lo, hi = jf.fit.ci95["alpha"]
  assert lo <= TRUTH["alpha"] <= hi


def test_a_stopped_coverage_run_resumes_from_its_csv(tmp_path):
  out = str(tmp_path / "cov.csv")
  kw = dict(bootstrap=20, max_D_F=1e4, profiles=(), out=out, noise=coverage.Noise(same_d=0.85, across_d=0.3))
  first = coverage.coverage("transfer_kaplan", TRUTH, DESIGN, 0.01, n_studies=1, **kw)
  both = coverage.coverage("transfer_kaplan", TRUTH, DESIGN, 0.01, n_studies=2, **kw)
  assert list(both["study"]) == [0, 1]
  # study 0 is kept as measured (its own timing), not drawn and fitted again
  assert both.loc[0, "seconds"] == first.loc[0, "seconds"] and both.loc[0, "alpha"] == first.loc[0, "alpha"]
