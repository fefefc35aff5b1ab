"""Tests of rlcheck.compounding: exact BC and DAgger costs on the tightrope MDP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcheck import compounding as c
from rlcheck import exact

DEFAULT = np.array([[0.0, 1.0], [0.0, 1.0]])


@settings(max_examples=40, deadline=None)
@given(eps=st.floats(1e-4, 0.5), horizon=st.integers(2, 80))
def test_exact_costs_match_the_closed_forms(eps: float, horizon: int) -> None:
    mdp = c.tightrope_mdp(horizon)
    expert = c.tightrope_expert()
    bc = c.bc_exact(mdp, expert, eps, DEFAULT)
    dagger = c.dagger_exact(mdp, expert, eps, DEFAULT, 3)[-1]
    want_bc, want_dagger = c.closed_form_costs(eps, [horizon])
    assert -exact.evaluate(mdp, bc) == pytest.approx(want_bc[0], abs=1e-10)
    assert -exact.evaluate(mdp, dagger) == pytest.approx(want_dagger[0], abs=1e-10)
    assert exact.evaluate(mdp, expert) == 0.0


def test_bc_never_learns_to_recover_and_dagger_does() -> None:
    mdp = c.tightrope_mdp(10)
    expert = c.tightrope_expert()
    policies = c.dagger_exact(mdp, expert, 0.1, DEFAULT, 3)
    np.testing.assert_allclose(policies[0], [[0.9, 0.1], [0.0, 1.0]], atol=1e-15)  # BC
    np.testing.assert_allclose(policies[1], [[0.9, 0.1], [0.9, 0.1]], atol=1e-15)
    np.testing.assert_allclose(policies[2], policies[1], atol=1e-15)


def test_deviation_cost_is_one_step_fallen() -> None:
    mdp = c.tightrope_mdp(6)
    assert c.deviation_cost(mdp, c.tightrope_expert()) == pytest.approx(1.0, abs=1e-12)
    assert c.deviation_cost(c.tightrope_mdp(1), c.tightrope_expert()) == 0.0


def test_compounding_curves_quadratic_against_linear() -> None:
    curves = c.compounding_curves()
    fits = curves.fits()
    eps = curves.setup.epsilon
    assert fits["bc"]["loglog_slope"] == pytest.approx(2.0, abs=0.1)
    assert fits["dagger"]["loglog_slope"] == pytest.approx(1.0, abs=0.1)
    assert fits["bc"]["quadratic_coefficients"][2] == pytest.approx(eps / 2, rel=0.1)
    assert abs(fits["dagger"]["quadratic_coefficients"][2]) < 1e-12
    assert fits["dagger"]["r2_linear"] == pytest.approx(1.0, abs=1e-12)
    assert fits["bc"]["r2_linear"] < 0.99 < fits["bc"]["r2_quadratic"]
    assert fits["bc"]["within_bound"] and fits["dagger"]["within_bound"]
    # Wrong by design: BC breaks DAgger's linear bound once eps T² / 2 exceeds u eps T.
    assert (curves.bc_cost[-1] - curves.expert_cost[-1]) > curves.dagger_bound[-1]
    rows = curves.rows()
    assert len(rows) == len(curves.horizons) and rows[0]["horizon"] == curves.horizons[0]
    assert "slope" in curves.summary() and "eps" in curves.caption()


def test_epsilon_learner() -> None:
    counts = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 2.0, 5.0]])
    default = np.full((3, 3), 1 / 3)
    pi = c.epsilon_learner(counts, 0.2, default)
    np.testing.assert_allclose(pi, [[0.8, 0.1, 0.1], [1 / 3] * 3, [0.1, 0.1, 0.8]])
    with pytest.raises(ValueError, match="non-negative"):
        c.epsilon_learner(-counts, 0.2, default)
    with pytest.raises(ValueError, match="epsilon"):
        c.epsilon_learner(counts, 1.5, default)
    with pytest.raises(ValueError, match="default"):
        c.epsilon_learner(counts, 0.1, default[:2])


def test_label_counts_and_expert_labels() -> None:
    counts = c.label_counts(np.array([[0, 1, 1]]), np.array([[1, 0, 0]]), 2, 2)
    np.testing.assert_array_equal(counts, [[0, 1], [2, 0]])
    with pytest.raises(ValueError, match="out of range"):
        c.label_counts(np.array([2]), np.array([0]), 2, 2)
    with pytest.raises(ValueError, match="deterministic"):
        c.expert_labels(np.array([[0.5, 0.5]]))


def test_fits() -> None:
    x = np.arange(1.0, 8.0)
    coef, r2 = c.polynomial_fit(x, 2 + 3 * x + 0.5 * x**2, 2)
    np.testing.assert_allclose(coef, [2, 3, 0.5], atol=1e-10)
    assert r2 == pytest.approx(1.0)
    assert c.loglog_slope(x, 4 * x**1.5) == pytest.approx(1.5, abs=1e-12)
    with pytest.raises(ValueError, match="3 horizons"):
        c.compounding_curves(c.CompoundingSetup(horizons=(2, 3)))


def test_tabular_dagger_reaches_the_exact_dagger_policy() -> None:
    mdp = c.tightrope_mdp(20)
    expert = c.tightrope_expert()

    def fit(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return c.epsilon_learner(c.label_counts(states, actions, 2, 2), 0.1, DEFAULT)

    pi = c.tabular_dagger(mdp, expert, fit, n_iterations=3, n_trajectories=100,
                          rng=np.random.default_rng(0))
    np.testing.assert_allclose(pi, c.dagger_exact(mdp, expert, 0.1, DEFAULT, 3)[-1])
    bc = c.tabular_dagger(mdp, expert, fit, n_iterations=1, n_trajectories=100,
                          rng=np.random.default_rng(0))
    np.testing.assert_allclose(bc, c.bc_exact(mdp, expert, 0.1, DEFAULT))
