"""Effective data transferred: interpolation, law inversion, flags, ossification, the low-data fit."""
import numpy as np
import pandas as pd
import pytest

from transfer_scaling import laws
from transfer_scaling.errors import UsageError

SCRATCH = dict(E=0.8, A=30.0, B=200.0, alpha=0.3, beta=0.3)
TRANSFER = dict(k=300.0, alpha=0.2, beta=0.3)  # D_T = k D_F^alpha N^beta
NS = [1e5, 1e6, 1e7]


def _loss(N, D):
  return (SCRATCH["E"] + SCRATCH["A"] * np.asarray(N) ** -SCRATCH["alpha"]
          + SCRATCH["B"] * np.asarray(D) ** -SCRATCH["beta"])


def _study():
  scratch = pd.DataFrame([(n, d, _loss(n, d)) for n in NS for d in np.geomspace(1e4, 1e10, 13)],
                         columns=["N", "D", "loss"])
  rows = []
  for n in NS:
    for d_f in np.geomspace(1e4, 1e7, 7):
      d_t = TRANSFER["k"] * d_f ** TRANSFER["alpha"] * n ** TRANSFER["beta"]
      rows.append((n, d_f, _loss(n, d_f + d_t), d_f + d_t))
  finetuned = pd.DataFrame(rows, columns=["N", "D_F", "loss", "true_D_E"])
  return scratch, finetuned


@pytest.fixture(scope="module")
def eff():
  scratch, finetuned = _study()
  return laws.effective_data(scratch, finetuned)


def test_interpolation_is_exact_on_a_power_law():
  D = np.geomspace(1e3, 1e9, 7)
  loss = 5.0 * D ** -0.2
  target = 5.0 * np.array([2e3, 4.5e5, 1e9]) ** -0.2
  d, flags = laws.interpolate_data(D, loss, target)
  np.testing.assert_allclose(d, [2e3, 4.5e5, 1e9], rtol=1e-10)
  assert list(flags) == ["ok"] * 3


def test_interpolation_flags_and_never_extrapolates():
  D = np.geomspace(1e3, 1e9, 7)
  d, flags = laws.interpolate_data(D, 5.0 * D ** -0.2, [6.0, 0.05])  # range is [0.079, 1.25]
  assert list(flags) == ["below_range", "above_range"] and np.isnan(d).all()


def test_interpolation_makes_the_curve_monotone():
  D = np.array([1e3, 1e4, 1e5, 1e6])
  loss = np.array([4.0, 3.0, 3.2, 2.0])  # a noisy bump: 1e5 worse than 1e4
  d, flags = laws.interpolate_data(D, loss, [3.1, 2.5])
  assert flags[0] == "ok" and 1e3 < d[0] < 1e4  # the pooled curve reaches 3.1 before 1e4
  assert 1e5 < d[1] < 1e6


def test_effective_data_recovers_known_transfer(eff):
  ok = eff["interp_flag"] == "ok"
  assert ok.sum() >= 15
  # piecewise log-log interpolation of a curved (E > 0) loss: a few percent
  np.testing.assert_allclose(eff.loc[ok, "D_E"], eff.loc[ok, "true_D_E"], rtol=0.05)
  # the law is the true form and the data exact: the inversion is near exact
  np.testing.assert_allclose(eff["D_E_law"], eff["true_D_E"], rtol=1e-3)
  np.testing.assert_allclose(eff["D_T"], eff["D_E"] - eff["D_F"])
  np.testing.assert_allclose(eff["multiplier"], (eff["D_F"] + eff["D_T"]) / eff["D_F"])
  np.testing.assert_allclose(eff["transfer_fraction"], eff["D_T"] / (eff["D_F"] + eff["D_T"]))
  assert not eff.loc[ok, "ossified"].any()


