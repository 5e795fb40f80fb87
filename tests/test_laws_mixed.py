"""The seed-structured noise model of the joint fit (laws/mixed.py) and the words the report puts on intervals."""
import numpy as np
import pytest

from transfer_scaling import laws
from transfer_scaling.laws import coverage, identify, joint, mixed

TRUTH = dict(N_c=2.0e7, D_c=4.0e6, alpha_N=0.25, alpha_D=0.3, k=20.0, alpha=0.6, beta=0.3)
DESIGN = coverage.Design(sizes=(12768, 25472, 56640), scratch_d=(1000, 2154, 4642, 10000, 21544, 46416),
                         d_f=(1000, 2154, 4642, 10000), seeds=3, reference=(56640, 4642))
# Shaped like the quickstart's runs: most of a seed's noise shared at a D, heteroscedastic run noise.
NOISE = mixed.Components(seed_d=4e-4, seed=1e-4, run={0.0: 2e-4, 1.0: 1e-4})


def _rows(sc, ft):
  y = np.log(np.r_[sc["loss"], ft["loss"]])
  arm = np.r_[np.zeros(len(sc)), np.ones(len(ft))]
  D = np.r_[sc["D"], ft["D_F"]]
  cells = np.array([f"{a:g}|{n:g}|{d:g}" for a, n, d in zip(arm, np.r_[sc["N"], ft["N"]], D)])
  return y, cells, np.r_[sc["seed"], ft["seed"]], D, arm


def test_the_moment_estimates_recover_known_variance_components():
  # Averaged over 300 simulated studies of 3 seeds each, the estimates are unbiased (they read only the
  # deviations from cell means, so the law does not enter); one study's estimate has few degrees of freedom.
  est = []
  for i in range(300):
    sc, ft = coverage.simulate("transfer_kaplan", TRUTH, DESIGN, None, np.random.default_rng([7, i]), NOISE)
    c = mixed.estimate(*_rows(sc, ft))
    est.append([c.seed_d, c.seed, c.run[0.0], c.run[1.0]])
  mean = np.mean(est, 0)
  want = np.array([NOISE.seed_d, NOISE.seed, NOISE.run[0.0], NOISE.run[1.0]])
  assert np.all(np.abs(mean / want - 1) < 0.2), (mean, want)
  assert c.df == {"seed": 2, "seed_d": 2 * 5, "run": c.df["run"]}  # 6 distinct D: (S - 1)(n_D - 1)


def test_the_gls_fit_recovers_known_parameters_and_its_intervals_hold_them():
  sc, ft = coverage.simulate("transfer_kaplan", TRUTH, DESIGN, None, np.random.default_rng(3), NOISE)
  jf = joint.fit_joint(sc, ft, scratch_law="kaplan", bootstrap=200, max_D_F=1e4, profiles=())
  f = jf.fit
  assert f.resample == "gls" and f.n_bootstrap_converged >= 180
  for k in ("alpha", "beta"):
    lo, hi = f.ci95[k]
    assert lo <= TRUTH[k] <= hi and abs(f.params[k] - TRUTH[k]) < 0.2, (k, f.params[k], lo, hi)
  c = jf.noise
  assert c.seed_d > 0 and set(c.run) == {0.0, 1.0}  # the seed-by-D part is seen; a run variance per arm
  assert 1.0 <= c.df["widening"] < 1.2  # many degrees of freedom once the seed structure is modelled
  q = jf.at_centre()
  true_dt = laws.get_law("transfer_kaplan").functions["D_T"](TRUTH, np.array([q["N"]]), np.array([q["D_F"]]))[0]
  assert q["D_T"]["lo"] <= true_dt <= q["D_T"]["hi"]
  # The model-free check: every seed fitted alone, a t interval over the three beside the GLS one.
  assert len(jf.seedwise) == 3 and set(jf.check) == {"alpha", "beta", "multiplier", "D_T"}
  assert all(r["t_lo"] < r["seeds_mean"] < r["t_hi"] for r in jf.check.values())
  # With 3 seeds the reported interval is the GLS one (the seeds' t_2 interval is too wide to add anything).
  assert not f.ci95_gls and f.ci95["alpha"] == (jf.check["alpha"]["lo"], jf.check["alpha"]["hi"])


