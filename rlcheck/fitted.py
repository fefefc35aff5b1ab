"""Fitted value and Q iteration: a Bellman backup composed with a regression.

Fitted value iteration alternates a backup ``y = T V_k`` with a fit ``V_{k+1} = M y`` by a
regressor ``M`` (Gordon 1995; Ernst, Geurts & Wehenkel 2005; Riedmiller 2005). Each piece alone
is benign: ``T`` is a gamma-contraction in the sup norm, and the weighted least-squares
projection ``Pi_D = X (X^T D X)^+ X^T D`` is a non-expansion in the data-weighted norm
``||v||_D = sqrt(sum_s d(s) v(s)^2)``. The composition ``Pi_D T`` need not contract in either
norm, because the two pieces contract in different norms; it can diverge (Tsitsiklis & Van Roy
1997; Baird 1995; see :mod:`rlcheck.counterexamples`). Averagers, whose fit is a fixed convex
combination of the targets (state aggregation, k-nearest neighbours, Nadaraya-Watson kernel
smoothing), are sup-norm non-expansions, so ``M T`` is a gamma-contraction and always converges
(Gordon 1995).

The module holds the linear pieces as matrices (for exact analysis) and the sample-based
algorithms: linear FQI with exact least squares, averager FQI with k-nearest neighbours, and a
small neural FQI in torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rlcheck.bellman import check_model
from rlcheck.validation import validate_gamma

# ---------------------------------------------------------------------------------------------
# Regression operators and norms


def _check_features(features: ArrayLike, name: str = "features") -> np.ndarray:
    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape [N, d], got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contain a non-finite value")
    return X


def _check_weights(weights: ArrayLike | None, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    d = np.asarray(weights, dtype=np.float64)
    if d.shape != (n,):
        raise ValueError(f"weights must have shape [N] = ({n},), got {d.shape}")
    if not np.isfinite(d).all() or (d < 0).any() or d.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return d


def least_squares(features: ArrayLike, targets: ArrayLike, weights: ArrayLike | None = None) -> np.ndarray:
    """Weighted least squares ``w = argmin_w sum_i d_i (x_i . w - y_i)^2`` (minimum-norm ``w``
    when the minimiser is not unique); ``features [N, d]``, ``targets [N]``, ``weights [N]``."""
    X = _check_features(features)
    y = np.asarray(targets, dtype=np.float64)
    if y.shape != (X.shape[0],):
        raise ValueError(f"targets must have shape [N] = ({X.shape[0]},), got {y.shape}")
    root = np.sqrt(_check_weights(weights, X.shape[0]))
    return np.linalg.lstsq(root[:, None] * X, root * y, rcond=None)[0]


def projection_matrix(features: ArrayLike, weights: ArrayLike | None = None) -> np.ndarray:
    """The weighted least-squares projection ``Pi_D = X (X^T D X)^+ X^T D``, shape ``[N, N]``:
    fitting targets ``y`` gives fitted values ``Pi_D y``."""
    X = _check_features(features)
    d = _check_weights(weights, X.shape[0])
    return X @ np.linalg.pinv(X.T @ (d[:, None] * X)) @ (X.T * d)


def weighted_norm(v: ArrayLike, weights: ArrayLike | None = None) -> float:
    """``||v||_D = sqrt(sum_i d_i v_i^2)`` (uniform ``d_i = 1/N`` by default)."""
    v = np.asarray(v, dtype=np.float64)
    return float(np.sqrt(_check_weights(weights, v.shape[0]) @ v**2))


def sup_norm_gain(operator: ArrayLike) -> float:
    """Operator norm of a linear map in the sup norm: ``max_i sum_j |M_ij|``. A fit ``M`` is a
    sup-norm non-expansion iff this is ``<= 1``."""
    return float(np.abs(np.asarray(operator, dtype=np.float64)).sum(axis=1).max())


def weighted_norm_gain(operator: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Operator norm of ``M`` in ``||.||_D``: the largest singular value of
    ``D^(1/2) M D^(-1/2)`` (weights must be positive)."""
    M = np.asarray(operator, dtype=np.float64)
    root = np.sqrt(_check_weights(weights, M.shape[0]))
    if (root == 0).any():
        raise ValueError("weighted_norm_gain needs strictly positive weights")
    return float(np.linalg.norm(root[:, None] * M / root[None, :], 2))


