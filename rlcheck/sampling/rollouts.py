"""The batch of transitions every sampler returns.

A :class:`Rollouts` holds ``N`` transitions ``(s_t, a_t, r_t, s_{t+1})`` in flat arrays. Episodes
are concatenated, each in time order, and numbered by ``episode``; environments are concatenated
in index order (environment 0's episodes first). ``terminated`` marks a true terminal state (no
bootstrap from ``s_{t+1}``); ``truncated`` marks an episode cut by the time limit or by the step
budget (bootstrap from ``s_{t+1}`` if you need its value). The two are kept apart everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rlcheck.validation import validate_gamma


@dataclass(frozen=True)
class Rollouts:
    """``N`` transitions from one or more environments, episodes concatenated in time order.

    Attributes:
        observations: ``[N, obs_dim]`` states ``s_t``.
        actions: ``[N, ...]`` actions ``a_t``.
        rewards: ``[N]`` rewards ``r_t``.
        next_observations: ``[N, obs_dim]`` states ``s_{t+1}`` (the true final state at an
            episode end, never the state after an automatic reset).
        terminated: ``[N]`` true terminal transitions (no bootstrap).
        truncated: ``[N]`` transitions after which the episode was cut, by the time limit or by
            the step budget.
        episode: ``[N]`` integer episode id, ``0, 0, ..., 1, 1, ...`` (non-decreasing).
        env_index: ``[N]`` index of the environment that produced each transition.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    episode: np.ndarray
    env_index: np.ndarray = field(default=None)  # type: ignore[arg-type]  # filled in __post_init__

    def __post_init__(self) -> None:
        n = len(self.rewards)
        if self.env_index is None:
            object.__setattr__(self, "env_index", np.zeros(n, dtype=np.int64))
        for name in ("observations", "actions", "next_observations", "terminated", "truncated",
                     "episode", "env_index"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"Rollouts.{name} has {len(getattr(self, name))} rows, rewards has {n}"
                )
        if self.observations.shape != self.next_observations.shape:
            raise ValueError(
                f"observations {self.observations.shape} and next_observations "
                f"{self.next_observations.shape} differ in shape"
            )
        if n and np.any(np.diff(self.episode) < 0):
            raise ValueError("Rollouts.episode must be non-decreasing (episodes concatenated)")

    @property
    def n_steps(self) -> int:
        """Number of transitions ``N``."""
        return len(self.rewards)

    @property
    def n_episodes(self) -> int:
        """Number of (possibly incomplete) episodes."""
        return len(np.unique(self.episode))

    def episode_lengths(self) -> np.ndarray:
        """Number of transitions of each episode, in episode order."""
        _, counts = np.unique(self.episode, return_counts=True)
        return counts

    def episode_returns(self, gamma: float = 1.0) -> np.ndarray:
        """Return of each episode, ``G = sum_t gamma^t r_t`` with ``t`` counted from its start."""
        gamma = validate_gamma(gamma)
        ids, start = np.unique(self.episode, return_index=True)
        if gamma == 1.0:
            return np.add.reduceat(self.rewards, start) if len(ids) else np.zeros(0)
        t = np.arange(self.n_steps) - np.repeat(start, self.episode_lengths())
        return np.add.reduceat(self.rewards * gamma**t, start) if len(ids) else np.zeros(0)

    def episode_ends(self) -> np.ndarray:
        """Boolean ``[n_episodes]``: whether each episode ended (terminated or cut)."""
        last = self.last_index()
        return self.terminated[last] | self.truncated[last]

    def last_index(self) -> np.ndarray:
        """Index of the last transition of each episode."""
        _, start = np.unique(self.episode, return_index=True)
        return np.r_[start[1:], self.n_steps] - 1

    def complete_episodes(self) -> np.ndarray:
        """Boolean ``[n_episodes]``: episodes that ended on their own, not by the step budget.

        Every episode but the last of each environment ended by termination or by the time
        limit; the last one counts only if it terminated. Episodes cut by the budget are
        length-biased (the inspection paradox), so return statistics should use these.
        """
        last = self.last_index()
        env_of_episode = self.env_index[last]
        final_of_env = np.r_[env_of_episode[1:] != env_of_episode[:-1], True]
        return ~final_of_env | self.terminated[last]


def concatenate(parts: Sequence[Rollouts]) -> Rollouts:
    """Concatenate rollouts, renumbering episodes so ids stay consecutive."""
    if not parts:
        raise ValueError("concatenate needs at least one Rollouts")
    offset = 0
    episodes = []
    for part in parts:
        ids = np.unique(part.episode, return_inverse=True)[1]
        episodes.append(ids + offset)
        offset += part.n_episodes
    return Rollouts(
        observations=np.concatenate([p.observations for p in parts]),
        actions=np.concatenate([p.actions for p in parts]),
        rewards=np.concatenate([p.rewards for p in parts]),
        next_observations=np.concatenate([p.next_observations for p in parts]),
        terminated=np.concatenate([p.terminated for p in parts]),
        truncated=np.concatenate([p.truncated for p in parts]),
        episode=np.concatenate(episodes).astype(np.int64),
        env_index=np.concatenate([p.env_index for p in parts]),
    )
