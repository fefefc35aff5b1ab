"""A :class:`~rlcheck.time_limits.TimeLimitMDP` as a gymnasium environment, for your own loop.

:func:`make_env` builds ``TabularEnv`` wrapped in gymnasium's ``TimeLimit``: observations are
the state index (``Discrete(S)``, SB3 one-hot encodes it) or a one-hot ``Box``; ``terminated`` is
``True`` when the step enters a terminal state, ``truncated`` when the time limit cuts the episode.
:class:`TabularProblem` bundles the MDP with the tabular policy and critic (torch modules from
:mod:`rlcheck.tabular_nets`) whose exact policy gradient :mod:`rlcheck.time_limits` computes, so a
user's collection loop, run with them, can be checked end to end by
:func:`rlcheck.checks.check_collected_pg`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np

from rlcheck.exact import softmax
from rlcheck.tabular_nets import TabularPolicy, TabularValue
from rlcheck.time_limits import TimeLimitMDP, cut_ring, goal_chain, infinite_horizon_q

ObsKind = Literal["index", "one_hot"]


class TabularEnv(gym.Env):
    """``s_0 ~ init``; ``step(a)``: ``r = R[s, a]``, ``s' ~ P[s, a]``,
    ``terminated = terminal[s']``, ``truncated = False`` (wrap in ``TimeLimit`` for the limit)."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(self, mdp: TimeLimitMDP, obs: ObsKind = "index") -> None:
        if obs not in ("index", "one_hot"):
            raise ValueError(f"obs must be 'index' or 'one_hot', got {obs!r}")
        self.mdp, self.obs_kind = mdp, obs
        S = mdp.n_states
        self.observation_space = (gym.spaces.Discrete(S) if obs == "index" else
                                  gym.spaces.Box(0.0, 1.0, (S,), dtype=np.float32))
        self.action_space = gym.spaces.Discrete(mdp.n_actions)
        self._cdf_init = np.cumsum(mdp.init)
        self._cdf_P = np.cumsum(mdp.P, axis=2)
        self.state = 0

    def _obs(self) -> Any:
        if self.obs_kind == "index":
            return int(self.state)
        one_hot = np.zeros(self.mdp.n_states, dtype=np.float32)
        one_hot[self.state] = 1.0
        return one_hot

    def _draw(self, cdf: np.ndarray) -> int:
        index = int(np.searchsorted(cdf, self.np_random.random(), side="right"))
        return min(index, cdf.size - 1)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Draw ``s_0 ~ init``."""
        super().reset(seed=seed)
        self.state = self._draw(self._cdf_init)
        return self._obs(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """One transition; ``terminated`` iff the next state is terminal."""
        a = int(np.asarray(action).reshape(()))
        if not 0 <= a < self.mdp.n_actions:
            raise ValueError(f"action must lie in [0, {self.mdp.n_actions}), got {action!r}")
        reward = float(self.mdp.R[self.state, a])
        self.state = self._draw(self._cdf_P[self.state, a])
        return self._obs(), reward, bool(self.mdp.terminal[self.state]), False, {}


class TimeLimitAsTermination(gym.Wrapper):
    """A planted bug: reports the time limit's cut as ``terminated`` (what old ``done`` flags and
    hand-written limits do). For tests showing that the check catches it."""

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """``terminated = terminated or truncated``, ``truncated = False``."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward), bool(terminated or truncated), False, info


def make_env(mdp: TimeLimitMDP, obs: ObsKind = "index", *,
             truncation_as_termination: bool = False) -> gym.Env:
    """``TimeLimit(TabularEnv(mdp), mdp.time_limit)``; with ``truncation_as_termination`` the
    planted bug :class:`TimeLimitAsTermination` is wrapped around it."""
    env: gym.Env = gym.wrappers.TimeLimit(TabularEnv(mdp, obs), max_episode_steps=mdp.time_limit)
    return TimeLimitAsTermination(env) if truncation_as_termination else env


@dataclass(frozen=True, eq=False)
class TabularProblem:
    """An MDP with a time limit, the logits of the policy to collect with, and the critic's value
    on terminal states (``terminal_value``: a critic is never trained there and outputs
    something; 0 is exact)."""

    mdp: TimeLimitMDP
    logits: np.ndarray
    terminal_value: float = 5.0

    @property
    def name(self) -> str:
        return self.mdp.name

    def make_env(self, obs: ObsKind = "index", *, truncation_as_termination: bool = False) -> gym.Env:
        """A fresh environment of :func:`make_env`."""
        return make_env(self.mdp, obs, truncation_as_termination=truncation_as_termination)

    def policy(self) -> TabularPolicy:
        """The policy to collect with: ``obs -> Categorical(logits[s])``."""
        return TabularPolicy(self.logits)

    def values(self) -> np.ndarray:
        """The critic's table: exact infinite-horizon ``V`` on non-terminal states,
        ``terminal_value`` on terminal ones."""
        _, V = infinite_horizon_q(self.mdp, softmax(self.logits))
        return np.where(self.mdp.terminal, self.terminal_value, V)

    def critic(self) -> TabularValue:
        """``obs -> V(s)`` with :meth:`values`."""
        return TabularValue(self.values())


def default_problems() -> tuple[TabularProblem, ...]:
    """An infinite-horizon ring cut by a time limit and a chain with a terminal goal."""
    return (TabularProblem(cut_ring(), np.array([[0.2, -0.2], [0.0, 0.3], [-0.4, 0.1]])),
            TabularProblem(goal_chain(), np.array([[0.0, 0.5], [0.2, 0.4], [-0.3, 0.3],
                                                   [0.0, 0.0]])))
