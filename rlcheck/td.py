"""Temporal-difference targets: the reference equations behind :func:`rlcheck.checks.check_td_targets`.

Every function is pure, vectorised over a batch of transitions ``(s_t, a_t, r_t, s_{t+1})`` and
keeps ``terminated`` apart from ``truncated``: a transition that *terminated* enters an absorbing
state of value 0 (no bootstrap); one that was *truncated* by a time limit or a rollout's end
still has a successor ``s_{t+1}`` (its true next observation, not the reset observation), whose
value is bootstrapped. Names carry their time index (``r_t``, ``q_tp1`` for ``Q(s_{t+1}, .)``).

========================= ===================================================================
``one_step_target``       ``y_t = r_t + gamma (1 - terminated_t) v_tp1``
``dqn_target``            ``v_tp1 = max_a Q_target(s_{t+1}, a)`` (Mnih et al. 2015)
``double_dqn_target``     ``v_tp1 = Q_target(s_{t+1}, argmax_a Q(s_{t+1}, a))`` (van Hasselt 2016)
``soft_value``            ``v = sum_a pi(a|s) [Q(s, a) - alpha log pi(a|s)]`` (discrete SAC)
``soft_target``           ``y_t`` with the soft value of ``min(Q1', Q2')`` at ``s_{t+1}``
``n_step_targets``        ``G_t^(n)``: up to ``n`` rewards, stopped at an episode's end
========================= ===================================================================
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rlcheck.validation import validate_gamma


def _vector(name: str, x: ArrayLike, size: int | None = None) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 1 or (size is not None and array.shape[0] != size):
        want = "[B]" if size is None else f"[B] = ({size},)"
        raise ValueError(f"{name} must have shape {want}, got {array.shape}")
    return array


def _table(name: str, x: ArrayLike, size: int) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != size:
        raise ValueError(f"{name} must have shape [B, A] with B = {size}, got {array.shape}")
    return array


def one_step_target(r_t: ArrayLike, terminated_t: ArrayLike, v_tp1: ArrayLike, gamma: float) -> np.ndarray:
    """``y_t = r_t + gamma (1 - terminated_t) v_tp1``, shape ``[B]``.

    ``v_tp1`` is the value bootstrapped from ``s_{t+1}``; truncation does not enter: a truncated
    transition bootstraps like any non-terminal one.
    """
    gamma = validate_gamma(gamma)
    r_t = _vector("r_t", r_t)
    alive = 1.0 - _vector("terminated_t", np.asarray(terminated_t, dtype=bool), r_t.size)
    return r_t + gamma * alive * _vector("v_tp1", v_tp1, r_t.size)


def dqn_target(r_t: ArrayLike, terminated_t: ArrayLike, q_target_tp1: ArrayLike, gamma: float) -> np.ndarray:
    """DQN: ``y_t = r_t + gamma (1 - terminated_t) max_a Q_target(s_{t+1}, a)``;
    ``q_target_tp1 [B, A]`` holds the *target* network's values at ``s_{t+1}``."""
    r_t = _vector("r_t", r_t)
    q = _table("q_target_tp1", q_target_tp1, r_t.size)
    return one_step_target(r_t, terminated_t, q.max(axis=1), gamma)


def double_dqn_target(r_t: ArrayLike, terminated_t: ArrayLike, q_online_tp1: ArrayLike,
                      q_target_tp1: ArrayLike, gamma: float) -> np.ndarray:
    """Double DQN: ``a* = argmax_a Q(s_{t+1}, a)`` chosen by the *online* network, evaluated by
    the target network: ``y_t = r_t + gamma (1 - terminated_t) Q_target(s_{t+1}, a*)``."""
    r_t = _vector("r_t", r_t)
    online = _table("q_online_tp1", q_online_tp1, r_t.size)
    target = _table("q_target_tp1", q_target_tp1, r_t.size)
    if online.shape != target.shape:
        raise ValueError(f"q_online_tp1 {online.shape} and q_target_tp1 {target.shape} differ")
    best = online.argmax(axis=1)
    return one_step_target(r_t, terminated_t, target[np.arange(r_t.size), best], gamma)