def test_transfer_law_recovered_in_low_data_regime(eff):
  tf = laws.fit_transfer(eff, use_law=True, bootstrap=100)
  assert "low-data regime: D_F <= 0.1 * D(N)" in tf.boundary
  assert tf.rows["used"].sum() >= 10
  assert (tf.rows.loc[tf.rows["used"], "D_F"] <= tf.rows.loc[tf.rows["used"], "D_F_max"]).all()
  r = tf.fit
  assert r.converged
  assert abs(r.params["alpha"] - TRANSFER["alpha"]) < 0.01 and abs(r.params["beta"] - TRANSFER["beta"]) < 0.01
  assert abs(np.log(r.params["k"] / TRANSFER["k"])) < 0.1


def test_regime_boundary_follows_the_definition(eff):
  fit = eff.attrs["scratch_fit"]
  D_N = laws.data_for_saturation(fit, [1e6], level=0.99)[0]
  L_inf = SCRATCH["E"] + SCRATCH["A"] * 1e6 ** -SCRATCH["alpha"]
  assert abs(_loss(1e6, D_N) / (L_inf / 0.99) - 1) < 1e-3
  tf = laws.fit_transfer(eff, max_D_F=1e5, use_law=True, bootstrap=0)
  assert tf.boundary == "low-data regime: D_F <= 1e+05 (given)"
  assert set(tf.rows.loc[~tf.rows["used"], "excluded_because"]) == {"outside the low-data regime"}


def test_fit_transfer_fits_a_law_of_the_transfer_role(eff):
  assert laws.fit_transfer(eff, max_D_F=1e8, bootstrap=0).fit.law == "hernandez"  # definitions.TRANSFER
  with pytest.raises(UsageError, match="law='kaplan' is no transfer law; use one of hernandez"):
    laws.fit_transfer(eff, max_D_F=1e8, bootstrap=0, law="kaplan")


def test_ossification_is_reported_not_dropped():
  scratch, finetuned = _study()
  worse = pd.DataFrame({"N": [1e6], "D_F": [1e7], "loss": [_loss(1e6, 3e6)]})  # as good as scratch with 3e6
  eff = laws.effective_data(scratch, pd.concat([finetuned.drop(columns="true_D_E"), worse], ignore_index=True))
  last = eff.iloc[-1]
  assert last["interp_flag"] == "ok" and last["ossified"] and last["D_T"] < 0 and last["ossified_law"]
  assert abs(last["D_E_law"] / 3e6 - 1) < 1e-3
  tf = laws.fit_transfer(eff, max_D_F=1e8, bootstrap=0)
  assert tf.rows.iloc[-1]["excluded_because"] == "D_T <= 0 (ossified)"


def test_out_of_range_is_flagged():
  scratch, _ = _study()
  ft = pd.DataFrame({"N": [1e6, 1e6, 3e6], "D_F": [1e5, 1e5, 1e5],
                     "loss": [_loss(1e6, 1e12), _loss(1e6, 1e2), 2.0]})
  eff = laws.effective_data(scratch, ft)
  assert list(eff["interp_flag"]) == ["above_range", "below_range", "no_scratch_runs"]
  assert eff["D_E"].isna().all()
  assert list(eff["law_flag"][:2]) == ["extrapolated", "extrapolated"]
  assert abs(eff["D_E_law"][0] / 1e12 - 1) < 1e-3
  # better than every scratch run with D_F inside the measured range: transfer is certainly positive
  assert eff["ossified"][0] is np.False_ or eff["ossified"][0] == False  # noqa: E712
  assert pd.isna(eff["ossified"][2])


def test_unreachable_loss_under_the_law():
  scratch, _ = _study()
  ft = pd.DataFrame({"N": [1e6], "D_F": [1e5], "loss": [0.5]})  # below E: no data reaches it
  eff = laws.effective_data(scratch, ft)
  assert eff["law_flag"][0] == "unreachable" and np.isnan(eff["D_E_law"][0])


def test_bad_input():
  scratch, finetuned = _study()
  with pytest.raises(UsageError, match="missing D_F"):
    laws.effective_data(scratch, finetuned.rename(columns={"D_F": "D"}))
  bad = finetuned.copy()
  bad.loc[3, "loss"] = np.nan
  with pytest.raises(UsageError, match="row 4 .* loss"):
    laws.effective_data(scratch, bad)
