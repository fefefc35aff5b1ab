"""Policy-gradient weights: returns, reward-to-go, baselines, GAE and advantage normalisation.

Every score-function policy-gradient estimator has the form

    g = (1/N) sum_i sum_t grad log pi(a_it | s_it) psi_it,

and the functions here compute the per-step weights ``psi [N, T]`` from a batch of ``N`` episodes
of length ``T`` (rows are episodes, columns are time; pad finished episodes with zero rewards).
They are vectorised over the batch, take numpy arrays or torch tensors (and return the same type),
and never loop over samples.

Which expectation each weight has (Williams 1992; Sutton et al. 2000; Greensmith, Bartlett &
Baxter 2004; Schulman et al. 2016), with ``J = E[sum_t gamma^t r_t]``:

* ``total_return`` (REINFORCE) and ``reward_to_go(restart=False)``: ``grad J``;
* ``reward_to_go(restart=True)``, ``sum_{t'>=t} gamma^(t'-t) r_t'`` (CS285, most libraries): the
  "causal" target ``sum_t E[grad log pi(a_t|s_t) Q_t(s_t, a_t)]``, which lacks the factor
  ``gamma^t`` and equals ``grad J`` only for ``gamma = 1`` (Nota & Thomas 2020);
* subtracting any baseline ``b_t`` that is fixed before ``a_t`` is drawn (a constant, a function of
  ``(t, s_t)``, or one fitted on *other* episodes) leaves the expectation unchanged, because
  ``E[grad log pi(a_t|s_t) | s_t] = 0``;
* the negative controls :func:`action_dependent_baseline`, :func:`next_state_baseline` and
  :func:`own_return_baseline` depend on ``a_t`` or on the episode's own rewards and are biased.

Longer than 400 lines because every weight ``psi_t`` and every baseline sits beside the others
with the expectation it has, so one page shows which are unbiased and which are not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from rlcheck.validation import validate_gamma

if TYPE_CHECKING:  # torch is optional here: imported only by the type checker
    import torch

Array = TypeVar("Array", NDArray[np.float64], "torch.Tensor")
"""A float numpy array or a torch tensor: each estimator returns the type it was given."""



# ----------------------------------------------------------------------------- helpers

def _is_torch(x: object) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _check_rewards(name: str, rewards: Any) -> Any:
    """Return ``rewards`` as a float array/tensor with a time axis last; ValueError otherwise."""
    if _is_torch(rewards):
        if rewards.ndim < 1:
            raise ValueError(f"{name} must have a time axis [..., T], got a scalar")
        if not rewards.is_floating_point():
            rewards = rewards.double()
        if not bool(rewards.isfinite().all()):
            raise ValueError(f"{name} contains NaN or infinite values")
        return rewards
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.ndim < 1:
        raise ValueError(f"{name} must have a time axis [..., T], got a scalar")
    if not np.isfinite(rewards).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return rewards


def _like(matrix: np.ndarray, x: Any) -> Any:
    """``matrix`` as the array type (and torch dtype/device) of ``x``."""
    if _is_torch(x):
        import torch

        return torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
    return matrix


def discount_matrix(horizon: int, gamma: float, *, restart: bool = True) -> np.ndarray:
    """``M [T, T]`` with ``(r @ M)_t = sum_{t'>=t} gamma^(t'-t) r_t'`` (``restart=True``) or
    ``sum_{t'>=t} gamma^t' r_t'`` (``restart=False``): ``M[t', t] = 1[t' >= t] gamma^(t' - t)``
    or ``1[t' >= t] gamma^t'``. Powers that underflow become 0; ``0^0 = 1``."""
    gamma = validate_gamma(gamma)
    t = np.arange(horizon)
    upper = t[:, None] >= t[None, :]
    exponent = (t[:, None] - t[None, :]) if restart else np.broadcast_to(t[:, None], upper.shape)
    return np.where(upper, gamma ** np.where(upper, exponent, 0).astype(np.float64), 0.0)


# ----------------------------------------------------------------------------- returns

def total_return(rewards: Array, gamma: float, *, per_step: bool = False) -> Array:
    """REINFORCE weight: the discounted return ``G = sum_{t<T} gamma^t r_t`` of each episode.

    Args:
        rewards: ``r_t``, shape ``[..., T]`` (numpy or torch).
        gamma: discount in ``[0, 1]``.
        per_step: return ``psi_t = G`` broadcast to ``[..., T]`` (the weight of every step)
            instead of ``G`` with shape ``[...]``.
    """
    gamma = validate_gamma(gamma)
    r: Any = _check_rewards("rewards", rewards)
    T = r.shape[-1]
    discounts = _like(gamma ** np.arange(T, dtype=np.float64), r)
    G = (r * discounts).sum(-1)
    if not per_step:
        return G
    per_step_return: Any = (G[..., None].expand(r.shape) if _is_torch(G) else
                            np.broadcast_to(G[..., None], r.shape).copy())
    return per_step_return


def reward_to_go(rewards: Array, gamma: float, *, restart: bool = True) -> Array:
    """Reward-to-go ``psi_t = sum_{t'>=t} gamma^(t'-t) r_t'`` (``restart=True``, the discount
    restarts at ``t``: CS285's ``_discounted_reward_to_go``) or ``psi_t = sum_{t'>=t} gamma^t'
    r_t'`` (``restart=False``, absolute discount ``= gamma^t`` times the former).

    Only ``restart=False`` (or ``gamma = 1``) estimates the gradient of ``J = E[sum_t gamma^t
    r_t]``; ``restart=True`` estimates ``sum_t E[grad log pi(a_t|s_t) Q_t(s_t, a_t)]``
    (``target="causal"`` in :func:`rlcheck.exact.policy_gradient`).

    Args:
        rewards: ``r_t``, shape ``[..., T]`` (numpy or torch); pad ended episodes with zeros.
        gamma: discount in ``[0, 1]``.
        restart: restart the discount at every ``t``.

    Returns:
        ``psi`` with the shape and array type of ``rewards``.
    """
    r: Any = _check_rewards("rewards", rewards)
    M = discount_matrix(r.shape[-1], gamma, restart=restart)
    return r @ _like(M, r)


# ----------------------------------------------------------------------------- constant baselines

def mean_baseline(targets: Array, *, leave_one_out: bool = True) -> Array:
    """Batch-mean baseline ``b_i = mean_{j != i} psi_j`` over the episode axis 0, separately for
    every other index (so ``[N, T]`` targets give a per-time-step constant ``b_t``).

    With ``leave_one_out=False`` the mean includes episode ``i`` itself; then
    ``E[g_i (psi_i - b_i)] = (1 - 1/N) E[g_i psi_i]``: a bias of ``-1/N`` times the gradient,
    negligible for large ``N`` but exact zero only for the leave-one-out mean.
    """
    psi: Any = _check_rewards("targets", targets)
    n = psi.shape[0]
    total = psi.sum(0, keepdims=True) if not _is_torch(psi) else psi.sum(0, keepdim=True)
    if not leave_one_out:
        return total / n + 0 * psi
    if n < 2:
        raise ValueError("a leave-one-out mean needs at least 2 episodes")
    return (total - psi) / (n - 1)


def optimal_constant_baseline(weighted_scores: Any, scores: Any, *,
                              per_coordinate: bool = False) -> Any:
    """Variance-minimising constant baseline for ``g(b) = X - b Y`` (Greensmith, Bartlett & Baxter
    2004; Peters & Schaal 2008), where per episode ``X = sum_t grad log pi(a_t|s_t) psi_t`` and
    ``Y = sum_t grad log pi(a_t|s_t)``, so that ``g(b) = sum_t grad log pi (psi_t - b)``.

    Because ``E[Y] = 0``, ``tr Cov g(b) = E||X||^2 - 2 b E[X . Y] + b^2 E||Y||^2 - ||E X||^2`` is
    minimised by ``b* = E[X . Y] / E[||Y||^2]``; for REINFORCE (``X = G Y``) this is the return
    weighted by the squared score norm, ``b* = E[||Y||^2 G] / E[||Y||^2]``. With
    ``per_coordinate=True`` each parameter ``k`` gets its own ``b*_k = E[X_k Y_k] / E[Y_k^2]``.

    Estimate ``b*`` on episodes independent of those it is applied to (e.g. a previous batch or
    another fold): computed from the same episodes it is biased by ``O(1/N)``.

    Args:
        weighted_scores: ``X``, shape ``[N, K...]``.
        scores: ``Y``, same shape.

    Returns:
        A scalar, or an array of shape ``[K...]`` with ``per_coordinate=True``.
    """
    X = np.asarray(weighted_scores, dtype=np.float64)
    Y = np.asarray(scores, dtype=np.float64)
    if X.shape != Y.shape or X.ndim < 1:
        raise ValueError(f"weighted_scores {X.shape} and scores {Y.shape} must share a shape [N, ...]")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise ValueError("weighted_scores or scores contain NaN or infinite values")
    if per_coordinate:
        num, den = (X * Y).mean(0), (Y * Y).mean(0)
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    den = float((Y * Y).sum() / len(Y))
    return float((X * Y).sum() / len(Y) / den) if den > 0 else 0.0


# ----------------------------------------------------------------------------- state baselines

def value_baseline(values: Array, gamma: float, *, restart: bool = True) -> Array:
    """The exact value as a baseline: ``b_t = V_t(s_t)`` matching ``reward_to_go(restart=True)``,
    or ``b_t = gamma^t V_t(s_t)`` matching ``reward_to_go(restart=False)`` (whose weight is
    ``gamma^t`` times the restarted one). Both are unbiased (functions of ``(t, s_t)``); the
    matching one also reduces variance. ``values`` is ``[..., T]`` (e.g. ``batch.values``)."""
    v: Any = _check_rewards("values", values)
    if restart:
        return v
    return v * _like(validate_gamma(gamma) ** np.arange(v.shape[-1], dtype=np.float64), v)


def time_state_baseline(fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                        states: np.ndarray) -> np.ndarray:
    """``b_t = fn(t, s_t)`` for an arbitrary vectorised function of time and state.

    ``fn`` is called once with integer arrays ``t [N, T]`` and ``s [N, T]`` and must return
    ``[N, T]`` finite values. Any such ``b`` leaves the gradient unbiased."""
    states = np.asarray(states)
    if states.ndim != 2:
        raise ValueError(f"states must have shape [N, T], got {states.shape}")
    t = np.broadcast_to(np.arange(states.shape[1]), states.shape)
    b = np.asarray(fn(t, states), dtype=np.float64)
    if b.shape != states.shape:
        raise ValueError(f"fn(t, s) must return shape {states.shape}, got {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError("fn(t, s) returned NaN or infinite values")
    return b


def tabular_features(states: np.ndarray, n_states: int, *, time_dependent: bool = True) -> np.ndarray:
    """One-hot features ``phi(t, s_t)`` of shape ``[N, T, T*S]`` (or ``[N, T, S]`` when
    ``time_dependent=False``): a linear value on them is a table ``V[t, s]`` (or ``V[s]``)."""
    states = np.asarray(states)
    if states.ndim != 2:
        raise ValueError(f"states must have shape [N, T], got {states.shape}")
    if states.size and (states.min() < 0 or states.max() >= n_states):
        raise ValueError(f"states must lie in [0, {n_states}), got range "
                         f"[{states.min()}, {states.max()}]")
    N, T = states.shape
    index = states + (np.arange(T)[None, :] * n_states if time_dependent else 0)
    width = T * n_states if time_dependent else n_states
    features = np.zeros((N, T, width))
    np.put_along_axis(features, index[..., None].astype(np.int64), 1.0, axis=2)
    return features


def fit_value(features: np.ndarray, targets: np.ndarray, *, ridge: float = 1e-6) -> np.ndarray:
    """Least-squares value weights ``w = argmin sum_{i,t} (phi_it . w - y_it)^2 + ridge ||w||^2``
    (``(Phi^T Phi + ridge I) w = Phi^T y``) from features ``[N, T, F]`` and targets ``[N, T]``."""
    features = np.asarray(features, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if features.ndim != 3 or targets.shape != features.shape[:2]:
        raise ValueError(f"features must be [N, T, F] and targets [N, T]; got {features.shape} "
                         f"and {targets.shape}")
    if not (np.isfinite(features).all() and np.isfinite(targets).all()):
        raise ValueError("features or targets contain NaN or infinite values")
    Phi = features.reshape(-1, features.shape[2])
    gram = Phi.T @ Phi + ridge * np.eye(Phi.shape[1])
    return np.linalg.solve(gram, Phi.T @ targets.reshape(-1))


def cross_fitted_value(features: np.ndarray, targets: np.ndarray, *, folds: int = 2,
                       ridge: float = 1e-6) -> np.ndarray:
    """A regression-fitted value baseline ``b_it = phi_it . w_(-k(i))`` whose weights come from
    the episodes outside episode ``i``'s fold (episodes are split into ``folds`` contiguous blocks).

    Cross-fitting keeps the baseline independent of the episode it is subtracted from, so the
    gradient stays exactly unbiased; fitting on all episodes (``folds=1``) makes ``b`` depend on the
    episode's own return, an ``O(1/N)`` bias (large when a table has few visits per cell)."""
    features = np.asarray(features, dtype=np.float64)
    N = features.shape[0]
    if folds == 1:
        return features @ fit_value(features, targets, ridge=ridge)
    if not (2 <= folds <= N):
        raise ValueError(f"folds must lie in [1, N={N}], got {folds}")
    fold = np.arange(N) * folds // N
    out = np.empty(features.shape[:2])
    for k in range(folds):
        inside = fold == k
        w = fit_value(features[~inside], np.asarray(targets)[~inside], ridge=ridge)
        out[inside] = features[inside] @ w
    return out