def soft_value(q: ArrayLike, log_pi: ArrayLike, ent_coef: float) -> np.ndarray:
    """Soft state value of a discrete policy:
    ``V(s) = sum_a pi(a|s) [Q(s, a) - alpha log pi(a|s)] = E_pi[Q] + alpha H(pi(.|s))``.

    ``q`` and ``log_pi`` are ``[B, A]``; entries with ``pi(a|s) = 0`` contribute 0.
    """
    log_pi = np.asarray(log_pi, dtype=np.float64)
    q = _table("q", q, log_pi.shape[0])
    if log_pi.shape != q.shape:
        raise ValueError(f"log_pi must have the shape of q {q.shape}, got {log_pi.shape}")
    pi = np.exp(log_pi)
    return (pi * (q - float(ent_coef) * np.where(pi > 0, log_pi, 0.0))).sum(axis=1)


def soft_target(r_t: ArrayLike, terminated_t: ArrayLike, q1_target_tp1: ArrayLike, q2_target_tp1: ArrayLike,
                log_pi_tp1: ArrayLike, ent_coef: float, gamma: float) -> np.ndarray:
    """Discrete soft actor-critic (Haarnoja et al. 2018; Christodoulou 2019):
    ``y_t = r_t + gamma (1 - terminated_t) sum_a pi(a|s_{t+1}) [min(Q1', Q2')(s_{t+1}, a)
    - alpha log pi(a|s_{t+1})]`` with the twin target networks ``Q1', Q2'``."""
    r_t = _vector("r_t", r_t)
    q = np.minimum(_table("q1_target_tp1", q1_target_tp1, r_t.size),
                   _table("q2_target_tp1", q2_target_tp1, r_t.size))
    return one_step_target(r_t, terminated_t, soft_value(q, log_pi_tp1, ent_coef), gamma)


def n_step_targets(r_t: ArrayLike, terminated_t: ArrayLike, truncated_t: ArrayLike, v_tp1: ArrayLike,
                   gamma: float, n: int) -> np.ndarray:
    """``n``-step targets on one time-ordered segment of ``T`` transitions (one environment).

    With ``m_t = min(n, k_t + 1)``, where ``k_t >= 0`` is the number of steps from ``t`` to the
    first episode end (``terminated`` or ``truncated``) or the segment's last step,

        ``G_t = sum_{k<m_t} gamma^k r_{t+k} + gamma^{m_t} (1 - terminated_{t+m_t-1}) v_tp1[t+m_t-1]``,

    where ``v_tp1[j] = V(s_{j+1})`` is the value of transition ``j``'s own next observation (at a
    truncation, the observation the time limit cut, not the reset one). A window never crosses an
    episode end; after a truncation it bootstraps, after a termination it does not. ``n = 1`` is
    :func:`one_step_target`. The only loop is over the ``n`` window offsets.
    """
    gamma = validate_gamma(gamma)
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    r_t = _vector("r_t", r_t)
    T = r_t.size
    terminated = _vector("terminated_t", np.asarray(terminated_t, dtype=bool), T).astype(bool)
    truncated = _vector("truncated_t", np.asarray(truncated_t, dtype=bool), T).astype(bool)
    v_tp1 = _vector("v_tp1", v_tp1, T)
    ends = terminated | truncated
    ends[-1] = True  # the segment's last step closes every window that reaches it
    targets = np.zeros(T)
    open_ = np.ones(T, dtype=bool)  # window of t still collecting rewards
    t = np.arange(T)
    for k in range(int(n)):
        j = np.minimum(t + k, T - 1)
        targets += np.where(open_, gamma**k * r_t[j], 0.0)
        closes = open_ & (ends[j] | (k == n - 1))
        bootstrap = gamma ** (k + 1) * np.where(terminated[j], 0.0, v_tp1[j])
        targets += np.where(closes, bootstrap, 0.0)
        open_ &= ~closes
    return targets
