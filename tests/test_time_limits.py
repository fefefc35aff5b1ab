"""Exact answers for time-limited MDPs, the tabular gymnasium env and its torch modules."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcheck.bellman import policy_evaluation
from rlcheck.exact import softmax
from rlcheck.tabular_env import TabularEnv, TabularProblem, default_problems, make_env
from rlcheck.tabular_nets import TabularPolicy, TabularQ, TabularValue, state_index
from rlcheck.time_limits import (
    TimeLimitMDP,
    cut_ring,
    goal_chain,
    infinite_horizon_q,
    rollout_gradient,
    rollout_visits,
)


def test_infinite_horizon_values_solve_the_bellman_equation() -> None:
    mdp = goal_chain()
    probs = softmax(np.ones((4, 2)))
    Q, V = infinite_horizon_q(mdp, probs)
    assert V[3] == 0.0 and np.allclose(V, (probs * Q).sum(1))
    # a terminal state is an absorbing zero-reward state for the untruncated process
    P, R = np.array(mdp.P), np.array(mdp.R)
    R[3] = 0.0
    assert np.allclose(V, policy_evaluation(P, R, mdp.gamma, probs), atol=1e-10)


def test_rollout_visits_without_endings_is_the_state_distribution() -> None:
    mdp = cut_ring(time_limit=50)
    probs = softmax(np.zeros((3, 2)))
    P_pi = np.einsum("sa,sak->sk", probs, mdp.P)
    mu, expected = np.array(mdp.init), np.zeros(3)
    for _ in range(7):
        expected += mu
        mu = mu @ P_pi
    assert np.allclose(rollout_visits(mdp, probs, 7), expected)


def test_rollout_visits_restart_after_a_truncation_and_count_every_step() -> None:
    mdp = cut_ring(time_limit=2)
    probs = softmax(np.zeros((3, 2)))
    visits = rollout_visits(mdp, probs, 6)
    assert np.isclose(visits.sum(), 6.0)
    # steps 0, 2, 4 are first steps of episodes: they start in state 0
    assert visits[0] >= 3.0
    chain = goal_chain()
    assert np.isclose(rollout_visits(chain, softmax(np.zeros((4, 2))), 9).sum(), 9.0)
    assert rollout_visits(chain, softmax(np.zeros((4, 2))), 9)[3] == 0.0


def test_rollout_gradient_is_linear_in_the_visits() -> None:
    problem = default_problems()[1]
    g1, g2 = (rollout_gradient(problem.mdp, problem.logits, L) for L in (5, 10))
    assert g1.shape == (4, 2) and np.allclose(g1[3], 0.0)
    assert np.abs(g2).sum() > np.abs(g1).sum()


def test_env_terminates_in_terminal_states_and_time_limit_truncates() -> None:
    env = make_env(goal_chain(time_limit=3))
    env.reset(seed=0)
    endings = []
    for _ in range(200):
        for _ in range(10):
            _, _, terminated, truncated, _ = env.step(1)
            if terminated or truncated:
                endings.append("terminated" if terminated else "truncated")
                env.reset()
                break
    assert {"terminated", "truncated"} <= set(endings)
    bug = make_env(goal_chain(time_limit=3), truncation_as_termination=True)
    bug.reset(seed=0)
    for _ in range(3):
        _, _, terminated, truncated, _ = bug.step(0)
    assert terminated and not truncated


def test_env_passes_gymnasiums_checker_in_both_observation_kinds() -> None:
    from gymnasium.utils.env_checker import check_env

    for obs in ("index", "one_hot"):
        env = TabularEnv(cut_ring(), obs=obs)
        check_env(env, skip_render_check=True)
    one_hot, _ = TabularEnv(cut_ring(), obs="one_hot").reset(seed=1)
    assert one_hot.shape == (3,) and one_hot.sum() == 1.0
    with pytest.raises(ValueError, match="obs must be"):
        TabularEnv(cut_ring(), obs="pixels")  # type: ignore[arg-type]
    assert isinstance(make_env(cut_ring()), gym.wrappers.TimeLimit)


def test_modules_accept_one_hot_and_index_observations() -> None:
    logits = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    policy, q, v = TabularPolicy(logits), TabularQ(logits), TabularValue(np.array([1.0, 2.0, 3.0]))
    index = torch.tensor([2, 0])
    one_hot = torch.nn.functional.one_hot(index, 3).float()
    for obs in (index, one_hot, index[:, None]):
        assert torch.allclose(policy(obs).probs, torch.softmax(torch.tensor(logits)[index], 1))
        assert torch.equal(q(obs), torch.tensor(logits)[index])
        assert torch.equal(v(obs), torch.tensor([3.0, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="one-hot"):
        state_index(torch.tensor([[0.5, 0.5, 0.0]]), 3)
    with pytest.raises(ValueError, match="outside"):
        state_index(torch.tensor([3]), 3)
    with pytest.raises(ValueError, match="table"):
        TabularValue(np.zeros((2, 2)))


def test_problem_critic_is_exact_off_terminal_states_and_planted_on_them() -> None:
    problem = default_problems()[1]
    _, V = infinite_horizon_q(problem.mdp, softmax(problem.logits))
    values = problem.critic().table.detach().numpy()
    assert np.allclose(values[:3], V[:3]) and values[3] == problem.terminal_value != 0.0
    assert isinstance(problem, TabularProblem) and problem.name


def test_bad_time_limit_mdps_are_named() -> None:
    P = np.ones((2, 1, 2)) / 2
    with pytest.raises(ValueError, match="gamma"):
        TimeLimitMDP(P, np.zeros((2, 1)), [1.0, 0.0], 1.0, [False, False], 3)
    with pytest.raises(ValueError, match="time_limit"):
        TimeLimitMDP(P, np.zeros((2, 1)), [1.0, 0.0], 0.9, [False, False], 0)
    with pytest.raises(ValueError, match="init puts probability on a terminal"):
        TimeLimitMDP(P, np.zeros((2, 1)), [0.5, 0.5], 0.9, [False, True], 3)
    with pytest.raises(ValueError, match="R must have shape"):
        TimeLimitMDP(P, np.zeros((2, 2)), [1.0, 0.0], 0.9, [False, False], 3)
