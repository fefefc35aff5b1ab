"""Bellman operators of infinite-horizon discounted tabular MDPs, and their exact fixed points.

Arrays follow :class:`~rlcheck.mdp.TabularMDP`: ``P[s, a, s'] = Pr(s' | s, a)`` of shape
``[S, A, S]``, expected rewards ``R[s, a]`` of shape ``[S, A]``, a policy ``pi[s, a] = pi(a|s)``.
The discount must satisfy ``0 <= gamma < 1`` (the horizon is infinite). With the sup norm
``||V||_inf = max_s |V(s)|`` both backups below are gamma-contractions (Bellman 1957; Puterman
1994, Thm 6.2.3), so iterating either converges geometrically to its unique fixed point:

* optimality backup ``(T V)(s) = max_a [R(s,a) + gamma sum_s' P(s'|s,a) V(s')]``, fixed point ``V*``;
* evaluation backup ``(T_pi V)(s) = sum_a pi(a|s) [R(s,a) + gamma sum_s' P(s'|s,a) V(s')]``, fixed
  point ``V_pi``, which also solves the linear system ``(I - gamma P_pi) V_pi = r_pi``.

Value iteration and policy iteration below are the ground truth that checks compare against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rlcheck.validation import validate_distributions, validate_gamma, validate_policy_table


def check_model(P: ArrayLike, R: ArrayLike, gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate an infinite-horizon discounted model; return ``(P, R, gamma)`` as float64.

    Raises:
        ValueError: naming the problem for wrong shapes, rows of ``P`` that are not
            distributions, non-finite rewards, or ``gamma`` outside ``[0, 1)``.
    """
    P = np.asarray(P, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    if P.ndim != 3 or P.shape[0] != P.shape[2]:
        raise ValueError(f"P must have shape [S, A, S], got {P.shape}")
    if R.shape != P.shape[:2]:
        raise ValueError(f"R must have shape [S, A] = {P.shape[:2]} to match P, got {R.shape}")
    validate_distributions("P", P)
    if not np.isfinite(R).all():
        raise ValueError("R contains a non-finite reward")
    gamma = validate_gamma(gamma, infinite_horizon=True)
    return P, R, gamma


def _check_vector(name: str, V: ArrayLike, n_states: int) -> np.ndarray:
    V = np.asarray(V, dtype=np.float64)
    if V.shape != (n_states,):
        raise ValueError(f"{name} must have shape [S] = {(n_states,)}, got {V.shape}")
    if not np.isfinite(V).all():
        raise ValueError(f"{name} contains a non-finite value")
    return V


def q_from_values(P: ArrayLike, R: ArrayLike, gamma: float, V: ArrayLike) -> np.ndarray:
    """One-step lookahead ``Q(s, a) = R(s,a) + gamma sum_s' P(s'|s,a) V(s')``; shape ``[S, A]``."""
    P, R, gamma = check_model(P, R, gamma)
    V = _check_vector("V", V, P.shape[0])
    return R + gamma * (P @ V)


def optimality_backup(P: ArrayLike, R: ArrayLike, gamma: float, V: ArrayLike) -> np.ndarray:
    """Bellman optimality backup ``(T V)(s) = max_a [R(s,a) + gamma sum_s' P(s'|s,a) V(s')]``."""
    return q_from_values(P, R, gamma, V).max(axis=1)


def q_optimality_backup(P: ArrayLike, R: ArrayLike, gamma: float, Q: ArrayLike) -> np.ndarray:
    """Bellman optimality backup on action values,
    ``(T Q)(s, a) = R(s,a) + gamma sum_s' P(s'|s,a) max_a' Q(s', a')``; shape ``[S, A]``."""
    P, R, gamma = check_model(P, R, gamma)
    Q = np.asarray(Q, dtype=np.float64)
    if Q.shape != R.shape:
        raise ValueError(f"Q must have shape [S, A] = {R.shape}, got {Q.shape}")
    return R + gamma * (P @ Q.max(axis=1))


def evaluation_backup(P: ArrayLike, R: ArrayLike, gamma: float, probs: ArrayLike, V: ArrayLike) -> np.ndarray:
    """Policy evaluation backup ``(T_pi V)(s) = sum_a pi(a|s) [R(s,a) + gamma sum_s' P(s'|s,a) V(s')]``."""
    P, R, gamma = check_model(P, R, gamma)
    probs = validate_policy_table(probs, *R.shape)
    return (probs * q_from_values(P, R, gamma, V)).sum(axis=1)


def policy_matrices(P: ArrayLike, R: ArrayLike, probs: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``P_pi[s, s'] = sum_a pi(a|s) P(s'|s,a)`` and ``r_pi[s] = sum_a pi(a|s) R(s,a)``."""
    P = np.asarray(P, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    probs = validate_policy_table(probs, *R.shape)
    return np.einsum("sa,sak->sk", probs, P), (probs * R).sum(axis=1)


def policy_evaluation(P: ArrayLike, R: ArrayLike, gamma: float, probs: ArrayLike) -> np.ndarray:
    """Exact ``V_pi`` by solving the linear system ``(I - gamma P_pi) V = r_pi``; shape ``[S]``.

    ``I - gamma P_pi`` is invertible for ``gamma < 1`` because ``P_pi`` is stochastic (its
    spectral radius is 1), so the solution is unique: ``V_pi = sum_t gamma^t P_pi^t r_pi``.
    """
    P, R, gamma = check_model(P, R, gamma)
    P_pi, r_pi = policy_matrices(P, R, probs)
    return np.linalg.solve(np.eye(P.shape[0]) - gamma * P_pi, r_pi)


def greedy_policy(P: ArrayLike, R: ArrayLike, gamma: float, V: ArrayLike) -> np.ndarray:
    """Deterministic greedy policy ``pi(a|s) = 1[a = argmax_a' Q(s, a')]`` (first maximiser on ties)
    for the lookahead ``Q`` of ``V``, as an ``[S, A]`` array of probabilities."""
    Q = q_from_values(P, R, gamma, V)
    probs = np.zeros_like(Q)
    probs[np.arange(Q.shape[0]), Q.argmax(axis=1)] = 1.0
    return probs


@dataclass(frozen=True)
class Solution:
    """Result of value or policy iteration.

    Attributes:
        values: ``V`` at termination, shape ``[S]``.
        policy: a greedy policy for ``values``, shape ``[S, A]``.
        iterations: number of sweeps (value iteration) or improvement steps (policy iteration).
        errors: ``||V_{k+1} - V_k||_inf`` per sweep (value iteration only; empty otherwise).
    """

    values: np.ndarray
    policy: np.ndarray
    iterations: int
    errors: np.ndarray


def value_iteration(P: ArrayLike, R: ArrayLike, gamma: float, *, tol: float = 1e-12,
                    max_iterations: int = 100_000, V0: ArrayLike | None = None) -> Solution:
    """Iterate ``V_{k+1} = T V_k`` until ``||V_{k+1} - V_k||_inf <= tol (1 - gamma) / (2 gamma)``.

    That stopping rule guarantees ``||V_{k+1} - V*||_inf <= tol / 2`` (contraction bound
    ``||V_{k+1} - V*|| <= gamma / (1 - gamma) ||V_{k+1} - V_k||``).

    Raises:
        RuntimeError: if ``max_iterations`` sweeps do not reach the tolerance.
    """
    P, R, gamma = check_model(P, R, gamma)
    V = np.zeros(P.shape[0]) if V0 is None else _check_vector("V0", V0, P.shape[0])
    threshold = tol * (1.0 - gamma) / (2.0 * gamma) if gamma > 0 else np.inf
    errors = []
    for k in range(1, max_iterations + 1):
        V_next = (R + gamma * (P @ V)).max(axis=1)
        errors.append(float(np.abs(V_next - V).max()))
        V = V_next
        if errors[-1] <= threshold:
            return Solution(V, greedy_policy(P, R, gamma, V), k, np.array(errors))
    raise RuntimeError(f"value iteration did not converge to tol={tol:g} in {max_iterations} sweeps")


def policy_iteration(P: ArrayLike, R: ArrayLike, gamma: float, *, max_iterations: int = 10_000,
                     probs0: ArrayLike | None = None) -> Solution:
    """Howard's policy iteration: exact evaluation ``(I - gamma P_pi) V = r_pi``, then greedy
    improvement, until the greedy policy's lookahead no longer improves ``V`` (by more than
    ``1e-12`` relative, to ignore ties broken by rounding). Terminates in finitely many steps
    with ``V = V*``.
    """
    P, R, gamma = check_model(P, R, gamma)
    S, A = R.shape
    probs = np.full((S, A), 1.0 / A) if probs0 is None else validate_policy_table(probs0, S, A)
    for k in range(1, max_iterations + 1):
        V = policy_evaluation(P, R, gamma, probs)
        Q = R + gamma * (P @ V)
        scale = 1.0 + np.abs(V).max()
        if (Q.max(axis=1) <= V + 1e-12 * scale).all():
            return Solution(V, greedy_policy(P, R, gamma, V), k, np.array([]))
        probs = greedy_policy(P, R, gamma, V)
    raise RuntimeError(f"policy iteration did not stabilise in {max_iterations} steps")


def optimal_values(P: ArrayLike, R: ArrayLike, gamma: float) -> np.ndarray:
    """``V*`` by policy iteration (exact up to the linear solve's rounding)."""
    return policy_iteration(P, R, gamma).values


def optimal_q_values(P: ArrayLike, R: ArrayLike, gamma: float) -> np.ndarray:
    """``Q*(s, a) = R(s,a) + gamma sum_s' P(s'|s,a) V*(s')``; shape ``[S, A]``."""
    return q_from_values(P, R, gamma, optimal_values(P, R, gamma))
