"""MDPs whose episodes a time limit cuts, and the exact policy gradient a rollout estimates.

A :class:`TimeLimitMDP` is an infinite-horizon discounted MDP with absorbing *terminal* states:
entering one ends the episode (``terminated``, value 0). A time limit ``T`` cuts every episode
still running after ``T`` steps (``truncated``): that is a property of the data collection, not of
the task, whose objective stays ``J = E[sum_{t>=0} gamma^t r_t]``. With ``pi = softmax(theta)``:

* ``V(s) = sum_a pi(a|s) Q(s, a)``, ``Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s')`` and
  ``V = 0`` on terminal states (a linear solve): the infinite-horizon values
  (:func:`infinite_horizon_q`);
* a *rollout* is ``L`` steps of one environment from a reset, which resets after every episode
  end (as vectorised environments do). Its expected visits ``c(s) = E[#{k < L: s_k = s}]``
  follow from the chain on (time in episode, state) (:func:`rollout_visits`);
* an advantage estimate that bootstraps correctly (``V(s')`` after a truncation or at the
  rollout's end, nothing after a termination) has ``E[psi_k | s_k, a_k] = Q(s_k, a_k) - b(s_k)``,
  so the rollout's score-function estimate ``g = sum_k grad log pi(a_k|s_k) psi_k`` has mean
  ``E[g][s, b] = c(s) pi(b|s) (Q(s, b) - V(s))`` (:func:`rollout_gradient`). Treating a
  truncation as a termination replaces ``Q`` by a finite-horizon value and bootstrapping through a
  termination adds the critic's value of the terminal state: both move the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlcheck.exact import softmax
from rlcheck.validation import (
    frozen_copy,
    validate_gamma,
    validate_positive_int,
    validate_tabular_model,
)


@dataclass(frozen=True, eq=False)
class TimeLimitMDP:
    """An infinite-horizon discounted MDP with terminal states and a time limit.

    Attributes:
        P: ``P[s, a, s']``, shape ``[S, A, S]`` (rows of terminal states are never used).
        R: ``R[s, a]``, shape ``[S, A]``.
        init: initial distribution ``[S]`` (zero on terminal states).
        gamma: discount in ``[0, 1)``.
        terminal: bool ``[S]``, the absorbing states whose entry terminates an episode.
        time_limit: ``T >= 1``, the steps after which a running episode is truncated.
        name: for messages.
    """

    P: np.ndarray
    R: np.ndarray
    init: np.ndarray
    gamma: float
    terminal: np.ndarray
    time_limit: int
    name: str = "time-limit MDP"

    def __post_init__(self) -> None:
        P, R, init = validate_tabular_model(self.P, self.R, self.init)
        terminal = np.array(self.terminal, dtype=bool)
        if terminal.shape != init.shape:
            raise ValueError(f"terminal must have shape [S] = {init.shape}, got {terminal.shape}")
        if (init[terminal] > 0).any():
            raise ValueError("init puts probability on a terminal state")
        gamma = validate_gamma(self.gamma, infinite_horizon=True)
        time_limit = validate_positive_int(self.time_limit, "time_limit")
        for name, value in (("P", P), ("R", R), ("init", init), ("terminal", terminal)):
            object.__setattr__(self, name, frozen_copy(value))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "time_limit", time_limit)

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]


def infinite_horizon_q(mdp: TimeLimitMDP, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Q [S, A], V [S])`` of ``pi = probs`` without the time limit: ``V = 0`` on terminal
    states and, on the others, ``(I - gamma P_pi) V = R_pi`` with ``P_pi`` restricted to them."""
    alive = ~mdp.terminal
    P_pi = np.einsum("sa,sak->sk", probs, mdp.P)[np.ix_(alive, alive)]
    R_pi = (probs * mdp.R).sum(axis=1)[alive]
    V = np.zeros(mdp.n_states)
    V[alive] = np.linalg.solve(np.eye(int(alive.sum())) - mdp.gamma * P_pi, R_pi)
    Q = mdp.R + mdp.gamma * mdp.P @ V
    Q[mdp.terminal] = 0.0
    return Q, V


def rollout_visits(mdp: TimeLimitMDP, probs: np.ndarray, n_steps: int) -> np.ndarray:
    """``c(s) = E[#{k < L: s_k = s}]`` for a rollout of ``L = n_steps`` steps from a reset that
    resets after each termination or truncation; by the forward recursion on
    ``nu_k(tau, s) = Pr(step k is step tau of its episode, in state s)``."""
    T, S = mdp.time_limit, mdp.n_states
    P_pi = np.einsum("sa,sak->sk", probs, mdp.P)
    nu = np.zeros((T, S))
    nu[0] = mdp.init
    visits = np.zeros(S)
    for _ in range(int(n_steps)):
        visits += nu.sum(axis=0)
        moved = nu @ P_pi  # [T, S]: distribution of s_{k+1} by the step's tau
        ended = moved[:, mdp.terminal].sum(axis=1)  # terminated
        moved[:, mdp.terminal] = 0.0
        nxt = np.zeros_like(nu)
        nxt[1:] = moved[:-1]
        restart = ended.sum() + moved[-1].sum()  # terminations plus truncations at tau = T - 1
        nxt[0] = restart * mdp.init
        nu = nxt
    return visits


def rollout_gradient(mdp: TimeLimitMDP, logits: np.ndarray, n_steps: int) -> np.ndarray:
    """``E[g][s, b] = c(s) pi(b|s) (Q(s, b) - V(s))``, shape ``[S, A]``: the mean of
    ``g = sum_{k<L} grad_theta log pi(a_k|s_k) psi_k`` over rollouts of ``L`` steps for any
    ``psi`` with ``E[psi_k | s_k, a_k] = Q(s_k, a_k) - b(s_k)``."""
    probs = softmax(logits)
    Q, V = infinite_horizon_q(mdp, probs)
    return rollout_visits(mdp, probs, n_steps)[:, None] * probs * (Q - V[:, None])


# ----------------------------------------------------------------------------- default problems

def cut_ring(time_limit: int = 4, gamma: float = 0.9) -> TimeLimitMDP:
    """Infinite-horizon discounted ring of 3 states (no terminal state) cut at ``time_limit``:
    action 1 moves forward with probability 0.8, action 0 stays with probability 0.8; the reward
    depends mostly on the state, so the value a truncation must bootstrap depends on the action
    taken before it."""
    P = np.zeros((3, 2, 3))
    for s in range(3):
        P[s, 0, s], P[s, 0, (s + 1) % 3] = 0.8, 0.2
        P[s, 1, (s + 1) % 3], P[s, 1, s] = 0.8, 0.2
    R = np.array([[0.0, 0.2], [3.0, 3.0], [-2.0, -1.8]])
    return TimeLimitMDP(P, R, np.array([1.0, 0.0, 0.0]), gamma, np.zeros(3, bool), time_limit,
                        name=f"ring cut at T={time_limit} (gamma={gamma}, no terminal state)")


def goal_chain(time_limit: int = 5, gamma: float = 0.95) -> TimeLimitMDP:
    """A chain of 3 states and an absorbing goal (state 3, terminal): action 1 moves right with
    probability 0.7, action 0 left; reaching the goal pays 2, every other step costs -0.1...
    -0.4. Episodes end by termination or by the time limit, both often."""
    P = np.zeros((4, 2, 4))
    for s in range(3):
        P[s, 1, s + 1], P[s, 1, s] = 0.7, 0.3
        P[s, 0, max(s - 1, 0)], P[s, 0, s + 1] = 0.9, 0.1
    P[3, :, 3] = 1.0
    R = np.array([[-0.1, -0.2], [-0.3, -0.1], [1.0, 2.0], [0.0, 0.0]])
    return TimeLimitMDP(P, R, np.array([0.5, 0.5, 0.0, 0.0]), gamma,
                        np.array([False, False, False, True]), time_limit,
                        name=f"chain to a terminal goal, T={time_limit} (gamma={gamma})")
