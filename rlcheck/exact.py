"""Exact answers for tabular MDPs by dynamic programming: the ground truth of every check.

For a stationary policy ``pi(a|s)`` on a :class:`~rlcheck.mdp.TabularMDP` with horizon ``T``:

* backward pass: ``V_T = 0``, ``Q_t(s,a) = R(s,a) + gamma sum_s' P(s'|s,a) V_{t+1}(s')``,
  ``V_t(s) = sum_a pi(a|s) Q_t(s,a)``;
* forward pass: ``mu_0 = init``, ``mu_{t+1}(s') = sum_s mu_t(s) sum_a pi(a|s) P(s'|s,a)``;
* ``J = E[sum_{t<T} gamma^t r_t] = init . V_0``;
* every trajectory with its probability (:func:`enumerate_trajectories`), which gives the exact
  mean and covariance of any per-episode estimator (:func:`exact_moments`).

``Q_t`` and ``V_t`` restart the discount at ``t``:
``V_t(s) = E[sum_{t'>=t} gamma^(t'-t) r_t' | s_t = s]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from rlcheck.mdp import TabularMDP, TrajectoryBatch, validate_policy
from rlcheck.score import score_function_gradients

Target = Literal["discounted", "causal"]

MAX_ENUMERATED = 2_000_000
"""Largest number of trajectories :func:`enumerate_trajectories` builds."""


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax ``pi(a|s) = exp(theta[s,a]) / sum_b exp(theta[s,b])`` of ``logits [S, A]``,
    computed stably (the row maximum is subtracted first)."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape [S, A], got {logits.shape}")
    if not np.isfinite(logits).all():
        raise ValueError("logits contain a non-finite value")
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def q_values(mdp: TabularMDP, probs: np.ndarray) -> np.ndarray:
    """``Q_t(s, a) = R(s,a) + gamma sum_s' P(s'|s,a) V_{t+1}(s')`` with ``V_T = 0``; shape ``[T, S, A]``."""
    probs = validate_policy(mdp, probs)
    T = mdp.horizon
    Q = np.empty((T, mdp.n_states, mdp.n_actions))
    v_next = np.zeros(mdp.n_states)
    for t in range(T - 1, -1, -1):
        Q[t] = mdp.R + mdp.gamma * (mdp.P @ v_next)
        v_next = (probs * Q[t]).sum(axis=1)
    return Q


def values(mdp: TabularMDP, probs: np.ndarray) -> np.ndarray:
    """``V_t(s) = sum_a pi(a|s) Q_t(s,a) = E[sum_{t'>=t} gamma^(t'-t) r_t' | s_t = s]``; shape ``[T, S]``."""
    return (validate_policy(mdp, probs)[None] * q_values(mdp, probs)).sum(axis=2)


def state_distributions(mdp: TabularMDP, probs: np.ndarray) -> np.ndarray:
    """``mu_t(s) = Pr(s_t = s)``: ``mu_0 = init``, ``mu_{t+1} = mu_t P_pi`` with
    ``P_pi[s, s'] = sum_a pi(a|s) P[s, a, s']``; shape ``[T, S]``."""
    probs = validate_policy(mdp, probs)
    P_pi = np.einsum("sa,sak->sk", probs, mdp.P)
    mu = np.empty((mdp.horizon, mdp.n_states))
    mu[0] = mdp.init
    for t in range(1, mdp.horizon):
        mu[t] = mu[t - 1] @ P_pi
    return mu


def evaluate(mdp: TabularMDP, probs: np.ndarray) -> float:
    """The exact objective ``J = E[sum_{t<T} gamma^t r_t] = sum_s init(s) V_0(s)``."""
    return float(mdp.init @ values(mdp, probs)[0])


def policy_gradient(mdp: TabularMDP, logits: np.ndarray, target: Target = "discounted") -> np.ndarray:
    """Exact gradient-like vector for the softmax policy ``pi = softmax(logits)``, shape ``[S, A]``.

    With ``A_t = Q_t - V_t`` and ``mu_t`` the state distributions,

    * ``target="discounted"``: ``dJ/dtheta[s,a] = sum_t gamma^t mu_t(s) pi(a|s) A_t(s,a)``, the
      gradient of ``J = E[sum_t gamma^t r_t]`` (policy gradient theorem, Sutton et al. 2000).
      REINFORCE with the full discounted return and reward-to-go with absolute discounts
      ``sum_{t'>=t} gamma^t' r_t'`` estimate it without bias.
    * ``target="causal"``: ``sum_t mu_t(s) pi(a|s) A_t(s,a)`` (no ``gamma^t``), the expectation
      of ``sum_t grad log pi(a_t|s_t) sum_{t'>=t} gamma^(t'-t) r_t'``, the reward-to-go most code
      (and CS285) uses. Restarting the discount at every ``t`` drops the factor ``gamma^t``, so
      late steps are over-weighted: for ``gamma < 1`` this is not the gradient of ``J`` (nor of
      any function; Nota & Thomas 2020). For ``gamma = 1`` both targets coincide.

    The derivation uses ``d log pi(a|s) / d theta[s,b] = 1[a=b] - pi(b|s)``, so
    ``sum_a pi(a|s) Q(s,a) d log pi(a|s)/d theta[s,b] = pi(b|s) (Q(s,b) - V(s))``.
    """
    if target not in ("discounted", "causal"):
        raise ValueError(f"target must be 'discounted' or 'causal', got {target!r}")
    probs = softmax(logits)
    if probs.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"logits must have shape [S, A] = {(mdp.n_states, mdp.n_actions)}, got {probs.shape}"
        )
    Q = q_values(mdp, probs)
    V = (probs[None] * Q).sum(axis=2)
    mu = state_distributions(mdp, probs)
    weight = mdp.gamma ** np.arange(mdp.horizon) if target == "discounted" else np.ones(mdp.horizon)
    advantage = Q - V[:, :, None]
    return np.einsum("t,ts,sa,tsa->sa", weight, mu, probs, advantage)


