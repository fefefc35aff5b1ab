"""The classic divergence examples of approximate dynamic programming, computed exactly.

* Tsitsiklis & Van Roy (1997, IEEE TAC 42(5), Sec. IX; Sutton & Barto 2018, Sec. 11.2): two
  states with features 1 and 2 (values ``w`` and ``2w``), rewards 0. State 1 moves to state 2;
  state 2 stays with probability ``1 - eps`` and terminates with probability ``eps``. Fitted value
  iteration with an exact least-squares fit weighted by ``d = (d1, d2)`` gives
  ``w_{k+1} = gamma (2 d1 + 4 d2 (1 - eps)) / (d1 + 4 d2) w_k``; for uniform ``d`` the factor is
  ``gamma (6 - 4 eps) / 5`` and the iteration diverges iff ``gamma > 5 / (6 - 4 eps)``.
* Baird's star (Baird 1995; Sutton & Barto 2018, Sec. 11.2, Fig. 11.1): seven states, eight
  weights, ``v(i) = 2 w_i + w_8`` for the six upper states and ``v(7) = w_7 + 2 w_8``; rewards
  0, ``gamma = 0.99``. The behaviour policy picks the dashed action (to a uniformly random upper
  state) with probability 6/7 and the solid action (to state 7) with 1/7; the target policy
  always picks solid. Off-policy semi-gradient TD(0) and semi-gradient DP (its expected update
  under the behaviour's uniform state distribution) diverge from ``w_0 = (1,1,1,1,1,1,10,1)``.
  Fitted iteration with an *exact* least-squares fit does not: seven linearly independent
  feature rows represent every value function, so the fit reproduces the targets and
  ``V_{k+1} = gamma V_k(7)``; only partial fits (a few gradient steps per iteration) diverge.

States are numbered from 0 in code (Baird's state 7 is index 6).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rlcheck.fitted import expected_td, least_squares, linear_fitted_evaluation, td_matrices

# ---------------------------------------------------------------------------------------------
# Tsitsiklis & Van Roy (1997)

TVR_FEATURES = np.array([[1.0], [2.0]])
"""Features of the two states: ``v = (w, 2 w)``."""


def _check_eps(eps: float) -> float:
    if not (0.0 <= eps <= 1.0):
        raise ValueError(f"eps must lie in [0, 1], got {eps!r}")
    return float(eps)


def tvr_chain(eps: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Sub-stochastic transition matrix ``P = [[0, 1], [0, 1 - eps]]`` (the missing mass
    ``eps`` of state 2 terminates) and zero rewards ``r = (0, 0)``."""
    eps = _check_eps(eps)
    return np.array([[0.0, 1.0], [0.0, 1.0 - eps]]), np.zeros(2)


def tvr_growth_factor(gamma: float, eps: float = 0.0, weights: ArrayLike = (0.5, 0.5)) -> float:
    """Exact per-iteration factor ``w_{k+1} / w_k = gamma (2 d1 + 4 d2 (1 - eps)) / (d1 + 4 d2)``
    of least-squares fitted value iteration; ``gamma (6 - 4 eps) / 5`` for uniform weights.

    Derivation: the targets are ``y = (2 gamma w_k, 2 gamma (1 - eps) w_k)`` and the weighted fit of
    ``x = (1, 2)`` is ``(d1 y1 + 2 d2 y2) / (d1 + 4 d2)``.
    """
    eps = _check_eps(eps)
    d1, d2 = np.asarray(weights, dtype=np.float64)
    return float(gamma * (2.0 * d1 + 4.0 * d2 * (1.0 - eps)) / (d1 + 4.0 * d2))


def tvr_divergence_threshold(eps: float = 0.0) -> float:
    """The discount above which uniformly weighted fitted value iteration diverges:
    ``gamma > 5 / (6 - 4 eps)`` (no threshold below 1 when ``eps >= 1/4``: returns a value >= 1)."""
    return 5.0 / (6.0 - 4.0 * _check_eps(eps))