# ----------------------------------------------------------------------------- GAE

def gae_advantages(rewards: Array, values: Array, gamma: float, lam: float, *,
                   last_values: Any = None, dones: Any = None) -> Array:
    """Generalised advantage estimates (Schulman et al. 2016):
    ``A_t = sum_{l>=0} (gamma lam)^l delta_{t+l}`` with
    ``delta_t = r_t + gamma (1 - d_t) V_{t+1} - V_t``, computed backwards as
    ``A_t = delta_t + gamma lam (1 - d_t) A_{t+1}``.

    ``lam = 1`` gives ``A_t = sum_{t'>=t} gamma^(t'-t) r_t' - V_t`` (Monte-Carlo reward-to-go minus
    the value, exactly, for any ``V``); ``lam = 0`` gives the TD error ``delta_t``.

    Args:
        rewards: ``r_t``, shape ``[N, T]`` (numpy or torch).
        values: ``V_t = V(s_t)``, shape ``[N, T]``.
        gamma: discount in ``[0, 1]``; lam: ``lambda`` in ``[0, 1]``.
        last_values: ``V(s_T)`` of the state after the last column, ``[N]``, used to bootstrap
            episodes cut by a time limit (truncated); default 0 (the episode ended at ``T``).
        dones: ``d_t``, ``[N, T]`` bool: the episode *terminated* at step ``t`` (true terminal:
            no bootstrap from ``V_{t+1}`` and no advantage flows back across it). Truncation is
            not termination: pass the value of the truncated state in ``last_values`` instead.

    Returns:
        ``A`` with shape ``[N, T]`` and the array type of ``rewards``.
    """
    gamma = validate_gamma(gamma)
    lam = float(lam)
    if not (0.0 <= lam <= 1.0):
        raise ValueError(f"lam must lie in [0, 1], got {lam!r}")
    r: Any = _check_rewards("rewards", rewards)
    torch_mode = _is_torch(r)
    v: Any = _check_rewards("values", values)
    if r.ndim != 2 or tuple(v.shape) != tuple(r.shape):
        raise ValueError(f"rewards and values must both be [N, T]; got {tuple(r.shape)} "
                         f"and {tuple(v.shape)}")
    N, T = int(r.shape[0]), int(r.shape[1])
    v_last: Any
    if last_values is None:
        v_last = 0 * v[:, 0]
    else:
        v_last = _check_rewards("last_values", last_values)
        if tuple(v_last.shape) != (N,):
            raise ValueError(f"last_values must have shape [N] = ({N},), got "
                             f"{tuple(v_last.shape)}")
    if dones is None:
        alive = 1.0 + 0 * r
    else:
        dones_np = np.asarray(dones.cpu() if torch_mode and _is_torch(dones) else dones)
        if dones_np.shape != (N, T):
            raise ValueError(f"dones must have shape [N, T] = {(N, T)}, got {dones_np.shape}")
        alive = _like(1.0 - dones_np.astype(np.float64), r)
    later: list[Any] = [v[:, t] for t in range(1, T)]
    next_values = _stack_time([*later, v_last], torch_mode)
    deltas = r + gamma * alive * next_values - v
    return _backward_gae(deltas, gamma * lam * alive, torch_mode)


