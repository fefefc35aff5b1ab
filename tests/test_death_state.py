"""Tests of rlcheck.death_state: discounting equals a death state in expectation only."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcheck import bellman, exact
from rlcheck import death_state as ds
from rlcheck.mdp import TabularMDP, random_mdp
from rlcheck.strategies import mdps, softmax_logits

TOL = 1e-10


@settings(max_examples=80, deadline=None)
@given(mdp=mdps(), data=st.data())
def test_objective_values_and_gradient_agree_exactly(mdp, data):
    logits = data.draw(softmax_logits(mdp))
    probs = exact.softmax(logits)
    dead = ds.with_death_state(mdp)
    probs_dead = ds.extend_policy(probs)
    scale = 1.0 + np.abs(mdp.R).max() * mdp.horizon
    assert dead.gamma == 1.0 and dead.n_states == mdp.n_states + 1
    assert exact.evaluate(dead, probs_dead) == pytest.approx(exact.evaluate(mdp, probs), abs=TOL * scale)
    np.testing.assert_allclose(exact.values(dead, probs_dead)[:, :-1], exact.values(mdp, probs),
                               atol=TOL * scale)
    np.testing.assert_allclose(exact.q_values(dead, probs_dead)[:, :-1], exact.q_values(mdp, probs),
                               atol=TOL * scale)
    grad_dead = exact.policy_gradient(dead, ds.extend_logits(logits))
    np.testing.assert_allclose(grad_dead[:-1], exact.policy_gradient(mdp, logits, "discounted"),
                               atol=TOL * scale)
    np.testing.assert_allclose(grad_dead[-1], 0.0, atol=TOL * scale)  # the dead never act
    # Pr_M'(s_t = s) = gamma^t Pr_M(s_t = s)
    mu = exact.state_distributions(mdp, probs)
    mu_dead = exact.state_distributions(dead, probs_dead)
    np.testing.assert_allclose(mu_dead[:, :-1], mdp.gamma ** np.arange(mdp.horizon)[:, None] * mu,
                               atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(mdp=mdps(gamma=st.floats(0.0, 0.95)), data=st.data())
def test_infinite_horizon_absorption_value_equals_linear_solve(mdp, data):
    probs = exact.softmax(data.draw(softmax_logits(mdp)))
    V = bellman.policy_evaluation(mdp.P, mdp.R, mdp.gamma, probs)
    V_dead = ds.infinite_horizon_death_values(mdp, probs)
    np.testing.assert_allclose(V_dead, V, atol=TOL * (1 + np.abs(V).max()))
    m1, _ = ds.infinite_horizon_return_moments(mdp.P, mdp.R, mdp.gamma, probs, True)
    np.testing.assert_allclose(m1, V, atol=TOL * (1 + np.abs(V).max()))


def _enumerated_return_distribution(mdp: TabularMDP, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (state, action) paths of length T with their probabilities and discounted returns."""
    S, A, T = mdp.n_states, mdp.n_actions, mdp.horizon
    returns, weights = [], []
    for path in itertools.product(range(S), range(A), repeat=T):
        states, actions = path[0::2], path[1::2]
        p = mdp.init[states[0]]
        for t in range(T):
            p *= probs[states[t], actions[t]]
            if t + 1 < T:
                p *= mdp.P[states[t], actions[t], states[t + 1]]
        returns.append(sum(mdp.gamma**t * mdp.R[states[t], actions[t]] for t in range(T)))
        weights.append(p)
    return np.array(returns), np.array(weights)


@pytest.mark.parametrize("seed", [0, 1])
def test_return_moments_match_enumeration_and_distributions_differ(seed):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(2, 2, 3, 0.7, rng)
    probs = rng.dirichlet(np.ones(2), size=2)
    dead, probs_dead = ds.with_death_state(mdp), ds.extend_policy(probs)
    for model, pi in ((mdp, probs), (dead, probs_dead)):
        G, w = _enumerated_return_distribution(model, pi)
        assert w.sum() == pytest.approx(1.0, abs=1e-12)
        m1, m2 = ds.return_moments(model, pi)
        assert model.init @ m1 == pytest.approx(w @ G, abs=1e-12)
        assert model.init @ m2 == pytest.approx(w @ G**2, abs=1e-12)
    # same mean, different variance: only the first moment is preserved
    assert exact.evaluate(dead, probs_dead) == pytest.approx(exact.evaluate(mdp, probs), abs=1e-12)
    assert abs(ds.return_variance(dead, probs_dead) - ds.return_variance(mdp, probs)) > 1e-3