def tvr_fitted_iterates(gamma: float, eps: float = 0.0, n_iterations: int = 50, w0: float = 1.0,
                        weights: ArrayLike = (0.5, 0.5)) -> np.ndarray:
    """Weights ``w_0..w_K`` of fitted value iteration on the chain, each fit an explicit weighted
    least-squares solve (:func:`rlcheck.fitted.linear_fitted_evaluation`); shape ``[K + 1]``."""
    P, r = tvr_chain(eps)
    return linear_fitted_evaluation(P, r, gamma, TVR_FEATURES, n_iterations, [w0], weights)[:, 0]


def tvr_tabular_iterates(gamma: float, eps: float = 0.0, n_iterations: int = 50,
                         w0: float = 1.0) -> np.ndarray:
    """Tabular value iteration ``V_{k+1} = gamma P V_k`` on the same chain from ``V_0 = (w0, 2 w0)``;
    ``||V_k||_inf <= gamma^k ||V_0||_inf``. Shape ``[K + 1, 2]``."""
    P, _ = tvr_chain(eps)
    V = np.empty((int(n_iterations) + 1, 2))
    V[0] = TVR_FEATURES[:, 0] * w0
    for k in range(int(n_iterations)):
        V[k + 1] = gamma * P @ V[k]
    return V


def tvr_averager_iterates(gamma: float, eps: float = 0.0, n_iterations: int = 50,
                          w0: float = 1.0) -> np.ndarray:
    """Fitted value iteration with the aggregation averager that gives both states the mean of
    their targets: ``v_{k+1} = gamma (2 - eps) / 2 * v_k``-type updates, computed as
    ``V_{k+1} = M (gamma P V_k)`` with ``M = [[1/2, 1/2], [1/2, 1/2]]``. Shape ``[K + 1, 2]``."""
    P, _ = tvr_chain(eps)
    M = np.full((2, 2), 0.5)
    V = np.empty((int(n_iterations) + 1, 2))
    V[0] = TVR_FEATURES[:, 0] * w0
    for k in range(int(n_iterations)):
        V[k + 1] = M @ (gamma * P @ V[k])
    return V


# ---------------------------------------------------------------------------------------------
# Baird's star counterexample

BAIRD_N_STATES = 7
BAIRD_W0 = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 10.0, 1.0])
"""Sutton & Barto's initial weights."""


def baird_features() -> np.ndarray:
    """Features ``[7, 8]``: ``x(i) = 2 e_i + e_8`` for the upper states ``i = 0..5`` and
    ``x(6) = e_7 + 2 e_8`` (linearly independent rows)."""
    X = np.zeros((7, 8))
    X[np.arange(6), np.arange(6)] = 2.0
    X[:6, 7] = 1.0
    X[6, 6] = 1.0
    X[6, 7] = 2.0
    return X


def baird_target_chain() -> np.ndarray:
    """Transitions of the target policy (always solid): every state moves to state 6."""
    P = np.zeros((7, 7))
    P[:, 6] = 1.0
    return P


def baird_behaviour_chain() -> np.ndarray:
    """Transitions of the behaviour policy (dashed 6/7, solid 1/7): the next state is uniform."""
    return np.full((7, 7), 1.0 / 7.0)


def baird_expected_td_matrix(gamma: float = 0.99, weights: ArrayLike | None = None) -> np.ndarray:
    """``A = X^T D (gamma P_target - I) X`` of the expected off-policy semi-gradient TD(0) update
    ``E_b[rho delta x] = A w`` (rewards are 0), with ``D = diag(d)``; ``d`` uniform by default
    (the behaviour policy's stationary distribution). Importance ratios ``rho = pi / b`` turn the
    behaviour's action distribution into the target's, hence ``P_target``."""
    d = np.full(7, 1.0 / 7.0) if weights is None else np.asarray(weights, dtype=np.float64)
    return td_matrices(baird_target_chain(), np.zeros(7), gamma, baird_features(), d)[0]


def baird_growth_factor(gamma: float = 0.99, step_size: float = 0.01,
                        weights: ArrayLike | None = None) -> float:
    """Spectral radius of ``I + alpha A``: the asymptotic per-sweep growth of ``||w||`` under
    semi-gradient DP (> 1 means divergence from almost every ``w_0``)."""
    A = baird_expected_td_matrix(gamma, weights)
    return float(np.abs(np.linalg.eigvals(np.eye(8) + step_size * A)).max())