def gae_advantages_flat(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray,
                        terminated: np.ndarray, episode_end: np.ndarray, gamma: float,
                        lam: float) -> np.ndarray:
    """GAE over a flat buffer of concatenated episodes (all arrays ``[N]``), the same recursion
    as :func:`gae_advantages`: ``delta_t = r_t + gamma (1 - terminated_t) V(s'_t) - V(s_t)`` and
    ``A_t = delta_t + gamma lam (1 - end_t) A_{t+1}``, where ``end_t`` marks the last step of an
    episode (terminated, truncated, or cut by the batch). A truncated step bootstraps from
    ``V(s'_t)``; a terminated one does not."""
    gamma = validate_gamma(gamma)
    rewards, values, next_values = (np.asarray(x, dtype=np.float64)
                                    for x in (rewards, values, next_values))
    terminated = np.asarray(terminated, dtype=bool)
    episode_end = np.asarray(episode_end, dtype=bool)
    n = rewards.shape[0]
    for name, x in (("values", values), ("next_values", next_values), ("terminated", terminated),
                    ("episode_end", episode_end)):
        if x.shape != (n,):
            raise ValueError(f"{name} must have shape [N] = ({n},), got {x.shape}")
    deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    decay = np.where(episode_end, 0.0, gamma * lam)
    result: np.ndarray = _backward_gae(deltas, decay, torch_mode=False)
    return result


