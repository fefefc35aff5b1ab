"""Tests of rlcheck.actor_critic: GAE identities, exact actor gradient, learning, divergence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcheck import actor_critic as ac
from rlcheck import exact
from rlcheck.counterexamples import baird_off_policy_td
from rlcheck.episodes import sample
from rlcheck.mdp import random_mdp
from rlcheck.pg import gae_advantages, gae_advantages_flat
from rlcheck.stats import hotelling_test
from rlcheck.strategies import mdps, softmax_logits


def test_uses_gae_from_pg():
    assert ac.gae_advantages is gae_advantages


@settings(max_examples=60, deadline=None)
@given(mdp=mdps(), data=st.data())
def test_gae_lambda_one_is_reward_to_go_minus_critic_and_zero_is_td_error(mdp, data):
    probs = exact.softmax(data.draw(softmax_logits(mdp)))
    batch = sample(mdp, probs, 5, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))
    critic = np.asarray(data.draw(st.lists(st.floats(-5, 5), min_size=mdp.horizon * mdp.n_states,
                                           max_size=mdp.horizon * mdp.n_states))
                        ).reshape(mdp.horizon, mdp.n_states)
    V = ac.critic_along(batch, critic)
    T = mdp.horizon
    t = np.arange(T)
    discount = np.where(t[None, :] >= t[:, None], mdp.gamma ** np.maximum(t[None, :] - t[:, None], 0), 0.0)
    reward_to_go = batch.rewards @ discount.T
    scale = 1 + np.abs(reward_to_go).max() + np.abs(V).max()
    np.testing.assert_allclose(ac.critic_advantages(batch, critic, 1.0), reward_to_go - V,
                               atol=1e-10 * scale)
    V_next = np.hstack([V[:, 1:], np.zeros((batch.n, 1))])
    np.testing.assert_allclose(ac.critic_advantages(batch, critic, 0.0),
                               batch.rewards + mdp.gamma * V_next - V, atol=1e-10 * scale)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lam=st.floats(0.0, 1.0), gamma=st.floats(0.0, 1.0))
def test_flat_gae_agrees_with_pg_gae_on_rectangular_episodes(seed, lam, gamma):
    rng = np.random.default_rng(seed)
    N, T = 3, 5
    rewards, values = rng.standard_normal((N, T)), rng.standard_normal((N, T))
    last = rng.standard_normal(N)
    next_values = np.hstack([values[:, 1:], last[:, None]])
    terminated = np.zeros((N, T), bool)
    terminated[0, -1] = True  # episode 0 terminated, 1 and 2 truncated (bootstrap from last)
    last_values = np.where(terminated[:, -1], 0.0, last)
    expected = gae_advantages(rewards, values, gamma, lam, last_values=last_values, dones=terminated)
    ends = np.zeros((N, T), bool)
    ends[:, -1] = True
    got = gae_advantages_flat(rewards.ravel(), values.ravel(), next_values.ravel(), terminated.ravel(),
                      ends.ravel(), gamma, lam)
    np.testing.assert_allclose(got.reshape(N, T), expected, atol=1e-10)


def test_episode_ends():
    np.testing.assert_array_equal(ac.episode_ends(np.array([0, 0, 1, 2, 2])),
                                  [False, True, True, False, True])


@settings(max_examples=60, deadline=None)
@given(mdp=mdps(), data=st.data())
def test_actor_gradient_with_exact_critic_equals_exact_policy_gradient(mdp, data):
    logits = data.draw(softmax_logits(mdp))
    V = exact.values(mdp, exact.softmax(logits))
    scale = 1 + np.abs(mdp.R).max() * mdp.horizon
    for target in ("causal", "discounted"):
        np.testing.assert_allclose(ac.expected_actor_gradient(mdp, logits, V, target),
                                   exact.policy_gradient(mdp, logits, target), atol=1e-10 * scale)
    # the critic's value at s_t cancels: shifting V_hat_0 changes nothing
    shifted = V.copy()
    shifted[0] += 3.0
    np.testing.assert_allclose(ac.expected_actor_gradient(mdp, logits, shifted),
                               exact.policy_gradient(mdp, logits, "causal"), atol=1e-10 * scale)


def _mc_case():
    # two states, action a moves to state a, reward 1 for being in state 1: the advantage of an
    # action is entirely its next state's value, so critic errors bias the actor's gradient
    from rlcheck.mdp import TabularMDP

    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = P[:, 1, 1] = 1.0
    mdp = TabularMDP(P, np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0.5, 0.5]), 0.5, 4)
    return mdp, np.array([[0.3, -0.2], [0.1, 0.4]])


def _mc_gradients(mdp, logits, critic, n=20_000, seed=5):
    probs = exact.softmax(logits)
    batch = sample(mdp, probs, n, np.random.default_rng(seed))
    return ac.actor_gradient(batch, probs, ac.critic_advantages(batch, critic, 0.0))


@pytest.mark.statistical(alpha=1e-7)
def test_sampled_actor_gradient_with_exact_critic_is_unbiased():
    mdp, logits = _mc_case()
    V = exact.values(mdp, exact.softmax(logits))
    g = _mc_gradients(mdp, logits, V)
    hotelling_test(g, exact.policy_gradient(mdp, logits, "causal"), alpha=1e-7).assert_passed()


def test_sampled_actor_gradient_check_fails_with_planted_critic_bug():
    # planted bug: the critic drops gamma in its own recursion (V_t = r + V_{t+1}); its exact
    # expected actor gradient differs from the policy gradient, and the sampled test sees it
    from rlcheck.mdp import TabularMDP

    mdp, logits = _mc_case()
    probs = exact.softmax(logits)
    wrong = exact.values(TabularMDP(mdp.P, mdp.R, mdp.init, 1.0, mdp.horizon), probs)
    true = exact.policy_gradient(mdp, logits, "causal")
    assert np.abs(ac.expected_actor_gradient(mdp, logits, wrong) - true).max() > 0.01
    assert not hotelling_test(_mc_gradients(mdp, logits, wrong), true, alpha=1e-3).passed


def test_tabular_critic_regression_is_exact_on_a_deterministic_chain():
    # deterministic transitions and a deterministic policy: every bootstrapped target is exact
    S, T = 3, 4
    P = np.zeros((S, 1, S))
    P[np.arange(S), 0, (np.arange(S) + 1) % S] = 1.0
    from rlcheck.mdp import TabularMDP
    mdp = TabularMDP(P, np.arange(S, dtype=float)[:, None], np.eye(S)[0], 0.9, T)
    probs = np.ones((S, 1))
    batch = sample(mdp, probs, 3, np.random.default_rng(0))
    critic = ac.fit_tabular_critic(batch, S)
    V = exact.values(mdp, probs)
    visited = ac.critic_along(batch, critic)
    np.testing.assert_allclose(visited, ac.critic_along(batch, V), atol=1e-12)


def test_tabular_actor_critic_improves_the_objective():
    rng = np.random.default_rng(3)
    mdp = random_mdp(4, 3, 5, 0.9, rng)
    run = ac.tabular_actor_critic(mdp, n_iterations=40, n_episodes=200, lr=0.5, lam=0.9, seed=0)
    assert run.objective[-1] > run.objective[0] + 0.3 * (run.objective.max() - run.objective[0])
    assert run.objective[-1] > run.objective[0]
    assert run.critic_error[-1] < 1.0


def test_off_policy_linear_critic_diverges_on_baird():
    norms = baird_off_policy_td(n_steps=3000, n_seeds=5, seed=1, record_every=3000)
    assert (norms[-1] > 100 * norms[0]).all()


@pytest.mark.slow
def test_gym_actor_critic_smoke():
    out = ac.gym_actor_critic("CartPole-v1", n_iterations=2, steps_per_iteration=200,
                              critic_steps=2, seed=0, progress=True)
    assert out["mean_return"].shape == (2,) and np.isfinite(out["mean_return"]).all()
    assert out["critic_loss"].shape == (2,)