def test_with_five_or_more_seeds_the_exponents_interval_holds_the_gls_and_the_seeds_t_intervals():
  design = coverage.Design(sizes=DESIGN.sizes, scratch_d=DESIGN.scratch_d, d_f=DESIGN.d_f, seeds=joint.HULL_MIN_SEEDS,
                           reference=DESIGN.reference)
  sc, ft = coverage.simulate("transfer_kaplan", TRUTH, design, None, np.random.default_rng(3), NOISE)
  jf = joint.fit_joint(sc, ft, scratch_law="kaplan", bootstrap=100, max_D_F=1e4, profiles=())
  for k in ("alpha", "beta"):
    c = jf.check[k]
    assert jf.fit.ci95_gls[k] == (c["lo"], c["hi"])
    assert jf.fit.ci95[k] == (min(c["lo"], c["t_lo"]), max(c["hi"], c["t_hi"]))
  assert jf.identified["alpha"].text.find(f"{jf.fit.ci95['alpha'][0]:.3g}") >= 0  # the words read the hull


def test_a_misspecified_from_scratch_curve_is_absorbed_as_lack_of_fit():
  # Runs drawn from a chinchilla-form truth, fitted in the kaplan form: the cell component takes up what the
  # form misses, so the interval for alpha still holds the truth.
  chin = dict(E=0.8, A=20.0, B=30.0, alpha_N=0.35, beta_D=0.35, k=20.0, alpha=0.6, beta=0.3)
  sc, ft = coverage.simulate("transfer_chinchilla", chin, DESIGN, None, np.random.default_rng(5), NOISE)
  jf = joint.fit_joint(sc, ft, scratch_law="kaplan", bootstrap=200, max_D_F=1e4, profiles=())
  lo, hi = jf.fit.ci95["alpha"]
  assert lo <= chin["alpha"] <= hi, (lo, hi, jf.noise)


@pytest.mark.parametrize("name, lo, hi, status", [
    ("alpha", 0.8, 1.25, "determined"), ("alpha", -1.03, 4.96, "bounded"), ("beta", 0.1, 0.7, "bounded"),
    ("multiplier", 2.0, 3.9, "determined"), ("multiplier", 1.14, 115.0, "bounded"),
    ("D_T", 1e3, float("nan"), "not determined"), ("multiplier", -1.0, 3.0, "not determined")])
def test_the_words_follow_the_stated_rule(name, lo, hi, status):
  h = laws.get_law("hernandez").hints.get(name)
  v = identify.quantity(name, lo, hi, h.rule, h.limit) if h else identify.quantity(name, lo, hi)
  assert v.status == status, v
  assert ("bounded, not determined" in v.text) == (status == "bounded")


def test_a_wide_interval_is_not_called_determined_beside_a_bounded_profile():
  # The quickstart's old report: "alpha is determined by this grid" next to the interval [-1.03, 4.96].
  from types import SimpleNamespace
  from transfer_scaling.laws.fitting import Profile
  fit = SimpleNamespace(ci95={"alpha": (-1.03, 4.96)}, params={"alpha": 1.16})
  prof = Profile("alpha", 1.16, np.array([0.0, 2.0]), np.array([5.0, 5.0]), 0.719, 1.65, 3.84)
  design = dict(sizes=3, d_f=3, d_f_decades=0.7, n_decades=0.6)
  v = identify.parameter(laws.get_law("hernandez"), "alpha", fit, prof, design)
  assert v.status == "bounded" and "determined by this grid" not in v.text and "width 5.99 > 0.5" in v.text


def test_the_reports_table_says_determined_only_under_the_rule():
  from types import SimpleNamespace
  from transfer_scaling.report import markdown

  def at(N, D_F):  # a narrow D_T, a multiplier interval wider than a factor 2
    q = lambda name, v, lo, hi: {"value": v, "lo": lo, "hi": hi, **vars(identify.quantity(name, lo, hi))}
    return {"N": N, "D_F": D_F, "D_T": q("D_T", 3e3, 2.5e3, 4e3), "multiplier": q("multiplier", 2.4, 1.1, 115.0)}

  jf = SimpleNamespace(at_centre=lambda: at(26892, 2155), at=at, law=laws.get_law("transfer_kaplan"))
  t = SimpleNamespace(example={"size": "56k", "N": 56640, "D_F": 4642, "inside": True})
  md = "\n".join(markdown._quantities(jf, t, "bytes"))
  assert ("| design centre | 26,892 | 2,155 | 3,000 [2,500, 4,000] | 2.4 [1.1, 115] "
          "| D_T: determined; multiplier: bounded |") in md
  assert "| example (56k) |" in md and identify.rule(jf.law) in md


# Fine-tuning seed s starts from pre-trained model s mod 2 of its size: two pre-trained models per size.
DESIGN_P = coverage.Design(sizes=DESIGN.sizes, scratch_d=DESIGN.scratch_d, d_f=DESIGN.d_f, seeds=4,
                           reference=DESIGN.reference, pretrain_seeds=2)
