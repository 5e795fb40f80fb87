"""Budget allocation: closed forms where they exist, brute force where they do not."""
import numpy as np
import pytest

from transfer_scaling import laws
from transfer_scaling.errors import UsageError

CHINCHILLA = dict(E=1.8172, A=477.8, B=2143.9, alpha=0.3473, beta=0.3672)


@pytest.mark.parametrize("cost_p, cost_f, budget", [(1.0, 1.0, 1e6), (1.0, 50.0, 1e8), (3.0, 0.01, 1e4)])
@pytest.mark.parametrize("alpha, beta", [(0.3, 0.5), (0.7, 0.1)])
def test_zero_gap_spends_in_ratio_alpha_to_beta(cost_p, cost_f, budget, alpha, beta):
  best = laws.allocate_budget(dict(A=5.0, G=0.0, E=1.0, alpha=alpha, beta=beta), budget, cost_p, cost_f)
  assert abs(best.share_p - alpha / (alpha + beta)) < 1e-8
  assert abs(cost_p * best.p + cost_f * best.f - budget) < 1e-9 * budget


@pytest.mark.parametrize("G", [0.01, 0.5, 5.0])
def test_positive_gap_matches_brute_force(G):
  q = dict(A=5.0, G=G, E=1.0, alpha=0.3, beta=0.4)
  best = laws.allocate_budget(q, 1e6, 1.0, 10.0)
  s = np.linspace(1e-6, 1 - 1e-6, 200001)
  losses = laws.loss_at(q, "barnett", p=s * 1e6, f=(1 - s) * 1e6 / 10.0)
  assert best.loss <= losses.min() + 1e-12
  assert abs(best.share_p - s[np.argmin(losses)]) < 1e-4
  # a gap makes pre-training less worth buying than the G = 0 ratio says
  assert best.share_p < 0.3 / 0.7


def test_compute_optimal_closed_form_is_the_minimum():
  table = laws.compute_optimal(CHINCHILLA, [1e21, 5.76e23])
  assert np.allclose(table["a"] + table["b"], 1)
  for C, N_opt in zip(table["C"], table["N_opt"]):
    N = N_opt * np.geomspace(0.5, 2, 2001)
    loss = (CHINCHILLA["E"] + CHINCHILLA["A"] * N ** -CHINCHILLA["alpha"]
            + CHINCHILLA["B"] * (C / (6 * N)) ** -CHINCHILLA["beta"])
    assert abs(N[np.argmin(loss)] / N_opt - 1) < 1e-3
  np.testing.assert_allclose(6 * table["N_opt"] * table["D_opt"], table["C"], rtol=1e-12)


def test_isoloss_grid():
  q = dict(A=5.0, G=0.1, E=1.0, alpha=0.3, beta=0.4)
  g = laws.isoloss_grid(q, (1e2, 1e6), (1e2, 1e6), n=11)
  assert len(g) == 121 and g["p"].min() == pytest.approx(1e2) and g["f"].max() == pytest.approx(1e6)
  np.testing.assert_allclose(g["loss"], (q["A"] * g["p"] ** -q["alpha"] + q["G"]) * g["f"] ** -q["beta"] + q["E"])


def test_bad_parameters():
  with pytest.raises(UsageError, match="missing G"):
    laws.allocate_budget(dict(A=5.0, E=1.0, alpha=0.3, beta=0.4), 1e6, 1.0, 1.0)
  with pytest.raises(UsageError, match="budget must be positive"):
    laws.allocate_budget(dict(A=5.0, G=0.0, E=1.0, alpha=0.3, beta=0.4), -1.0, 1.0, 1.0)
  with pytest.raises(UsageError, match="must be positive"):
    laws.compute_optimal(dict(CHINCHILLA, alpha=-0.1), [1e21])


def test_allocation_reads_the_laws_zero_and_any_gap_law(second_gap_law):
  # The gap may be 0 because the law's hint says so (Param.zero), not because it is called G.
  q = dict(A=5.0, C=0.0, E=1.0, a=0.3, b=0.5)
  best = laws.allocate_budget(q, 1e6, 1.0, 10.0, law="test_gap_form")
  assert abs(best.share_p - 0.3 / 0.8) < 1e-8
  with pytest.raises(UsageError, match=r"parameters E must be positive and finite \(C may be 0\)"):
    laws.allocate_budget(dict(q, E=0.0), 1e6, 1.0, 10.0, law="test_gap_form")
  with pytest.raises(UsageError, match=r"parameters E must be positive and finite \(G may be 0\)"):
    laws.allocate_budget(dict(A=5.0, G=0.0, E=0.0, alpha=0.3, beta=0.4), 1e6, 1.0, 1.0)
