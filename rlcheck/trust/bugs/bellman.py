"""Planted bugs in Bellman backups and fitted Q iteration, for :mod:`rlcheck.checks.bellman`.

A backup maps ``(P [S,A,S], R [S,A], gamma, V [S])`` to ``(T V) [S]`` with
``(T V)(s) = max_a [R(s,a) + gamma sum_s' P(s'|s,a) V(s')]``
(:func:`rlcheck.checks.check_bellman_backup`). A linear FQI maps ``(features [N, d], rewards [N],
next_features [N, A, d], terminated [N], gamma, K)`` to weights ``w [d]`` after ``K`` iterations of
``y = r + gamma (1 - terminated) max_a' phi(s', a') . w`` and a least-squares fit
(:func:`rlcheck.checks.check_fitted_q_iteration`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlcheck.trust.bugs import Must, Mutant


def backup_correct(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    """``max_a R + gamma P V`` in one line (correct)."""
    return (R + gamma * P @ V).max(axis=1)


def backup_loops(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    """Explicit loops over states, actions and next states (correct, slow)."""
    S, A = R.shape
    out = np.empty(S)
    for s in range(S):
        best = -np.inf
        for a in range(A):
            q = R[s, a] + gamma * sum(P[s, a, k] * V[k] for k in range(S))
            best = max(best, q)
        out[s] = best
    return out


def backup_shifted(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    """``max_a [R + gamma P (V - c)] + gamma c`` with ``c = max V`` (correct: rows of P sum to 1)."""
    c = np.max(V)
    return (R + gamma * P @ (V - c)).max(axis=1) + gamma * c


def _backup_min(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return (R + gamma * P @ V).min(axis=1)


def _backup_mean(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return (R + gamma * P @ V).mean(axis=1)


def _backup_no_gamma(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return (R + P @ V).max(axis=1)


def _backup_gamma_on_reward(P: np.ndarray, R: np.ndarray, gamma: float,
                            V: np.ndarray) -> np.ndarray:
    return (gamma * (R + P @ V)).max(axis=1)


def _backup_transposed_P(P: np.ndarray, R: np.ndarray, gamma: float,
                         V: np.ndarray) -> np.ndarray:
    return (R + gamma * np.einsum("kas,k->sa", P, V)).max(axis=1)


def _backup_max_next_state(P: np.ndarray, R: np.ndarray, gamma: float,
                           V: np.ndarray) -> np.ndarray:
    return (R + gamma * V.max()).max(axis=1)


def _backup_argmax(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return (R + gamma * P @ V).argmax(axis=1).astype(np.float64)


def _backup_in_place(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    V_new = V  # aliases the caller's array: a Gauss-Seidel sweep that overwrites its input
    for s in range(len(V_new)):
        V_new[s] = (R[s] + gamma * P[s] @ V_new).max()
    return V_new


def _backup_gamma_squared(P: np.ndarray, R: np.ndarray, gamma: float,
                          V: np.ndarray) -> np.ndarray:
    return (R + gamma * gamma * P @ V).max(axis=1)


def _backup_max_over_states(P: np.ndarray, R: np.ndarray, gamma: float,
                            V: np.ndarray) -> np.ndarray:
    return (R + gamma * P @ V).max(axis=0)


def _backup_returns_q(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return R + gamma * P @ V


def _backup_split_max(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
    return R.max(axis=1) + gamma * (P @ V).max(axis=1)


def _bellman(name: str, description: str, must: Must,
             backup_fn: Callable[..., np.ndarray]) -> Mutant:
    return Mutant(name, description, "bellman", must, "check_bellman_backup", backup_fn)


def backup_mutants() -> list[Mutant]:
    """The Bellman-backup mutants (area ``bellman``)."""
    return [
        _bellman("backup-min", "min over actions instead of max (a cost-minimisation habit)",
                 "catch", _backup_min),
        _bellman("backup-mean", "mean over actions: evaluates the uniform policy instead of "
                 "maximising", "catch", _backup_mean),
        _bellman("backup-no-gamma", "gamma dropped from the bootstrap term", "catch",
                 _backup_no_gamma),
        _bellman("backup-gamma-on-reward", "gamma multiplies the reward too: gamma (R + P V)",
                 "catch", _backup_gamma_on_reward),
        _bellman("backup-transposed-P", "P indexed as P[s', a, s]: the sum runs over the wrong "
                 "axis", "catch", _backup_transposed_P),
        _bellman("backup-max-next-state", "max over next states instead of the expectation "
                 "under P (optimistic dynamics)", "catch", _backup_max_next_state),
        _bellman("backup-argmax", "np.argmax instead of np.max: returns action indices",
                 "catch", _backup_argmax),
        _bellman("backup-split-max", "max_a R + gamma max_a P V: the max split over the sum",
                 "catch", _backup_split_max),
        _bellman("backup-in-place", "V updated in place during the sweep (Gauss-Seidel): later "
                 "states see new values", "catch", _backup_in_place),
        _bellman("backup-gamma-squared", "the discount applied twice: gamma^2 P V", "catch",
                 _backup_gamma_squared),
        _bellman("backup-max-over-states", ".max(axis=0): the max taken over states instead of "
                 "actions", "catch", _backup_max_over_states),
        _bellman("backup-returns-q", "returns Q(s, a) = R + gamma P V without the max over a",
                 "catch", _backup_returns_q),
        _bellman("backup-vectorised", "the one-line vectorised backup", "pass", backup_correct),
        _bellman("backup-loops", "explicit Python loops over s, a, s'", "pass", backup_loops),
        _bellman("backup-shifted", "V shifted by its max for stability and shifted back "
                 "(gamma c)", "pass", backup_shifted),
    ]


def linear_fqi(features: np.ndarray, rewards: np.ndarray, next_features: np.ndarray,
               terminated: np.ndarray, gamma: float, n_iterations: int, *,
               bootstrap: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
               mask_terminal: bool = True, use_gamma: bool = True, extra_iterations: int = 0,
               fit: str = "lstsq", start: float = 0.0) -> np.ndarray:
    """Linear FQI with switches for the planted bugs (all defaults: correct):
    ``y = r + gamma (1 - terminated) max_a' phi(s', a') . w_k``, ``w_{k+1}`` = least squares,
    from ``w_0 = start``.

    ``bootstrap(q_next [N, A], q_here [N]) -> [N]`` replaces ``max_a' q_next``."""
    w = np.full(features.shape[1], float(start))
    continuing = 1.0 - terminated.astype(np.float64) if mask_terminal else 1.0
    discount = gamma if use_gamma else 1.0
    for _ in range(n_iterations + extra_iterations):
        q_next = next_features @ w
        best = q_next.max(axis=1) if bootstrap is None else bootstrap(q_next, features @ w)
        y = rewards + discount * continuing * best
        if fit == "lstsq":
            w = np.linalg.lstsq(features, y, rcond=None)[0]
        elif fit == "pinv":
            w = np.linalg.pinv(features) @ y
        elif fit == "normal-equations":
            w = np.linalg.solve(features.T @ features, features.T @ y)
        elif fit == "ridge":
            w = np.linalg.solve(features.T @ features + 0.1 * np.eye(features.shape[1]),
                                features.T @ y)
        elif fit == "one-gradient-step":
            w = w - 0.5 * features.T @ (features @ w - y) / len(y)
        else:
            raise ValueError(f"unknown fit {fit!r}")
    return w