def test_single_state_closed_forms_show_variance_and_support_differ():
    gamma = 0.9
    # one state, one action, reward 1: M's return is the constant 1/(1-gamma) = 10,
    # M''s return is the lifetime ~ Geometric(1-gamma) on {1, 2, ...}: mean 10, variance 90
    P, R = np.ones((1, 1, 1)), np.ones((1, 1))
    m1, m2 = ds.infinite_horizon_return_moments(P, R, gamma, np.ones((1, 1)))
    assert m1[0] == pytest.approx(10.0) and m2[0] - m1[0] ** 2 == pytest.approx(0.0, abs=1e-9)
    m1, m2 = ds.infinite_horizon_return_moments(P, R, gamma, np.ones((1, 1)), True)
    assert m1[0] == pytest.approx(10.0)
    assert m2[0] - m1[0] ** 2 == pytest.approx(gamma / (1 - gamma) ** 2, rel=1e-12)
    # finite horizon T: Var = Var[min(tau, T)] > 0 = Var of the discounted constant
    mdp = TabularMDP(P, R, np.ones(1), gamma, 20)
    dead = ds.with_death_state(mdp)
    assert ds.return_variance(mdp, np.ones((1, 1))) == pytest.approx(0.0, abs=1e-12)
    t = np.arange(1, 21)
    pmf = np.where(t < 20, gamma ** (t - 1) * (1 - gamma), gamma**19)  # law of min(tau, T)
    assert pmf.sum() == pytest.approx(1.0)
    var = pmf @ t**2 - (pmf @ t) ** 2
    assert ds.return_variance(dead, ds.extend_policy(np.ones((1, 1)))) == pytest.approx(var, rel=1e-10)
    # support: M's return is 1 - gamma^T over 1 - gamma < 10; M' reaches T = 20 with prob gamma^19
    assert pmf[-1] == pytest.approx(gamma**19) and pmf[-1] > 0.1


def test_absorbing_chain_values_rejects_uncertain_absorption():
    with pytest.raises(ValueError, match="absorption"):
        ds.absorbing_chain_values(np.eye(2), np.ones(2), [False, False])
    with pytest.raises(ValueError, match="gamma < 1"):
        ds.infinite_horizon_death_values(TabularMDP(np.ones((1, 1, 1)), np.ones((1, 1)),
                                                    np.ones(1), 1.0, 3), np.ones((1, 1)))


def _case():
    rng = np.random.default_rng(7)
    mdp = random_mdp(4, 3, 8, 0.8, rng)
    probs = rng.dirichlet(np.ones(3), size=4)
    return mdp, probs


@pytest.mark.statistical(alpha=1e-7)
def test_sampling_the_death_mdp_matches_exact_objective():
    mdp, probs = _case()
    result = ds.check_death_state_sampling(mdp, probs, 20_000, alpha=1e-7, seed=3).assert_passed()
    assert result.alpha == pytest.approx(1e-7)


def _buggy_death_mdp(mdp: TabularMDP, death_probability: float) -> TabularMDP:
    S, A = mdp.n_states, mdp.n_actions
    P = np.zeros((S + 1, A, S + 1))
    P[:S, :, :S] = (1 - death_probability) * mdp.P
    P[:S, :, S] = death_probability
    P[S, :, S] = 1.0
    return TabularMDP(P, np.vstack([mdp.R, np.zeros((1, A))]), np.append(mdp.init, 0.0), 1.0,
                      mdp.horizon)


@pytest.mark.parametrize("bug", ["death with probability gamma", "death before the first reward"])
def test_sampling_check_fails_on_planted_bug(bug):
    mdp, probs = _case()
    if bug == "death with probability gamma":
        buggy = _buggy_death_mdp(mdp, mdp.gamma)
    else:  # the start state may already be dead: E[return] = gamma J
        dead = ds.with_death_state(mdp)
        buggy = TabularMDP(dead.P, dead.R, np.append(mdp.gamma * mdp.init, 1 - mdp.gamma), 1.0,
                           mdp.horizon)
    result = ds.check_death_state_sampling(mdp, probs, 20_000, alpha=1e-3, seed=3, death_mdp=buggy)
    assert not result.passed


def test_sampling_check_needs_two_steps_and_no_death_when_gamma_is_one():
    mdp = random_mdp(2, 2, 1, 0.9, np.random.default_rng(0))
    with pytest.raises(ValueError, match="horizon >= 2"):
        ds.check_death_state_sampling(mdp, np.full((2, 2), 0.5), 10, alpha=1e-3)
    undiscounted = TabularMDP(mdp.P, mdp.R, mdp.init, 1.0, 5)
    dead = ds.with_death_state(undiscounted)
    np.testing.assert_array_equal(dead.P[:-1, :, -1], 0.0)  # gamma = 1: nobody dies