def _stack_time(columns: list[Any], torch_mode: bool) -> Any:
    """Columns ``[..., ]`` stacked along a new last (time) axis."""
    if torch_mode:
        import torch

        return torch.stack(columns, dim=-1)
    return np.stack(columns, axis=-1)


def _backward_gae(deltas: Any, decay: Any, torch_mode: bool) -> Any:
    """The GAE recursion along the last (time) axis: ``A_t = delta_t + decay_t A_{t+1}`` with
    ``A_T = 0``, where ``decay_t = gamma lam (1 - d_t)`` cuts the flow at episode ends."""
    T = deltas.shape[-1]
    columns: list[Any] = [None] * T
    running = 0 * deltas[..., -1]
    for t in range(T - 1, -1, -1):
        running = deltas[..., t] + decay[..., t] * running
        columns[t] = running
    return _stack_time(columns, torch_mode)


def normalise_advantages(advantages: Array, eps: float = 1e-8) -> Array:
    """``(A - mean(A)) / (std(A) + eps)`` over the whole batch (PPO's ``norm_adv``).

    This rescales the gradient by ``1/std(A)`` (so its expectation is no longer ``grad J``, only
    parallel to it) and subtracts a batch mean that includes each episode itself (an ``O(1/N)``
    bias): a step-size heuristic, not an unbiased estimator."""
    adv: Any = _check_rewards("advantages", advantages)
    if _is_torch(adv):
        return (adv - adv.mean()) / (adv.std(unbiased=False) + eps)
    return (adv - adv.mean()) / (adv.std() + eps)