def visit_count_covariance(mdp: TabularMDP, probs: np.ndarray) -> np.ndarray:
    """Covariance ``[S, S]`` of one episode's visit counts ``N_s = sum_{t<T} 1[s_t = s]``.

    ``E[N_s N_s'] = sum_t mu_t(s) 1[s = s'] + sum_{t < u} (mu_t(s) P_pi^{u-t}(s, s')
    + mu_t(s') P_pi^{u-t}(s', s))`` and ``E[N_s] = sum_t mu_t(s)``, with ``P_pi`` the state
    transition matrix under ``pi`` and ``mu_t`` the state distributions."""
    probs = validate_policy(mdp, probs)
    P_pi = np.einsum("sa,sak->sk", probs, mdp.P)
    mu = state_distributions(mdp, probs)
    mean = mu.sum(axis=0)
    second = np.diag(mean)
    step = np.eye(mdp.n_states)
    for lag in range(1, mdp.horizon):
        step = step @ P_pi
        cross = mu[: mdp.horizon - lag].sum(axis=0)[:, None] * step  # sum_t mu_t(s) P^lag(s, s')
        second = second + cross + cross.T
    return second - np.outer(mean, mean)


# ----------------------------------------------------------------------------- exact moments of
# estimators, by enumerating every trajectory

def enumerate_trajectories(mdp: TabularMDP, probs: np.ndarray) -> tuple[TrajectoryBatch, np.ndarray]:
    """Every state-action sequence ``(s_0, a_0, ..., s_{T-1}, a_{T-1})`` of ``mdp`` as one batch,
    with its probability ``init(s_0) prod_t pi(a_t|s_t) prod_{t<T-1} P(s_{t+1}|s_t, a_t)``.

    There are ``(S A)^T`` of them (at most :data:`MAX_ENUMERATED`); ``final_states`` is set to 0
    (no estimator here reads it). Expectations over the batch weighted by the probabilities are
    exact, which turns unbiasedness and variance claims into identities."""
    probs = validate_policy(mdp, probs)
    S, A, T = mdp.n_states, mdp.n_actions, mdp.horizon
    count = (S * A) ** T
    if count > MAX_ENUMERATED:
        raise ValueError(f"{count} trajectories ((S*A)^T with S={S}, A={A}, T={T}) exceed "
                         f"MAX_ENUMERATED = {MAX_ENUMERATED}")
    pairs = np.indices((S * A,) * T).reshape(T, -1).T  # [M, T] of s * A + a
    states, actions = pairs // A, pairs % A
    prob = mdp.init[states[:, 0]] * probs[states, actions].prod(axis=1)
    for t in range(T - 1):
        prob = prob * mdp.P[states[:, t], actions[:, t], states[:, t + 1]]
    V = values(mdp, probs)
    batch = TrajectoryBatch(states=states, actions=actions, rewards=mdp.R[states, actions],
                            gamma=mdp.gamma, values=V[np.arange(T)[None], states],
                            final_states=np.zeros(len(states), dtype=np.int64))
    return batch, prob


def exact_moments(mdp: TabularMDP, logits: np.ndarray,
                  weights_fn: Callable[[TrajectoryBatch], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean ``[S, A]`` and covariance ``[S*A, S*A]`` of the per-episode estimate
    ``g = sum_t grad log pi(a_t|s_t) psi_t`` with ``psi = weights_fn(batch)``, by enumerating every
    trajectory (:func:`enumerate_trajectories`) under ``pi = softmax(logits)``.

    ``weights_fn`` must give each episode weights that depend on that episode only."""
    probs = softmax(logits)
    batch, prob = enumerate_trajectories(mdp, probs)
    g = score_function_gradients(batch, probs, np.asarray(weights_fn(batch), dtype=np.float64))
    g = g.reshape(len(prob), -1)
    mean = prob @ g
    centred = g - mean
    cov = (centred * prob[:, None]).T @ centred
    return mean.reshape(mdp.n_states, mdp.n_actions), cov