def baird_semi_gradient_dp(gamma: float = 0.99, step_size: float = 0.01, n_sweeps: int = 1000,
                           weights: ArrayLike | None = None, w0: ArrayLike = BAIRD_W0) -> np.ndarray:
    """Semi-gradient DP (the expected TD(0) update, Sutton & Barto eq. 11.9 with uniform
    weighting): ``w_{k+1} = w_k + alpha A w_k``. Weights ``[K + 1, 8]``."""
    d = np.full(7, 1.0 / 7.0) if weights is None else np.asarray(weights, dtype=np.float64)
    return expected_td(baird_target_chain(), np.zeros(7), gamma, baird_features(), d,
                       step_size, n_sweeps, w0)


def baird_off_policy_td(gamma: float = 0.99, step_size: float = 0.01, n_steps: int = 1000,
                        n_seeds: int = 10, seed: int = 0, w0: ArrayLike = BAIRD_W0,
                        record_every: int = 1) -> np.ndarray:
    """Stochastic off-policy semi-gradient TD(0) along behaviour trajectories, vectorised over seeds:
    ``w <- w + alpha rho (gamma x(s') . w - x(s) . w) x(s)`` with ``rho = 7`` after a solid action
    and 0 after a dashed one. The first state is uniform. Returns ``||w_t||_2`` of shape
    ``[n_steps // record_every + 1, n_seeds]``."""
    rng = np.random.default_rng(seed)
    X = baird_features()
    w = np.tile(np.asarray(w0, dtype=np.float64), (n_seeds, 1))
    s = rng.integers(0, 7, size=n_seeds)
    norms = [np.linalg.norm(w, axis=1)]
    for t in range(1, int(n_steps) + 1):
        solid = rng.random(n_seeds) < 1.0 / 7.0
        s_next = np.where(solid, 6, rng.integers(0, 6, size=n_seeds))
        rho = np.where(solid, 7.0, 0.0)
        delta = gamma * np.einsum("nd,nd->n", X[s_next], w) - np.einsum("nd,nd->n", X[s], w)
        w = w + (step_size * rho * delta)[:, None] * X[s]
        s = s_next
        if t % record_every == 0:
            norms.append(np.linalg.norm(w, axis=1))
    return np.array(norms)


def baird_fitted_iteration(gamma: float = 0.99, n_iterations: int = 100,
                           inner_steps: int | None = None, step_size: float = 0.01,
                           w0: ArrayLike = BAIRD_W0) -> np.ndarray:
    """Off-policy fitted value iteration on Baird's star with uniform weights: at iteration ``k``
    regress onto the targets ``y(s) = gamma x(6) . w_k`` (the target policy's backup).

    ``inner_steps=None`` fits exactly (minimum-norm least squares); an integer ``m`` takes ``m``
    gradient steps of size ``step_size`` on ``L(w) = (1/2) sum_s d(s) (x(s) . w - y(s))^2``
    starting from ``w_k`` (``m = 1`` is semi-gradient DP). Weights ``[K + 1, 8]``.
    """
    X = baird_features()
    d = np.full(7, 1.0 / 7.0)
    w = np.asarray(w0, dtype=np.float64)
    trace = np.empty((int(n_iterations) + 1, 8))
    trace[0] = w
    for k in range(int(n_iterations)):
        y = np.full(7, gamma * X[6] @ w)
        if inner_steps is None:
            w = least_squares(X, y, d)
        else:
            for _ in range(int(inner_steps)):
                w = w - step_size * X.T @ (d * (X @ w - y))
        trace[k + 1] = w
    return trace


def baird_fitted_iteration_matrix(gamma: float = 0.99, inner_steps: int | None = None,
                                  step_size: float = 0.01) -> np.ndarray:
    """The linear map ``w_k -> w_{k+1}`` of :func:`baird_fitted_iteration`, shape ``[8, 8]``
    (built column by column from the basis vectors). Its spectral radius decides divergence.
    Every partial fit keeps the null direction of ``X`` (weights that change no value) with
    eigenvalue exactly 1; the minimum-norm exact fit removes it."""
    return np.column_stack([
        baird_fitted_iteration(gamma, 1, inner_steps, step_size, w0=e)[1] for e in np.eye(8)
    ])


def spectral_radius(matrix: ArrayLike) -> float:
    """``max |eigenvalue|`` of a square matrix."""
    return float(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=np.float64))).max())
