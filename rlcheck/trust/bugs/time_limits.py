"""Planted bugs in collection loops on time-limited environments, for
:func:`rlcheck.checks.check_collection_loop`.

:func:`gae_collection_loop` is a CleanRL-style loop written for rlcheck: it steps a gymnasium
vector environment (same-step autoreset) with the problem's policy, stores observations, actions,
rewards, the two end flags and the critic's values, bootstraps a truncated episode from its final
observation, and computes GAE backwards. Its ``bug`` switch plants the classic mistakes:

* ``"truncation-as-termination"``: the environment reports its time limit as ``terminated`` (the
  old ``done`` flag), so the loop never bootstraps after a truncation;
* ``"bootstrap-through-termination"``: ``(1 - terminated)`` left out of the TD error, so a
  terminal transition bootstraps the critic's (meaningless) value of the terminal state;
* ``"gae-leaks-across-episodes"``: no episode masks, and the next row's value (the reset
  observation's, after an episode end) as ``V(s_{t+1})``: misaligned values leak across episodes.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlcheck.trust.bugs import Mutant

LOOP_BUGS = ("truncation-as-termination", "bootstrap-through-termination",
             "gae-leaks-across-episodes")


def gae_collection_loop(problem: Any, n_envs: int, n_steps: int, seed: int, *, lam: float = 0.9,
                        bug: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Collect ``n_steps`` steps of ``n_envs`` environments and return ``(obs, actions,
    advantages)``, each ``[n_steps, n_envs]``, with GAE(``lam``):
    ``A_t = delta_t + gamma lam (1 - done_t) A_{t+1}``,
    ``delta_t = r_t + gamma (1 - terminated_t) V(s'_t) - V(s_t)`` where ``s'_t`` is the true next
    observation (the final one after a truncation)."""
    if bug is not None and bug not in LOOP_BUGS:
        raise ValueError(f"unknown loop bug {bug!r}; known: {LOOP_BUGS}")
    envs = gym.vector.SyncVectorEnv(
        [lambda: problem.make_env(truncation_as_termination=bug == "truncation-as-termination")
         for _ in range(n_envs)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    policy, critic, gamma = problem.policy(), problem.critic(), problem.mdp.gamma
    shape = (n_steps, n_envs)
    obs_buf, act_buf = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    rewards, values, next_values = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    terminated, done = np.zeros(shape, bool), np.zeros(shape, bool)
    generator = torch.Generator().manual_seed(seed)
    obs, _ = envs.reset(seed=seed)
    for t in range(n_steps):
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
    envs.close()
    advantages, last = np.zeros(shape), np.zeros(n_envs)
    for t in reversed(range(n_steps)):
        not_terminal, not_done, v_next = 1.0 - terminated[t], 1.0 - done[t], next_values[t]
        if bug == "bootstrap-through-termination":
            not_terminal = np.ones(n_envs)
        if bug == "gae-leaks-across-episodes":
            not_terminal = not_done = np.ones(n_envs)
            v_next = values[t + 1] if t + 1 < n_steps else next_values[t]
        delta = rewards[t] + gamma * not_terminal * v_next - values[t]
        last = delta + gamma * lam * not_done * last
        advantages[t] = last
    return obs_buf, act_buf, advantages


def _loop(name: str, description: str, must: str, **switches: Any) -> Mutant:
    return Mutant(f"loop-{name}", description, "time-limits", must,  # type: ignore[arg-type]
                  "check_collection_loop", partial(gae_collection_loop, **switches))


def mutants() -> list[Mutant]:
    """The collection-loop mutants (area ``time-limits``)."""
    return [
        _loop("truncation-as-termination", "a time-limit cut reported as terminated (old done "
              "flag): no bootstrap after truncation", "catch", bug="truncation-as-termination"),
        _loop("bootstrap-through-termination", "the TD error bootstraps the critic's value of "
              "the terminal state (no 1 - terminated)", "catch",
              bug="bootstrap-through-termination"),
        _loop("gae-leaks-across-episodes", "no episode masks and the next row's value (the reset "
              "observation's) as V(s')", "catch", bug="gae-leaks-across-episodes"),
        _loop("gae-lambda-0.9", "GAE(0.9) bootstrapping from the final observation of a "
              "truncated episode", "pass"),
        _loop("td-error", "GAE(0): the one-step TD error, bootstrapped after truncation",
              "pass", lam=0.0),
        _loop("monte-carlo", "GAE(1): Monte-Carlo return minus V, bootstrapped at cuts", "pass",
              lam=1.0),
    ]