NOISE_P = mixed.Components(seed_d=4e-4, seed=1e-4, run={0.0: 2e-4, 1.0: 1e-4}, pretrain=3e-4)



def test_the_pre_trained_models_effect_is_recovered_beside_the_seeds():
  est = []
  for i in range(200):
    sc, ft = coverage.simulate("transfer_kaplan", TRUTH, DESIGN_P, None, np.random.default_rng([8, i]), NOISE_P)
    models = np.r_[np.full(len(sc), ""), [f"{n:g}|{p}" for n, p in zip(ft["N"], ft["pretrain_seed"])]]
    c = mixed.estimate(*_rows(sc, ft), models=models)
    est.append([c.seed_d, c.seed, c.run[0.0], c.run[1.0], c.pretrain])
  mean = np.mean(est, 0)
  want = np.array([NOISE_P.seed_d, NOISE_P.seed, NOISE_P.run[0.0], NOISE_P.run[1.0], NOISE_P.pretrain])
  assert np.all(np.abs(mean / want - 1) < 0.25), (mean, want)
  assert c.df["pretrain"] == 3  # (2 - 1) models per size, 3 sizes
  # Without the labels (older records: one pre-training seed) there is no such component.
  assert mixed.estimate(*_rows(sc, ft)).pretrain == 0.0


def test_the_gls_fit_with_pre_training_seeds_recovers_parameters_and_resamples_the_models():
  sc, ft = coverage.simulate("transfer_kaplan", TRUTH, DESIGN_P, None, np.random.default_rng(4), NOISE_P)
  jf = joint.fit_joint(sc, ft, scratch_law="kaplan", bootstrap=100, max_D_F=1e4, profiles=(), check=False)
  assert jf.noise.pretrain > 0 and jf.noise.df["pretrain"] == 3
  for k in ("alpha", "beta"):
    lo, hi = jf.fit.ci95[k]
    assert lo <= TRUTH[k] <= hi, (k, lo, hi)
  # The bootstrap draws the models' effect: the same runs labelled with one pre-training seed give narrower beta.
  one = joint.fit_joint(sc, ft.drop(columns="pretrain_seed"), scratch_law="kaplan", bootstrap=100, max_D_F=1e4,
                        profiles=(), check=False)
  width = lambda j: j.fit.ci95["beta"][1] - j.fit.ci95["beta"][0]
  assert one.noise.pretrain == 0.0 and width(jf) > width(one)


def test_a_replicate_fitted_over_cells_has_the_optimum_of_the_fit_over_runs(monkeypatch):
  # The bootstrap refits each replicate as a least-squares problem over cells (GLS cell means, whitened by the
  # Cholesky factor of A Q A'); it must land where the GLS fit over every run lands, with the same weights.
  import jax
  import jax.numpy as jnp
  import pandas as pd
  from transfer_scaling.laws import fitting
  sc, ft = coverage.simulate("transfer_kaplan", TRUTH, DESIGN, None, np.random.default_rng(11), NOISE)
  y, cells, seeds, D, arm = _rows(sc, ft)
  law = laws.get_law("transfer_kaplan")
  runs = pd.DataFrame({"N": np.r_[sc["N"], ft["N"]], "D": D, "pretrained": arm, "loss": np.exp(y)})
  with jax.enable_x64(True):
    lx, ly, _, n_pad = fitting.design(law, runs)
  K = mixed.structure(cells, seeds, D, arm)
  W, _ = mixed.whitener(mixed.covariance(NOISE, K), n_pad)
  class Fixed:  # both problems weighted by the same components
    estimate = staticmethod(lambda Y: [NOISE] * len(Y))
  monkeypatch.setattr(mixed, "moments", lambda *a, **k: Fixed)
  lx_C, ly_BxC, W_BxCxC = mixed._replicate_problems(y[None], NOISE, cells, seeds, D, arm, None, lx)
  with jax.enable_x64(True):
    start = jnp.asarray([law.to_coords(TRUTH)])
    over_runs = jax.device_get(mixed._solve(law, start, lx, ly, jnp.asarray(W), 500))
    over_cells = jax.device_get(mixed._solve(law, start, lx_C, jnp.asarray(ly_BxC), jnp.asarray(W_BxCxC), 500,
                                             ly_batched=True))
  assert over_runs.converged[0] and over_cells.converged[0]
  np.testing.assert_allclose(over_cells.theta[0], over_runs.theta[0], rtol=1e-5)
