"""Tests of rlcheck.bellman: contraction, fixed points, exact evaluation, VI vs PI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcheck import bellman
from rlcheck.strategies import mdps

GAMMAS = st.floats(0.0, 0.95)


def _values(draw_v: st.DrawFn, n: int) -> np.ndarray:
    return np.array(draw_v(st.lists(st.floats(-50, 50), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(mdp=mdps(gamma=GAMMAS), data=st.data())
def test_optimality_backup_is_a_sup_norm_gamma_contraction(mdp, data):
    U, V = _values(data.draw, mdp.n_states), _values(data.draw, mdp.n_states)
    TU = bellman.optimality_backup(mdp.P, mdp.R, mdp.gamma, U)
    TV = bellman.optimality_backup(mdp.P, mdp.R, mdp.gamma, V)
    assert np.abs(TU - TV).max() <= mdp.gamma * np.abs(U - V).max() + 1e-9


@settings(max_examples=60, deadline=None)
@given(mdp=mdps(gamma=GAMMAS), data=st.data())
def test_evaluation_backup_is_a_sup_norm_gamma_contraction(mdp, data):
    U, V = _values(data.draw, mdp.n_states), _values(data.draw, mdp.n_states)
    probs = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    TU = bellman.evaluation_backup(mdp.P, mdp.R, mdp.gamma, probs, U)
    TV = bellman.evaluation_backup(mdp.P, mdp.R, mdp.gamma, probs, V)
    assert np.abs(TU - TV).max() <= mdp.gamma * np.abs(U - V).max() + 1e-9


@settings(max_examples=40, deadline=None)
@given(mdp=mdps(gamma=GAMMAS))
def test_value_iteration_converges_to_policy_iteration_fixed_point(mdp):
    vi = bellman.value_iteration(mdp.P, mdp.R, mdp.gamma, tol=1e-10)
    pi = bellman.policy_iteration(mdp.P, mdp.R, mdp.gamma)
    np.testing.assert_allclose(vi.values, pi.values, atol=1e-9 * (1 + np.abs(pi.values).max()))
    # V* is the fixed point of T, and no policy beats it
    np.testing.assert_allclose(bellman.optimality_backup(mdp.P, mdp.R, mdp.gamma, pi.values),
                               pi.values, atol=1e-9 * (1 + np.abs(pi.values).max()))
    uniform = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    V_uniform = bellman.policy_evaluation(mdp.P, mdp.R, mdp.gamma, uniform)
    assert (V_uniform <= pi.values + 1e-9 * (1 + np.abs(pi.values).max())).all()
    # the greedy policy of V* attains V*
    V_greedy = bellman.policy_evaluation(mdp.P, mdp.R, mdp.gamma, pi.policy)
    np.testing.assert_allclose(V_greedy, pi.values, atol=1e-9 * (1 + np.abs(pi.values).max()))


@settings(max_examples=40, deadline=None)
@given(mdp=mdps(gamma=GAMMAS), data=st.data())
def test_evaluation_iterates_converge_geometrically_to_linear_solve(mdp, data):
    probs = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    V_pi = bellman.policy_evaluation(mdp.P, mdp.R, mdp.gamma, probs)
    V = _values(data.draw, mdp.n_states)
    err0 = np.abs(V - V_pi).max()
    for k in range(1, 30):
        V = bellman.evaluation_backup(mdp.P, mdp.R, mdp.gamma, probs, V)
        assert np.abs(V - V_pi).max() <= mdp.gamma**k * err0 + 1e-8 * (1 + np.abs(V_pi).max())


def test_policy_evaluation_matches_neumann_series():
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(5), size=(5, 2))
    R = rng.standard_normal((5, 2))
    probs = rng.dirichlet(np.ones(2), size=5)
    P_pi, r_pi = bellman.policy_matrices(P, R, probs)
    series = sum(0.7**t * np.linalg.matrix_power(P_pi, t) @ r_pi for t in range(200))
    np.testing.assert_allclose(bellman.policy_evaluation(P, R, 0.7, probs), series, atol=1e-12)


def test_single_state_closed_form():
    # one state, reward 1 for action 1 and 0 for action 0: V* = 1 / (1 - gamma)
    P = np.ones((1, 2, 1))
    R = np.array([[0.0, 1.0]])
    assert bellman.optimal_values(P, R, 0.9)[0] == pytest.approx(10.0, abs=1e-12)
    np.testing.assert_allclose(bellman.optimal_q_values(P, R, 0.9), [[9.0, 10.0]], atol=1e-12)


def test_value_iteration_error_trace_decreases_by_gamma():
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(4), size=(4, 3))
    R = rng.standard_normal((4, 3))
    sol = bellman.value_iteration(P, R, 0.8)
    # ||V_{k+1} - V_k|| <= gamma ||V_k - V_{k-1}||, up to rounding of ~1e-15 in each error
    assert (sol.errors[1:] <= 0.8 * sol.errors[:-1] + 1e-13).all()
    assert sol.errors[-1] <= 1e-12 * (1 - 0.8) / (2 * 0.8)


@pytest.mark.parametrize("gamma", [1.0, -0.1, float("nan")])
def test_rejects_gamma_outside_unit_interval(gamma):
    with pytest.raises(ValueError, match="gamma"):
        bellman.optimality_backup(np.ones((1, 1, 1)), np.zeros((1, 1)), gamma, np.zeros(1))


def test_rejects_bad_shapes_and_rows():
    with pytest.raises(ValueError, match="R must have shape"):
        bellman.optimality_backup(np.ones((2, 1, 2)) / 2, np.zeros((2, 2)), 0.9, np.zeros(2))
    with pytest.raises(ValueError, match="V must have shape"):
        bellman.optimality_backup(np.ones((2, 1, 2)) / 2, np.zeros((2, 1)), 0.9, np.zeros(3))
    with pytest.raises(ValueError, match="sums to"):
        bellman.optimality_backup(np.ones((2, 1, 2)), np.zeros((2, 1)), 0.9, np.zeros(2))
    with pytest.raises(ValueError, match="policy"):
        bellman.policy_evaluation(np.ones((2, 1, 2)) / 2, np.zeros((2, 1)), 0.9, np.ones((2, 2)))
