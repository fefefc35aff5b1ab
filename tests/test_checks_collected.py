"""check_collected_pg on data from a user's own CleanRL-style collection loop (gymnasium vector
env, the problem's policy and critic, GAE): the correct loop passes, loops with the classic
time-limit and episode-boundary bugs fail.

Declared false-failure probabilities: correct loops at ``CORRECT_ALPHA``; planted bugs must fail
with a p-value below ``DECISIVE_P`` (declared ``BUG_MISS_ALPHA``). The SB3 loop is tested by the
recipes page (tests/test_recipes.py).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcheck.checks import check_collected_pg
from rlcheck.tabular_env import default_problems
from rlcheck.trust.levels import BUG_MISS_ALPHA, CORRECT_ALPHA, DECISIVE_P

PROBLEMS = default_problems()
N_ENVS, N_STEPS = 1000, 12


def collect(problem, *, bug: str | None = None, seed: int = 0, lam: float = 0.9):
    """A CleanRL-style loop: step N envs, store obs/actions/rewards/flags and V(s), bootstrap
    from the final observation of truncated episodes, then GAE backwards."""
    envs = gym.vector.SyncVectorEnv(
        [lambda: problem.make_env(truncation_as_termination=bug == "truncation-as-termination")
         for _ in range(N_ENVS)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    policy, critic, gamma = problem.policy(), problem.critic(), problem.mdp.gamma
    shape = (N_STEPS, N_ENVS)
    obs_buf, act_buf = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    rewards, values, next_values = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    terminated, done = np.zeros(shape, bool), np.zeros(shape, bool)
    generator = torch.Generator().manual_seed(seed)
    obs, _ = envs.reset(seed=seed)
    for t in range(N_STEPS):
        with torch.no_grad():
            probs = policy(torch.as_tensor(obs)).probs
            action = torch.multinomial(probs, 1, generator=generator)[:, 0].numpy()
            values[t] = critic(torch.as_tensor(obs)).numpy()
        obs_buf[t], act_buf[t] = obs, action
        obs, reward, term, trunc, info = envs.step(action)
        final = np.where(term | trunc, info.get("final_obs", obs), obs).astype(np.int64)
        with torch.no_grad():
            next_values[t] = critic(torch.as_tensor(final)).numpy()
        rewards[t], terminated[t], done[t] = reward, term, term | trunc
    advantages, last = np.zeros(shape), np.zeros(N_ENVS)
    for t in reversed(range(N_STEPS)):
        not_terminal, not_done, v_next = 1.0 - terminated[t], 1.0 - done[t], next_values[t]
        if bug == "bootstrap-through-termination":
            not_terminal = 1.0
        if bug == "gae-leaks-across-episodes":  # next row's value, no masks at all
            not_terminal = not_done = 1.0
            v_next = values[t + 1] if t + 1 < N_STEPS else next_values[t]
        delta = rewards[t] + gamma * not_terminal * v_next - values[t]
        last = delta + gamma * lam * not_done * last
        advantages[t] = last
    return obs_buf, act_buf, advantages


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name.split(" ")[0])
@pytest.mark.parametrize("lam", [0.0, 0.9, 1.0])
def test_correct_loop_passes(problem, lam) -> None:
    obs, actions, advantages = collect(problem, lam=lam)
    check_collected_pg(problem, obs, actions, advantages, alpha=CORRECT_ALPHA).assert_passed()


@pytest.mark.statistical(alpha=BUG_MISS_ALPHA)
@pytest.mark.parametrize(("bug", "problem"), [
    ("truncation-as-termination", PROBLEMS[0]), ("truncation-as-termination", PROBLEMS[1]),
    ("bootstrap-through-termination", PROBLEMS[1]),
    ("gae-leaks-across-episodes", PROBLEMS[0]), ("gae-leaks-across-episodes", PROBLEMS[1]),
], ids=lambda x: x if isinstance(x, str) else x.name.split(" ")[0])
def test_planted_loop_bug_fails(bug, problem) -> None:
    result = check_collected_pg(problem, *collect(problem, bug=bug))
    assert not result.passed and result.p_value < DECISIVE_P, result.verdict


def test_bad_data_is_named() -> None:
    problem = PROBLEMS[1]
    obs = np.zeros((4, 50), np.int64)
    with pytest.raises(ValueError, match="weights must be time-major"):
        check_collected_pg(problem, obs, obs, np.zeros(200))
    with pytest.raises(ValueError, match=r"actions must be time-major \[L, N\] = \(4, 50\)"):
        check_collected_pg(problem, obs, np.zeros((50, 4)), np.zeros((4, 50)))
    with pytest.raises(ValueError, match="obs holds a terminal state"):
        check_collected_pg(problem, obs + 3, obs, np.zeros((4, 50)))
    with pytest.raises(ValueError, match=r"obs must hold integers in \[0, 4\)"):
        check_collected_pg(problem, obs + 7, obs, np.zeros((4, 50)))
    with pytest.raises(ValueError, match="at least 40 env columns"):
        check_collected_pg(problem, obs[:, :5], obs[:, :5], np.zeros((4, 5)))
    with pytest.raises(ValueError, match="problem must be a TabularProblem"):
        check_collected_pg(problem.mdp, obs, obs, np.zeros((4, 50)))  # type: ignore[arg-type]
    one_hot = np.eye(4)[obs]
    result = check_collected_pg(problem, one_hot, obs[:, :, None], torch.zeros(4, 50))
    assert result.n == 50