# ---------------------------------------------------------------------------------------------
# Averagers (Gordon 1995): fits that are fixed convex combinations of the targets


def is_averager(operator: ArrayLike, atol: float = 1e-12) -> bool:
    """Whether ``M`` is an averager: entries ``>= 0`` and row sums ``<= 1``."""
    M = np.asarray(operator, dtype=np.float64)
    return bool((M >= -atol).all() and (M.sum(axis=1) <= 1.0 + atol).all())


def aggregation_averager(groups: ArrayLike) -> np.ndarray:
    """State aggregation: ``M[i, j] = 1[g_i = g_j] / |{k : g_k = g_i}|`` for labels ``groups [N]``
    (the fit of each point is the mean target of its group)."""
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"groups must have shape [N], got {g.shape}")
    same = (g[:, None] == g[None, :]).astype(np.float64)
    return same / same.sum(axis=1, keepdims=True)


def knn_averager(points: ArrayLike, k: int, queries: ArrayLike | None = None) -> np.ndarray:
    """k-nearest-neighbour smoother: ``M[i, j] = 1/k`` if ``points[j]`` is one of the ``k``
    Euclidean nearest neighbours of ``queries[i]`` (default: the points themselves; ties broken
    by index). Shape ``[n_queries, N]``."""
    X = _check_features(points, "points")
    Z = X if queries is None else _check_features(queries, "queries")
    if not (1 <= int(k) <= X.shape[0]):
        raise ValueError(f"k must lie in [1, N] = [1, {X.shape[0]}], got {k}")
    nearest = knn_indices(X, Z, int(k))
    M = np.zeros((Z.shape[0], X.shape[0]))
    np.put_along_axis(M, nearest, 1.0 / k, axis=1)
    return M