# ----------------------------------------------------------------------------- negative controls

def action_dependent_baseline(states: np.ndarray, actions: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Negative control: ``b_t = phi(s_t, a_t)`` for a table ``phi [S, A]``.

    Subtracting it without the correction term ``sum_a grad pi(a|s) phi(s, a)`` biases the
    gradient by ``-sum_t E[sum_a grad pi(a|s_t) phi(s_t, a)]`` (zero only when ``phi(s, .)`` is
    constant in ``a``; Tucker et al. 2018)."""
    phi = np.asarray(phi, dtype=np.float64)
    if phi.ndim != 2:
        raise ValueError(f"phi must have shape [S, A], got {phi.shape}")
    return phi[np.asarray(states), np.asarray(actions)]


def next_state_baseline(values: Array, last_values: Any = None) -> Array:
    """Negative control: ``b_t = V(s_{t+1})`` (``values`` shifted one step left, ``last_values``
    or 0 at the end). ``s_{t+1}`` depends on ``a_t``, so this baseline is action-dependent and
    biased; ``r_t + gamma V(s_{t+1}) - V(s_t)`` (the TD error) is fine, ``psi_t - V(s_{t+1})`` is not."""
    v: Any = _check_rewards("values", values)
    T = v.shape[-1]
    shift = _like(np.eye(T, k=-1), v)  # (v @ shift)_t = v_{t+1}
    out = v @ shift
    if last_values is not None:
        last: Any = _check_rewards("last_values", last_values)
        out = out + last[..., None] * _like(np.eye(T)[-1], v)
    return out


def own_return_baseline(rewards: Array, gamma: float) -> Array:
    """Negative control: ``b_t = G`` where ``G`` is the episode's *own* return, broadcast to
    ``[..., T]``. It depends on every action of the episode: ``total_return - b`` is identically
    zero, and ``reward_to_go(restart=False) - b = -sum_{t'<t} gamma^t' r_t'`` has mean zero; both
    lose the whole gradient."""
    return total_return(rewards, gamma, per_step=True)
