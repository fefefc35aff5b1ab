"""Exact oracles against finite differences and against exhaustive trajectory enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcheck import exact
from rlcheck.mdp import TabularMDP, random_mdp
from rlcheck.strategies import mdps, softmax_logits


def finite_difference_gradient(mdp: TabularMDP, logits: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of J(softmax(logits)) in every coordinate."""
    grad = np.zeros_like(logits)
    for index in np.ndindex(*logits.shape):
        step = np.zeros_like(logits)
        step[index] = eps
        plus = exact.evaluate(mdp, exact.softmax(logits + step))
        minus = exact.evaluate(mdp, exact.softmax(logits - step))
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def enumerate_expectations(mdp: TabularMDP, logits: np.ndarray) -> dict[str, np.ndarray | float]:
    """Brute force over every trajectory: J, E[REINFORCE], E[restart-discount reward-to-go]."""
    probs = exact.softmax(logits)
    S, A, T, g = mdp.n_states, mdp.n_actions, mdp.horizon, mdp.gamma
    J = 0.0
    reinforce = np.zeros((S, A))
    causal = np.zeros((S, A))
    for s0 in range(S):
        for path in itertools.product(range(A), range(S), repeat=T):
            actions, next_states = path[0::2], path[1::2]
            states = (s0, *next_states[:-1])
            p = mdp.init[s0]
            for t in range(T):
                p *= probs[states[t], actions[t]] * mdp.P[states[t], actions[t], next_states[t]]
            if p == 0:
                continue
            rewards = np.array([mdp.R[states[t], actions[t]] for t in range(T)])
            scores = np.zeros((T, S, A))
            for t in range(T):
                scores[t, states[t]] -= probs[states[t]]
                scores[t, states[t], actions[t]] += 1
            ret = float(rewards @ g ** np.arange(T))
            J += p * ret
            reinforce += p * scores.sum(0) * ret
            for t in range(T):
                causal += p * scores[t] * float(rewards[t:] @ g ** np.arange(T - t))
    return {"J": J, "reinforce": reinforce, "causal": causal}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_policy_gradient_equals_finite_differences(data: st.DataObject) -> None:
    mdp = data.draw(mdps())
    logits = data.draw(softmax_logits(mdp))
    grad = exact.policy_gradient(mdp, logits)
    fd = finite_difference_gradient(mdp, logits)
    scale = 1.0 + np.abs(mdp.R).max() * mdp.horizon
    np.testing.assert_allclose(grad, fd, atol=1e-6 * scale, rtol=0)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_exact_oracles_equal_trajectory_enumeration(data: st.DataObject) -> None:
    mdp = data.draw(mdps(max_states=2, max_actions=2, max_horizon=3))
    logits = data.draw(softmax_logits(mdp))
    brute = enumerate_expectations(mdp, logits)
    assert exact.evaluate(mdp, exact.softmax(logits)) == pytest.approx(brute["J"], abs=1e-9)
    np.testing.assert_allclose(exact.policy_gradient(mdp, logits), brute["reinforce"], atol=1e-9)
    np.testing.assert_allclose(exact.policy_gradient(mdp, logits, target="causal"),
                               brute["causal"], atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_targets_coincide_without_discount(data: st.DataObject) -> None:
    mdp = data.draw(mdps(gamma=st.just(1.0)))
    logits = data.draw(softmax_logits(mdp))
    np.testing.assert_allclose(exact.policy_gradient(mdp, logits, "causal"),
                               exact.policy_gradient(mdp, logits, "discounted"), atol=1e-10)


def test_causal_target_differs_from_gradient_when_discounted() -> None:
    mdp = random_mdp(3, 2, 6, 0.5, np.random.default_rng(3))
    logits = np.random.default_rng(4).standard_normal((3, 2))
    gap = exact.policy_gradient(mdp, logits, "causal") - exact.policy_gradient(mdp, logits)
    assert np.abs(gap).max() > 1e-2


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_values_satisfy_bellman_and_distributions_are_normalised(data: st.DataObject) -> None:
    mdp = data.draw(mdps())
    probs = exact.softmax(data.draw(softmax_logits(mdp)))
    Q = exact.q_values(mdp, probs)
    V = exact.values(mdp, probs)
    mu = exact.state_distributions(mdp, probs)
    assert Q.shape == (mdp.horizon, mdp.n_states, mdp.n_actions)
    np.testing.assert_allclose(V, (probs * Q).sum(-1), atol=1e-12)
    np.testing.assert_allclose(Q[-1], mdp.R, atol=1e-12)
    for t in range(mdp.horizon - 1):
        np.testing.assert_allclose(Q[t], mdp.R + mdp.gamma * mdp.P @ V[t + 1], atol=1e-9)
    np.testing.assert_allclose(mu.sum(1), 1.0, atol=1e-12)
    # J two ways: init . V_0 and sum_t gamma^t E[r_t] under the state distributions
    per_step = np.einsum("ts,sa,sa->t", mu, probs, mdp.R)
    assert exact.evaluate(mdp, probs) == pytest.approx(
        float(per_step @ mdp.gamma ** np.arange(mdp.horizon)), abs=1e-9)


def test_softmax_is_stable_and_validates() -> None:
    probs = exact.softmax(np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
    np.testing.assert_allclose(probs, [[1.0, 0.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="shape"):
        exact.softmax(np.zeros(3))
    with pytest.raises(ValueError, match="non-finite"):
        exact.softmax(np.array([[np.nan, 0.0]]))


def test_policy_gradient_rejects_bad_target_and_shape() -> None:
    mdp = random_mdp(2, 2, 3, 0.9, np.random.default_rng(0))
    with pytest.raises(ValueError, match="target"):
        exact.policy_gradient(mdp, np.zeros((2, 2)), target="undiscounted")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="logits must have shape"):
        exact.policy_gradient(mdp, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="policy"):
        exact.values(mdp, np.full((2, 2), 0.7))


def test_visit_count_covariance_matches_enumeration() -> None:
    """Exact covariance of per-episode visit counts equals the probability-weighted covariance
    over every trajectory (rlcheck.exact.enumerate_trajectories)."""
    from rlcheck.exact import enumerate_trajectories

    mdp = random_mdp(3, 2, 4, 0.9, np.random.default_rng(3))
    probs = exact.softmax(np.random.default_rng(4).standard_normal((3, 2)))
    batch, prob = enumerate_trajectories(mdp, probs)
    counts = (batch.states[:, :, None] == np.arange(3)).sum(axis=1).astype(float)
    mean = prob @ counts
    cov = ((counts - mean) * prob[:, None]).T @ (counts - mean)
    np.testing.assert_allclose(exact.visit_count_covariance(mdp, probs), cov, atol=1e-12)
