"""Tests of rlcheck.counterexamples: exact divergence of Tsitsiklis-Van Roy and Baird."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcheck import counterexamples as cx
from rlcheck.fitted import projection_matrix, sup_norm_gain


@pytest.mark.parametrize(("eps", "gamma", "factor"), [
    (0.0, 0.9, 1.08), (0.0, 0.99, 1.188), (0.1, 0.9, 1.008), (0.0, 0.8, 0.96),
])
def test_tvr_growth_factor_table(eps, gamma, factor):
    assert cx.tvr_growth_factor(gamma, eps) == pytest.approx(factor, abs=1e-12)
    w = cx.tvr_fitted_iterates(gamma, eps, 50)
    np.testing.assert_allclose(w[1:] / w[:-1], factor, rtol=1e-12)  # explicit lstsq, every step
    assert w[50] == pytest.approx(factor**50, rel=1e-10)


@settings(max_examples=100, deadline=None)
@given(eps=st.floats(0.0, 1.0), gamma=st.floats(0.0, 0.999), d1=st.floats(0.01, 1.0))
def test_tvr_factor_formula_equals_least_squares_and_threshold(eps, gamma, d1):
    weights = (d1, 1.0 - d1 + 0.01)
    w = cx.tvr_fitted_iterates(gamma, eps, 1, weights=weights)
    assert w[1] == pytest.approx(cx.tvr_growth_factor(gamma, eps, weights), rel=1e-9, abs=1e-12)
    uniform_factor = cx.tvr_growth_factor(gamma, eps)
    threshold = cx.tvr_divergence_threshold(eps)
    assert (uniform_factor > 1) == (gamma > threshold) or abs(gamma - threshold) < 1e-12


def test_each_piece_converges_but_the_composition_diverges():
    gamma, eps = 0.9, 0.0
    # the backup alone (tabular VI) contracts by gamma in the sup norm
    V = cx.tvr_tabular_iterates(gamma, eps, 50)
    assert np.abs(V[50]).max() <= gamma**50 * np.abs(V[0]).max() + 1e-15
    # the regression alone is a projection (idempotent), non-expansive in ||.||_D
    Pi = projection_matrix(cx.TVR_FEATURES)
    np.testing.assert_allclose(Pi @ Pi, Pi, atol=1e-15)
    # ... but expands the sup norm by 6/5, and 6/5 * 0.9 = 1.08 > 1
    assert sup_norm_gain(Pi) == pytest.approx(1.2)
    assert cx.tvr_fitted_iterates(gamma, eps, 50)[50] > 40
    # an averager (state aggregation) in place of least squares converges
    assert np.abs(cx.tvr_averager_iterates(gamma, eps, 50)[50]).max() < 0.1
    # the on-policy weighting (all mass on state 2 when eps = 0) converges: factor gamma
    assert cx.tvr_growth_factor(gamma, eps, (0.0, 1.0)) == pytest.approx(gamma)


def test_baird_expected_update_eigenvalues():
    A = cx.baird_expected_td_matrix(0.99)
    eig = np.sort(np.linalg.eigvals(A).real)
    np.testing.assert_allclose(eig[:5], -4.0 / 7.0, atol=1e-12)
    assert eig[5] == pytest.approx(0.0, abs=1e-12)
    assert eig[6] == pytest.approx(0.0221781, abs=1e-6)
    assert eig[7] == pytest.approx(0.2392505, abs=1e-6)
    assert cx.baird_growth_factor(0.99, 0.01) == pytest.approx(1 + 0.01 * eig[7], rel=1e-12)
    # on-policy weighting (the target policy visits only state 7): no positive eigenvalue
    on_policy = np.zeros(7)
    on_policy[6] = 1.0
    eig_on = np.linalg.eigvals(cx.baird_expected_td_matrix(0.99, on_policy)).real
    assert eig_on.max() <= 1e-12 and eig_on.min() == pytest.approx(-0.05, abs=1e-12)


def test_baird_semi_gradient_dp_diverges_deterministically():
    norms = np.linalg.norm(cx.baird_semi_gradient_dp(n_sweeps=6000), axis=1)
    assert norms[0] == pytest.approx(np.sqrt(107.0))
    assert norms[10] == pytest.approx(10.6095, abs=1e-3)
    assert norms[100] == pytest.approx(16.826, abs=1e-2)
    assert norms[1000] == pytest.approx(436.86, abs=0.1)
    # the ratio approaches the spectral radius once the second eigenvalue (1.000222) is negligible
    assert norms[6000] / norms[5999] == pytest.approx(cx.baird_growth_factor(), rel=1e-8)


def test_baird_stochastic_off_policy_td_diverges_for_every_seed():
    norms = cx.baird_off_policy_td(n_steps=5000, n_seeds=20, seed=0, record_every=1000)
    assert (norms[-1] > 1e3 * norms[0]).all()


def test_baird_tabular_features_do_not_diverge():
    # identity features, alpha rho = 0.07 <= 1: each update is a convex combination
    rng = np.random.default_rng(0)
    w = np.array([1, 1, 1, 1, 1, 1, 10.0])
    start = np.abs(w).max()
    for _ in range(2000):
        s = rng.integers(0, 7)
        solid = rng.random() < 1 / 7
        s_next = 6 if solid else rng.integers(0, 6)
        w[s] += 0.01 * (7.0 if solid else 0.0) * (0.99 * w[s_next] - w[s])
        assert np.abs(w).max() <= start + 1e-12


def test_baird_exact_fitted_iteration_converges_but_partial_fits_diverge():
    exact = cx.baird_fitted_iteration(n_iterations=1000)
    values = exact @ cx.baird_features().T
    # the features represent every value function, so V_{k+1} = gamma V_k(7) 1 exactly
    np.testing.assert_allclose(values[1:], 0.99 * values[:-1, 6:7] * np.ones(7), atol=1e-12)
    assert np.abs(values[-1]).max() == pytest.approx(12 * 0.99**1000, rel=1e-6)
    assert cx.spectral_radius(cx.baird_fitted_iteration_matrix()) < 0.99 + 1e-9
    # one gradient step per iteration is semi-gradient DP
    G1 = cx.baird_fitted_iteration_matrix(inner_steps=1)
    assert cx.spectral_radius(G1) == pytest.approx(cx.baird_growth_factor(), rel=1e-12)
    partial = cx.baird_fitted_iteration(n_iterations=300, inner_steps=10)
    assert np.linalg.norm(partial[-1]) > 1e3 * np.linalg.norm(partial[0])
    assert cx.spectral_radius(cx.baird_fitted_iteration_matrix(inner_steps=10)) > 1.01