def knn_indices(points: np.ndarray, queries: np.ndarray, k: int, chunk: int = 256) -> np.ndarray:
    """Indices ``[n_queries, k]`` of the ``k`` nearest ``points`` to each query in Euclidean
    distance (ties broken by index), computed ``chunk`` queries at a time to bound memory."""
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    for start in range(0, queries.shape[0], chunk):
        block = queries[start:start + chunk]
        dist = ((block[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
        out[start:start + chunk] = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return out


def kernel_averager(points: ArrayLike, bandwidth: float, queries: ArrayLike | None = None) -> np.ndarray:
    """Nadaraya-Watson smoother with a Gaussian kernel:
    ``M[i, j] = exp(-|z_i - x_j|^2 / (2 h^2)) / sum_l exp(-|z_i - x_l|^2 / (2 h^2))``."""
    X = _check_features(points, "points")
    Z = X if queries is None else _check_features(queries, "queries")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}")
    logits = -((Z[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1) / (2.0 * bandwidth**2)
    logits -= logits.max(axis=1, keepdims=True)
    K = np.exp(logits)
    return K / K.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Fitted value iteration on a tabular model (exact backups, approximate fit)


def fitted_value_iteration(P: ArrayLike, R: ArrayLike, gamma: float, fit: Callable[[np.ndarray], np.ndarray],
                           n_iterations: int, V0: ArrayLike | None = None,
                           probs: ArrayLike | None = None) -> np.ndarray:
    """Iterate ``V_{k+1} = fit(T V_k)`` and return all iterates ``[K + 1, S]``.

    ``T`` is the optimality backup, or the evaluation backup ``T_pi`` if ``probs`` is given;
    ``fit`` maps backed-up targets ``[S]`` to fitted values ``[S]`` (e.g. ``Pi_D @ y`` or an
    averager ``M @ y``). Iterates may overflow to ``inf`` when the composition diverges.
    """
    P, R, gamma = check_model(P, R, gamma)
    S = P.shape[0]
    V = np.zeros(S) if V0 is None else np.asarray(V0, dtype=np.float64)
    if V.shape != (S,):
        raise ValueError(f"V0 must have shape [S] = ({S},), got {V.shape}")
    trace = np.empty((int(n_iterations) + 1, S))
    trace[0] = V
    for k in range(int(n_iterations)):
        Q = R + gamma * (P @ V)
        y = Q.max(axis=1) if probs is None else (np.asarray(probs) * Q).sum(axis=1)
        V = np.asarray(fit(y), dtype=np.float64)
        trace[k + 1] = V
    return trace


def linear_fitted_evaluation(P_pi: ArrayLike, r_pi: ArrayLike, gamma: float, features: ArrayLike,
                             n_iterations: int, w0: ArrayLike,
                             weights: ArrayLike | None = None) -> np.ndarray:
    """Fitted policy evaluation with linear features and exact weighted least squares,
    ``w_{k+1} = argmin_w sum_s d(s) (x(s) . w - r_pi(s) - gamma sum_s' P_pi(s, s') x(s') . w_k)^2``
    (minimum-norm solution); returns the weights ``[K + 1, d]``."""
    X = _check_features(features)
    P_pi = np.asarray(P_pi, dtype=np.float64)
    r_pi = np.asarray(r_pi, dtype=np.float64)
    w = np.asarray(w0, dtype=np.float64)
    trace = np.empty((int(n_iterations) + 1, X.shape[1]))
    trace[0] = w
    for k in range(int(n_iterations)):
        w = least_squares(X, r_pi + gamma * P_pi @ (X @ w), weights)
        trace[k + 1] = w
    return trace


# ---------------------------------------------------------------------------------------------
# Linear TD on a Markov chain (semi-gradient; Sutton 1988, Tsitsiklis & Van Roy 1997)


def stationary_distribution(P_pi: ArrayLike) -> np.ndarray:
    """The stationary distribution ``d = d P_pi`` of a stochastic matrix (unique if the chain is
    irreducible), from the least-squares solution of ``[P_pi^T - I; 1^T] d = [0; 1]``."""
    P_pi = np.asarray(P_pi, dtype=np.float64)
    S = P_pi.shape[0]
    lhs = np.vstack([P_pi.T - np.eye(S), np.ones((1, S))])
    rhs = np.concatenate([np.zeros(S), [1.0]])
    d = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    return np.clip(d, 0.0, None) / np.clip(d, 0.0, None).sum()


def td_matrices(P_pi: ArrayLike, r_pi: ArrayLike, gamma: float, features: ArrayLike,
                weights: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Expected linear TD(0) update ``E[delta x] = A w + b`` under state weighting ``d``:
    ``A = X^T D (gamma P_pi - I) X`` and ``b = X^T D r_pi``."""
    X = _check_features(features)
    D = np.diag(_check_weights(weights, X.shape[0]))
    P_pi = np.asarray(P_pi, dtype=np.float64)
    return X.T @ D @ (gamma * P_pi - np.eye(X.shape[0])) @ X, X.T @ D @ np.asarray(r_pi, float)


def td_fixed_point(P_pi: ArrayLike, r_pi: ArrayLike, gamma: float, features: ArrayLike,
                   weights: ArrayLike) -> np.ndarray:
    """The TD fixed point ``w_TD`` solving ``A w + b = 0``; ``X w_TD = Pi_D (r_pi + gamma P_pi X w_TD)``
    (the projected Bellman equation) when ``D`` is the weighting of the projection."""
    A, b = td_matrices(P_pi, r_pi, gamma, features, weights)
    return np.linalg.solve(A, -b)


def expected_td(P_pi: ArrayLike, r_pi: ArrayLike, gamma: float, features: ArrayLike, weights: ArrayLike,
                step_size: float, n_iterations: int, w0: ArrayLike) -> np.ndarray:
    """Expected semi-gradient TD(0), ``w_{k+1} = w_k + alpha (A w_k + b)``; weights ``[K + 1, d]``."""
    A, b = td_matrices(P_pi, r_pi, gamma, features, weights)
    w = np.asarray(w0, dtype=np.float64)
    trace = np.empty((int(n_iterations) + 1, w.size))
    trace[0] = w
    for k in range(int(n_iterations)):
        w = w + step_size * (A @ w + b)
        trace[k + 1] = w
    return trace


# ---------------------------------------------------------------------------------------------
# Fitted Q iteration from transitions


def _check_transitions(features: ArrayLike, rewards: ArrayLike, next_features: ArrayLike,
                       terminated: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X = _check_features(features)
    N, d = X.shape
    r = np.asarray(rewards, dtype=np.float64)
    Xn = np.asarray(next_features, dtype=np.float64)
    done = np.asarray(terminated)
    if r.shape != (N,):
        raise ValueError(f"rewards must have shape [N] = ({N},), got {r.shape}")
    if Xn.ndim != 3 or Xn.shape[0] != N or Xn.shape[2] != d:
        raise ValueError(f"next_features must have shape [N, A, d] = ({N}, A, {d}), got {Xn.shape}")
    if done.shape != (N,) or done.dtype != bool:
        raise ValueError(f"terminated must be a bool array of shape ({N},), got {done.dtype} {done.shape}")
    return X, r, Xn, done


def fitted_q_iteration_trace(features: ArrayLike, rewards: ArrayLike, next_features: ArrayLike,
                             terminated: ArrayLike, gamma: float, n_iterations: int, *,
                             weights: ArrayLike | None = None, w0: ArrayLike | None = None) -> np.ndarray:
    """Linear fitted Q iteration with exact (weighted) least squares; weights ``[K + 1, d]``.

    ``y_i = r_i + gamma (1 - terminated_i) max_a' phi(s'_i, a') . w_k`` and
    ``w_{k+1} = argmin_w sum_i d_i (phi(s_i, a_i) . w - y_i)^2``, from ``w_0 = 0`` by default.
    Shapes: ``features [N, d]``, ``rewards [N]``, ``next_features [N, A, d]``, ``terminated [N]``.
    """
    X, r, Xn, done = _check_transitions(features, rewards, next_features, terminated)
    gamma = validate_gamma(gamma)
    w = np.zeros(X.shape[1]) if w0 is None else np.asarray(w0, dtype=np.float64)
    trace = np.empty((int(n_iterations) + 1, X.shape[1]))
    trace[0] = w
    for k in range(int(n_iterations)):
        y = r + gamma * np.where(done, 0.0, (Xn @ w).max(axis=1))
        w = least_squares(X, y, weights)
        trace[k + 1] = w
    return trace


def fitted_q_iteration(features: ArrayLike, rewards: ArrayLike, next_features: ArrayLike,
                       terminated: ArrayLike, gamma: float, n_iterations: int) -> np.ndarray:
    """The final weights ``w_K`` of :func:`fitted_q_iteration_trace` (uniform weights, ``w_0 = 0``);
    the signature that :func:`rlcheck.checks.check_fitted_q_iteration` expects."""
    return fitted_q_iteration_trace(features, rewards, next_features, terminated, gamma,
                                    n_iterations)[-1]


@dataclass(frozen=True)
class Transitions:
    """A batch of transitions with continuous observations and discrete actions.

    ``observations [N, obs]``, ``actions [N]`` (int), ``rewards [N]``, ``next_observations
    [N, obs]``, ``terminated [N]`` (bool: no bootstrap). Truncated transitions bootstrap.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray


def knn_fitted_q_iteration(data: Transitions, n_actions: int, gamma: float, k: int,
                           n_iterations: int) -> np.ndarray:
    """Averager FQI with a k-nearest-neighbour fit per action (Gordon 1995; Ormoneit & Sen 2002).

    ``Q_k(x, a)`` is the mean target of the ``k`` nearest training transitions that took action
    ``a``. Writing ``y_k`` for the targets, ``y_{k+1,i} = r_i + gamma (1 - terminated_i)
    max_a mean_{j in N_a(x'_i)} y_{k,j}``: an averager, hence a gamma-contraction in the sup norm,
    so it converges for any data. Returns ``max_i |y_{k,i}|`` per iteration, shape ``[K + 1]``.
    """
    obs = _check_features(data.observations, "observations")
    nxt = _check_features(data.next_observations, "next_observations")
    actions = np.asarray(data.actions)
    neighbours = np.empty((obs.shape[0], n_actions, k), dtype=np.int64)
    for a in range(n_actions):
        members = np.flatnonzero(actions == a)
        if members.size < k:
            raise ValueError(f"action {a} has {members.size} transitions, fewer than k={k}")
        neighbours[:, a] = members[knn_indices(obs[members], nxt, k)]
    y = np.zeros(obs.shape[0])
    sizes = np.empty(int(n_iterations) + 1)
    sizes[0] = 0.0
    for it in range(int(n_iterations)):
        next_q = y[neighbours].mean(axis=2).max(axis=1)
        y = data.rewards + gamma * np.where(data.terminated, 0.0, next_q)
        sizes[it + 1] = np.abs(y).max()
    return sizes


def neural_fitted_q_iteration(data: Transitions, n_actions: int, gamma: float, *,
                              n_iterations: int = 50, steps_per_iteration: int = 100,
                              batch_size: int = 256, lr: float = 1e-3,
                              hidden: tuple[int, ...] = (64, 64), target_network: bool = True,
                              seed: int = 0, progress: bool | None = None) -> dict[str, np.ndarray]:
    """Neural fitted Q iteration (Riedmiller 2005) / DQN-style Q learning on a fixed dataset.

    Each of ``n_iterations`` iterations takes ``steps_per_iteration`` Adam steps on the loss
    ``mean_i (Q_theta(x_i, a_i) - y_i)^2`` over minibatches, with
    ``y_i = r_i + gamma (1 - terminated_i) max_a Q_target(x'_i, a)``. With ``target_network=True``
    ``Q_target`` is a frozen copy of ``Q_theta`` taken at the start of each iteration (FQI);
    with ``False`` it is ``Q_theta`` itself, detached (semi-gradient Q learning, no target net).

    Returns ``q_max [K + 1]`` (``max |Q_theta|`` over the dataset's state-action pairs),
    ``q_mean [K + 1]`` and ``loss [K]`` (mean minibatch loss of each iteration).
    """
    import copy

    import torch

    from rlcheck.distributions import mlp
    from rlcheck.progress import track

    torch_gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        q_net = mlp(data.observations.shape[1], n_actions, hidden=hidden, activation=torch.nn.ReLU)
    obs = torch.as_tensor(data.observations, dtype=torch.float32)
    nxt = torch.as_tensor(data.next_observations, dtype=torch.float32)
    act = torch.as_tensor(data.actions, dtype=torch.int64)
    rew = torch.as_tensor(data.rewards, dtype=torch.float32)
    alive = torch.as_tensor(~np.asarray(data.terminated, dtype=bool), dtype=torch.float32)
    optimiser = torch.optim.Adam(q_net.parameters(), lr=lr)
    N = obs.shape[0]

    def q_stats() -> tuple[float, float]:
        with torch.no_grad():
            q = q_net(obs).gather(1, act[:, None]).squeeze(1)
        return float(q.abs().max()), float(q.mean())

    q_max, q_mean, losses = [q_stats()[0]], [q_stats()[1]], []
    for _ in track(range(int(n_iterations)), desc="neural FQI", disable=progress):
        target_net = copy.deepcopy(q_net) if target_network else q_net
        total = 0.0
        for _ in range(int(steps_per_iteration)):
            idx = torch.randint(N, (batch_size,), generator=torch_gen)
            with torch.no_grad():
                y = rew[idx] + gamma * alive[idx] * target_net(nxt[idx]).max(dim=1).values
            pred = q_net(obs[idx]).gather(1, act[idx, None]).squeeze(1)
            loss = ((pred - y) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
        losses.append(total / steps_per_iteration)
        m, mu = q_stats()
        q_max.append(m)
        q_mean.append(mu)
    return {"q_max": np.array(q_max), "q_mean": np.array(q_mean), "loss": np.array(losses)}
