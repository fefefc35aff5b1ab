"""Tests of rlcheck.fitted: norms of the regression step, averagers, linear TD, FQI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcheck import bellman, fitted
from rlcheck.strategies import mdps

SEEDS = st.integers(0, 2**32 - 1)


def _features(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return rng.standard_normal((n, d))


@settings(max_examples=80, deadline=None)
@given(seed=SEEDS, n=st.integers(2, 8), data=st.data())
def test_least_squares_projection_is_a_weighted_l2_non_expansion(seed, n, data):
    d = data.draw(st.integers(1, n))
    rng = np.random.default_rng(seed)
    X = _features(rng, n, d)
    weights = rng.dirichlet(np.ones(n)) + 1e-3
    Pi = fitted.projection_matrix(X, weights)
    np.testing.assert_allclose(Pi @ Pi, Pi, atol=1e-8 * (1 + np.abs(Pi).max()))  # a projection
    assert fitted.weighted_norm_gain(Pi, weights) <= 1.0 + 1e-8
    u, v = rng.standard_normal(n), rng.standard_normal(n)
    assert (fitted.weighted_norm(Pi @ (u - v), weights)
            <= fitted.weighted_norm(u - v, weights) * (1 + 1e-9) + 1e-12)
    # fitted values of the least-squares weights are the projection of the targets
    np.testing.assert_allclose(X @ fitted.least_squares(X, u, weights), Pi @ u, atol=1e-8)


def test_least_squares_is_not_a_sup_norm_non_expansion():
    # features (1, 2) with uniform weights: Pi = [[1, 2], [2, 4]] / 5, sup-norm gain 6/5
    Pi = fitted.projection_matrix([[1.0], [2.0]])
    np.testing.assert_allclose(Pi, np.array([[1.0, 2.0], [2.0, 4.0]]) / 5.0, atol=1e-15)
    assert fitted.sup_norm_gain(Pi) == pytest.approx(1.2, abs=1e-14)
    u = np.ones(2)
    assert np.abs(Pi @ u).max() == pytest.approx(1.2) and np.abs(u).max() == 1.0
    assert fitted.weighted_norm_gain(Pi) == pytest.approx(1.0, abs=1e-12)


def _random_averager(rng: np.random.Generator, S: int) -> np.ndarray:
    mask = rng.random((S, S)) < 0.6
    mask[np.arange(S), rng.integers(0, S, size=S)] = True  # no empty row
    M = (rng.random((S, S)) + 1e-3) * mask
    M /= M.sum(axis=1, keepdims=True)
    return M * rng.uniform(0.5, 1.0, size=(S, 1))  # row sums in [0.5, 1]


@settings(max_examples=60, deadline=None)
@given(mdp=mdps(max_states=6, gamma=st.floats(0.0, 0.98)), seed=SEEDS)
def test_averager_fitted_value_iteration_never_diverges(mdp, seed):
    rng = np.random.default_rng(seed)
    S = mdp.n_states
    M = _random_averager(rng, S)
    assert fitted.is_averager(M) and fitted.sup_norm_gain(M) <= 1.0 + 1e-12
    V0 = 100.0 * rng.standard_normal(S)
    trace = fitted.fitted_value_iteration(mdp.P, mdp.R, mdp.gamma, lambda y: M @ y, 200, V0)
    steps = np.abs(np.diff(trace, axis=0)).max(axis=1)
    # M T is a gamma-contraction: successive differences shrink at least by gamma
    assert (steps[1:] <= mdp.gamma * steps[:-1] + 1e-9 * (1 + np.abs(trace).max())).all()
    r_max = np.abs(mdp.R).max()
    bound = max(np.abs(V0).max(), r_max / (1 - mdp.gamma)) + 1e-9
    assert np.abs(trace).max() <= bound
    # Gordon's bound on the limit: ||V_hat - V*|| <= ||M V* - V*|| / (1 - gamma) when M V* is
    # the fitted value of V* (rows summing to 1)
    M1 = M / M.sum(axis=1, keepdims=True)
    V_star = bellman.optimal_values(mdp.P, mdp.R, mdp.gamma)
    V_hat = fitted.fitted_value_iteration(mdp.P, mdp.R, mdp.gamma, lambda y: M1 @ y, 2000)[-1]
    assert (np.abs(V_hat - V_star).max()
            <= np.abs(M1 @ V_star - V_star).max() / (1 - mdp.gamma) + 1e-6 * (1 + r_max / (1 - mdp.gamma)))


@settings(max_examples=30, deadline=None)
@given(seed=SEEDS, n=st.integers(3, 12), k=st.integers(1, 3))
def test_knn_kernel_and_aggregation_are_averagers(seed, n, k):
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((n, 2))
    for M in (fitted.knn_averager(points, k), fitted.kernel_averager(points, 0.7),
              fitted.aggregation_averager(rng.integers(0, 3, size=n))):
        assert fitted.is_averager(M)
        np.testing.assert_allclose(M.sum(axis=1), 1.0, atol=1e-12)
        assert fitted.sup_norm_gain(M) == pytest.approx(1.0)
    # each point is its own nearest neighbour (distinct points)
    assert (fitted.knn_averager(points, 1) == np.eye(n)).all()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, S=st.integers(2, 7), data=st.data())
def test_on_policy_linear_td_converges_to_projected_fixed_point(seed, S, data):
    d_feat = data.draw(st.integers(1, S))
    gamma = data.draw(st.floats(0.0, 0.95))
    rng = np.random.default_rng(seed)
    P_pi = 0.9 * rng.dirichlet(np.ones(S), size=S) + 0.1 / S  # irreducible, aperiodic
    r = rng.standard_normal(S)
    X = _features(rng, S, d_feat)
    d = fitted.stationary_distribution(P_pi)
    np.testing.assert_allclose(d @ P_pi, d, atol=1e-12)
    A, _b = fitted.td_matrices(P_pi, r, gamma, X, d)
    # Tsitsiklis & Van Roy (1997): A is negative definite under the on-policy weighting
    assert np.linalg.eigvalsh((A + A.T) / 2).max() < 0
    w_td = fitted.td_fixed_point(P_pi, r, gamma, X, d)
    Pi = fitted.projection_matrix(X, d)
    np.testing.assert_allclose(X @ w_td, Pi @ (r + gamma * P_pi @ X @ w_td),
                               atol=1e-8 * (1 + np.abs(X @ w_td).max()))
    eig = np.linalg.eigvals(A)
    step = float((-eig.real / np.abs(eig) ** 2).min())  # 1 + step * lambda lies inside the unit disc
    rho = np.abs(1 + step * eig).max()
    assert rho < 1
    # the expected TD iteration is affine: w_k - w_TD = (I + step A)^k (w_0 - w_TD)
    M = np.eye(d_feat) + step * A
    trace = fitted.expected_td(P_pi, r, gamma, X, d, step, 20, np.zeros(d_feat))
    np.testing.assert_allclose(trace[20] - w_td, np.linalg.matrix_power(M, 20) @ (-w_td),
                               atol=1e-8 * (1 + np.abs(w_td).max()))
    n_iter = int(np.ceil(np.log(1e-13) / np.log(max(rho, 1e-300)))) + 10  # rho = 0 with one feature
    err = np.linalg.matrix_power(M, n_iter) @ (-w_td)
    assert np.abs(err).max() <= 1e-6 * (1 + np.abs(w_td).max())


def test_fitted_q_iteration_rejects_bad_inputs():
    X = np.eye(2)
    with pytest.raises(ValueError, match="rewards"):
        fitted.fitted_q_iteration(X, np.zeros(3), np.zeros((2, 1, 2)), np.zeros(2, bool), 0.9, 1)
    with pytest.raises(ValueError, match="next_features"):
        fitted.fitted_q_iteration(X, np.zeros(2), np.zeros((2, 2)), np.zeros(2, bool), 0.9, 1)
    with pytest.raises(ValueError, match="terminated"):
        fitted.fitted_q_iteration(X, np.zeros(2), np.zeros((2, 1, 2)), np.zeros(2), 0.9, 1)
    with pytest.raises(ValueError, match="gamma"):
        fitted.fitted_q_iteration(X, np.zeros(2), np.zeros((2, 1, 2)), np.zeros(2, bool), 1.5, 1)
    with pytest.raises(ValueError, match="non-finite"):
        fitted.least_squares([[np.nan]], [1.0])


def _random_transitions(rng: np.random.Generator, n: int = 300) -> fitted.Transitions:
    obs = rng.standard_normal((n, 2))
    return fitted.Transitions(observations=obs, actions=rng.integers(0, 2, size=n),
                              rewards=rng.uniform(-1, 1, size=n),
                              next_observations=obs + 0.1 * rng.standard_normal((n, 2)),
                              terminated=rng.random(n) < 0.05)


def test_knn_fqi_stays_within_r_max_over_one_minus_gamma():
    rng = np.random.default_rng(0)
    sizes = fitted.knn_fitted_q_iteration(_random_transitions(rng), 2, 0.99, k=5, n_iterations=2000)
    assert sizes.max() <= 1.0 / (1 - 0.99) + 1e-9
    assert abs(sizes[-1] - sizes[-2]) < 1e-3  # converged (contraction factor 0.99)


@pytest.mark.slow
def test_neural_fqi_runs_and_is_deterministic_given_seed():
    rng = np.random.default_rng(0)
    data = _random_transitions(rng, 200)
    a = fitted.neural_fitted_q_iteration(data, 2, 0.9, n_iterations=2, steps_per_iteration=5,
                                         batch_size=32, hidden=(8,), seed=1)
    b = fitted.neural_fitted_q_iteration(data, 2, 0.9, n_iterations=2, steps_per_iteration=5,
                                         batch_size=32, hidden=(8,), seed=1)
    assert a["q_max"].shape == (3,) and a["loss"].shape == (2,)
    np.testing.assert_array_equal(a["q_max"], b["q_max"])