def _fqi_variant(**switches: Any) -> Callable[..., np.ndarray]:
    def fqi_fn(features: np.ndarray, rewards: np.ndarray, next_features: np.ndarray,
               terminated: np.ndarray, gamma: float, n_iterations: int) -> np.ndarray:
        return linear_fqi(features, rewards, next_features, terminated, gamma, n_iterations,
                    **switches)
    return fqi_fn


def _fqi_mutant(name: str, description: str, must: Must, **switches: Any) -> Mutant:
    return Mutant(name, description, "fitted-iteration", must, "check_fitted_q_iteration",
                  _fqi_variant(**switches))


def fqi_mutants() -> list[Mutant]:
    """The fitted-Q-iteration mutants (area ``fitted-iteration``)."""
    return [
        _fqi_mutant("fqi-mean-not-max", "mean over next actions instead of max (expected SARSA "
                    "under a uniform policy)", "catch",
                    bootstrap=lambda q_next, q_here: q_next.mean(axis=1)),
        _fqi_mutant("fqi-max-without-axis", ".max() without axis: the largest Q over the whole "
                    "batch bootstraps every transition", "catch",
                    bootstrap=lambda q_next, q_here: np.full(len(q_here), q_next.max())),
        _fqi_mutant("fqi-bootstrap-current-state", "bootstraps from Q(s, a) of the current "
                    "transition (obs used where next_obs was meant)", "catch",
                    bootstrap=lambda q_next, q_here: q_here),
        _fqi_mutant("fqi-terminal-not-masked", "terminal transitions bootstrapped: (1 - done) "
                    "forgotten", "catch", mask_terminal=False),
        _fqi_mutant("fqi-no-gamma", "gamma dropped from the target", "catch", use_gamma=False),
        _fqi_mutant("fqi-one-extra-iteration", "an off-by-one loop runs K + 1 iterations",
                    "catch", extra_iterations=1),
        _fqi_mutant("fqi-gradient-step-not-fit", "one gradient step per iteration instead of "
                    "fitting the regression to convergence", "catch", fit="one-gradient-step"),
        _fqi_mutant("fqi-first-action", "bootstraps from the first action's Q(s', 0) instead of "
                    "the max over actions", "catch",
                    bootstrap=lambda q_next, q_here: q_next[:, 0]),
        _fqi_mutant("fqi-max-over-batch-axis", ".max(axis=0)[0]: the max over transitions of "
                    "the first action bootstraps every transition", "catch",
                    bootstrap=lambda q_next, q_here: np.full(len(q_here), q_next.max(axis=0)[0])),
        _fqi_mutant("fqi-nonzero-start", "the weights start at 1 instead of 0, so K iterations "
                    "give another Q_K", "catch", start=1.0),
        _fqi_mutant("fqi-ridge-fit", "a ridge-regularised fit (lambda 0.1) where the check asks "
                    "for exact least squares", "catch", fit="ridge"),
        _fqi_mutant("fqi-lstsq", "linear FQI with np.linalg.lstsq", "pass"),
        _fqi_mutant("fqi-pinv", "the regression through the pseudo-inverse", "pass", fit="pinv"),
        _fqi_mutant("fqi-normal-equations", "the regression through the normal equations",
                    "pass", fit="normal-equations"),
    ]


def mutants() -> list[Mutant]:
    """The backup mutants, then the fitted-Q-iteration mutants."""
    return [*backup_mutants(), *fqi_mutants()]
