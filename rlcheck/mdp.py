"""Finite-horizon tabular MDPs and the batch of episodes sampled from one.

A :class:`TabularMDP` is the ground truth every exact oracle in :mod:`rlcheck.exact` solves with
linear algebra. Episodes last exactly ``horizon`` steps (absorbing states model termination), and
the return of an episode is ``sum_{t<T} gamma^t r_t``. Sampling episodes lives in
:mod:`rlcheck.episodes` (it attaches exact values, so it sits above :mod:`rlcheck.exact`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlcheck.validation import (
    frozen_copy,
    validate_gamma,
    validate_policy_table,
    validate_positive_int,
    validate_positive_number,
    validate_rng,
    validate_tabular_model,
)


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite MDP with horizon ``T`` and discount ``gamma``.

    Attributes:
        P: transition probabilities ``P[s, a, s'] = Pr(s_{t+1}=s' | s_t=s, a_t=a)``, shape ``[S, A, S]``.
        R: expected reward ``R[s, a] = E[r_t | s_t=s, a_t=a]``, shape ``[S, A]``.
        init: initial state distribution ``Pr(s_0 = s)``, shape ``[S]``.
        gamma: discount factor in ``[0, 1]``.
        horizon: number of steps ``T >= 1`` of every episode.

    The arrays are stored as float64 copies that the MDP owns and nobody can write to (not even
    by setting ``flags.writeable`` back), so a checked MDP stays valid.

    Raises:
        ValueError: naming the problem for wrong shapes, rows of ``P`` or ``init`` that are not
            distributions, non-finite rewards, ``gamma`` outside ``[0, 1]`` or a ``horizon``
            that is not a finite integer ``>= 1``.
        TypeError: naming the argument for complex or non-numeric arrays, and for a ``gamma``
            or ``horizon`` that is not a number (``None``, ``True``, ``"0.9"``).
    """

    P: np.ndarray
    R: np.ndarray
    init: np.ndarray
    gamma: float
    horizon: int

    def __post_init__(self) -> None:
        P, R, init = validate_tabular_model(self.P, self.R, self.init)
        gamma = validate_gamma(self.gamma)
        horizon = validate_positive_int(self.horizon, "horizon")
        object.__setattr__(self, "P", frozen_copy(P))
        object.__setattr__(self, "R", frozen_copy(R))
        object.__setattr__(self, "init", frozen_copy(init))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "horizon", horizon)

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    def __repr__(self) -> str:
        return (f"TabularMDP(n_states={self.n_states}, n_actions={self.n_actions}, "
                f"gamma={self.gamma}, horizon={self.horizon})")


def random_mdp(n_states: int, n_actions: int, horizon: int, gamma: float,
               rng: np.random.Generator, reward_scale: float = 1.0) -> TabularMDP:
    """A random MDP: Dirichlet(1) transition rows and initial distribution, rewards
    ``~ reward_scale * N(0, 1)``."""
    n_states = validate_positive_int(n_states, "n_states")
    n_actions = validate_positive_int(n_actions, "n_actions")
    rng = validate_rng(rng)
    reward_scale = validate_positive_number(reward_scale, "reward_scale")
    P = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    R = reward_scale * rng.standard_normal((n_states, n_actions))
    init = rng.dirichlet(np.ones(n_states))
    return TabularMDP(P, R, init, gamma, horizon)


def validate_policy(mdp: TabularMDP, probs: np.ndarray) -> np.ndarray:
    """A stochastic policy ``probs[s, a] = pi(a|s)`` for ``mdp`` (shape ``[S, A]``, rows that are
    distributions), returned as float64; ``ValueError`` naming the problem otherwise."""
    return validate_policy_table(probs, mdp.n_states, mdp.n_actions)


@dataclass(frozen=True, eq=False)
class TrajectoryBatch:
    """``N`` sampled episodes of length ``T`` from a :class:`TabularMDP`.

    Attributes:
        states: ``s_t``, int array ``[N, T]``.
        actions: ``a_t``, int array ``[N, T]``.
        rewards: ``r_t = R[s_t, a_t]``, float array ``[N, T]``.
        gamma: the MDP's discount.
        values: exact ``V_t(s_t)`` under the sampling policy, ``[N, T]`` (for baselines).
        final_states: ``s_T``, the state after the last step, int array ``[N]``.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    gamma: float
    values: np.ndarray
    final_states: np.ndarray

    @property
    def n(self) -> int:
        return self.states.shape[0]

    @property
    def horizon(self) -> int:
        return self.states.shape[1]

    def discounts(self) -> np.ndarray:
        """``gamma^t`` for ``t = 0..T-1``, shape ``[T]``."""
        return self.gamma ** np.arange(self.horizon, dtype=np.float64)

    def returns(self) -> np.ndarray:
        """Discounted returns ``G = sum_t gamma^t r_t``, shape ``[N]``."""
        return self.rewards @ self.discounts()
