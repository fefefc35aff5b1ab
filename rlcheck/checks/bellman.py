"""Checks of a user's Bellman optimality backup and fitted Q iteration against exact answers.

Both checks are exact: they run the user's code on random tabular problems whose answer
:mod:`rlcheck.bellman` computes by linear algebra, and compare to a floating-point tolerance.
A correct implementation therefore fails with probability 0, whatever the seed; ``alpha`` is
the false-failure probability the check declares (it is recorded in the result and split
between the parts, so that flakiness budgets add up) and it bounds that probability trivially.
It does not change the decision.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from rlcheck.bellman import optimal_q_values, optimality_backup, q_optimality_backup
from rlcheck.checks.guard import guards_user_function
from rlcheck.result import CheckResult, combine
from rlcheck.validation import validate_alpha, validate_callable, validate_seed

BackupFn = Callable[[np.ndarray, np.ndarray, float, np.ndarray], np.ndarray]
FQIFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, int], np.ndarray]

RTOL = 1e-8
"""Relative tolerance of the exact comparisons: ``|x - x_ref| <= RTOL (1 + max|x_ref|)``."""

_BACKUP_CASES: tuple[tuple[int, int, float], ...] = (
    (6, 3, 0.9), (3, 5, 0.5), (4, 4, 0.99), (7, 2, 0.75), (1, 3, 0.8),
)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array


def _compare(name: str, call: Callable[[], Any], expected: np.ndarray, alpha: float,
             seed: int, details: dict) -> CheckResult:
    """Run ``call`` and compare its output with ``expected`` to :data:`RTOL`."""
    tol = RTOL * (1.0 + float(np.abs(expected).max()))
    try:
        got = np.asarray(call(), dtype=np.float64)
    except Exception as exc:  # a crash of the user's code is a failed check, not ours
        return CheckResult(name=name, passed=False, alpha=alpha, seed=seed, details=details,
                           verdict=f"raised {type(exc).__name__}: {exc}")
    if got.shape != expected.shape:
        return CheckResult(name=name, passed=False, alpha=alpha, seed=seed, details=details,
                           verdict=f"returned shape {got.shape}, expected {expected.shape}")
    if not np.isfinite(got).all():
        return CheckResult(name=name, passed=False, alpha=alpha, seed=seed, details=details,
                           verdict="returned a non-finite value")
    err = float(np.abs(got - expected).max())
    passed = err <= tol
    where = np.unravel_index(int(np.abs(got - expected).argmax()), expected.shape)
    verdict = (f"max |error| = {err:.3g} <= {tol:.3g}" if passed else
               f"max |error| = {err:.3g} > tolerance {tol:.3g} at index {tuple(map(int, where))}: "
               f"got {float(got[where]):.6g}, expected {float(expected[where]):.6g}")
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha, statistic=err,
                       effect=err, effect_name="max absolute error", detectable_effect=tol,
                       seed=seed, details={**details, "tolerance": tol})


@guards_user_function("backup_fn")
def check_bellman_backup(backup_fn: BackupFn, *, alpha: float = 1e-3, seed: int = 0,
                         env_P: Any = None, gamma: float = 0.9) -> CheckResult:
    """Check a Bellman optimality backup ``backup_fn(P, R, gamma, V) -> V'`` exactly.

    The backup must compute ``V'(s) = max_a [R(s,a) + gamma sum_s' P(s'|s,a) V(s')]`` for
    ``P[s, a, s'] = Pr(s'|s,a)`` of shape ``[S, A, S]``, ``R`` of shape ``[S, A]``, a float
    ``gamma`` and ``V`` of shape ``[S]``, and return an array of shape ``[S]``. It is called on
    random MDPs (Dirichlet transition rows, Gaussian rewards and values) with different numbers
    of states and actions and discounts in ``[0.5, 0.99]``, and each output is compared with
    :func:`rlcheck.bellman.optimality_backup` to a relative tolerance of ``1e-8``. Inputs are
    passed read-only: a backup that writes into them fails. This catches, among others, ``min``
    instead of ``max``, averaging over actions, a dropped or misplaced ``gamma`` (e.g.
    ``gamma (R + P V)``), and a wrongly indexed ``P`` (e.g. ``P[s', a, s]``).

    Args:
        backup_fn: the user's backup.
        alpha: declared false-failure probability, split equally between the cases. The check is
            exact (deterministic up to rounding), so a correct backup fails with probability 0.
        seed: seed of the random MDPs.
        env_P: gymnasium's ``env.unwrapped.P`` lists (FrozenLake, Taxi), or ``"random"``: then
            ``backup_fn`` is a full solver ``solver(env_P, gamma) -> V*`` or ``(V*, policy)``,
            checked against the exact ``V*`` on ``env_P`` and on random models in that format
            (:mod:`rlcheck.checks.solver`).
        gamma: the discount given to the solver with ``env_P``.
    """
    validate_callable(backup_fn, "backup_fn")
    alpha = validate_alpha(alpha)
    seed = validate_seed(seed)
    if env_P is not None:
        from rlcheck.checks.solver import check_env_P_solver

        solver: Any = backup_fn  # with env_P, backup_fn is a solver(env_P, gamma)
        return check_env_P_solver(solver, None if isinstance(env_P, str) and env_P == "random"
                                  else env_P, gamma=gamma, alpha=alpha, seed=seed)
    rng = np.random.default_rng(seed)
    parts = []
    for S, A, gamma in _BACKUP_CASES:
        P = _readonly(rng.dirichlet(np.ones(S), size=(S, A)))
        R = _readonly(rng.standard_normal((S, A)))
        V = _readonly(10.0 * rng.standard_normal(S))
        expected = optimality_backup(P, R, gamma, V)
        parts.append(_compare(
            f"optimality_backup[S={S},A={A},gamma={gamma}]",
            functools.partial(backup_fn, P, R, gamma, V),
            expected, alpha / len(_BACKUP_CASES), seed, {"S": S, "A": A, "gamma": gamma}))
    result = combine("check_bellman_backup", parts, seed=seed)
    return _with_verdict(result, "Bellman optimality backup matches the exact backup")


def _with_verdict(result: CheckResult, ok: str) -> CheckResult:
    from dataclasses import replace

    if result.passed:
        return replace(result, verdict=f"{ok} on all {len(result.children)} random problems")
    return result


def _one_hot_dataset(P: np.ndarray, R: np.ndarray, p_terminal: np.ndarray,
                     rng: np.random.Generator, max_per_pair: int = 6) -> dict[str, np.ndarray]:
    """Transitions covering every ``(s, a)`` 1..max_per_pair times, with noisy rewards and
    termination with probability ``p_terminal[s, a]``, plus the empirical model they define:
    ``P_hat`` over ``S + 1`` states, the last one an absorbing zero-reward terminal state."""
    S, A = R.shape
    counts = rng.integers(1, max_per_pair + 1, size=(S, A))
    states = np.repeat(np.arange(S * A) // A, counts.ravel())
    actions = np.repeat(np.arange(S * A) % A, counts.ravel())
    N = states.size
    terminated = rng.random(N) < p_terminal[states, actions]
    cdf = np.cumsum(P[states, actions], axis=1)
    next_states = np.minimum((cdf <= rng.random(N)[:, None]).sum(axis=1), S - 1)
    rewards = R[states, actions] + rng.standard_normal(N)
    # Empirical model: the least-squares fit of one-hot features averages targets per (s, a).
    P_hat = np.zeros((S + 1, A, S + 1))
    np.add.at(P_hat, (states, actions, np.where(terminated, S, next_states)), 1.0)
    P_hat[:S] /= counts[:, :, None]
    P_hat[S, :, S] = 1.0
    R_hat = np.zeros((S + 1, A))
    np.add.at(R_hat, (states, actions), rewards)
    R_hat[:S] /= counts
    return {"states": states, "actions": actions, "rewards": rewards,
            "next_states": next_states, "terminated": terminated, "P_hat": P_hat, "R_hat": R_hat}


@guards_user_function("fqi_fn")
def check_fitted_q_iteration(fqi_fn: FQIFn, *, alpha: float = 1e-3, seed: int = 0) -> CheckResult:
    """Check a user's linear fitted Q iteration on tabular problems, exactly.

    ``fqi_fn(features, rewards, next_features, terminated, gamma, n_iterations) -> weights``
    receives ``N`` transitions ``(s_i, a_i, r_i, s'_i)``: ``features [N, d]`` = ``phi(s_i, a_i)``,
    ``rewards [N]``, ``next_features [N, A, d]`` = ``phi(s'_i, a')`` for every action ``a'``,
    ``terminated [N]`` (bool; a terminal transition has no successor value), a float ``gamma``
    and an int ``n_iterations`` ``K``. Starting from ``w_0 = 0`` it must run ``K`` iterations of

        ``y_i = r_i + gamma (1 - terminated_i) max_a' phi(s'_i, a') . w_k``,
        ``w_{k+1} = argmin_w sum_i (phi(s_i, a_i) . w - y_i)^2``,

    and return ``w_K`` of shape ``[d]`` (``Q(s, a) = phi(s, a) . w``).

    With tabular features (one-hot in ``(s, a)``, here also in a random invertible basis
    ``phi = onehot @ M``), the least-squares fit averages the targets of each ``(s, a)``, so
    ``Q_K`` is exactly the ``K``-th Bellman optimality iterate of the empirical MDP of the data,
    and it converges to that MDP's ``Q*`` (computed by policy iteration). The check compares
    ``Q_K`` for ``K = 1, 5`` with the exact iterates and for ``K = 400`` (``gamma^K < 1e-17``)
    with the exact ``Q*``, to a relative tolerance of ``1e-8``. It catches a missing max, a
    max over the wrong axis, unmasked terminal transitions, a dropped ``gamma``, weights not
    starting at zero, an off-by-one iteration count, and fits that do not minimise the squared
    error.

    Args:
        fqi_fn: the user's fitted Q iteration.
        alpha: declared false-failure probability, split equally between the parts. The check is
            exact (deterministic up to rounding), so a correct FQI fails with probability 0.
        seed: seed of the random MDPs and datasets.
    """
    validate_callable(fqi_fn, "fqi_fn")
    alpha = validate_alpha(alpha)
    rng = np.random.default_rng(validate_seed(seed))
    cases = ((5, 3, 0.9, "one-hot"), (4, 2, 0.9, "random basis"))
    iteration_counts = (1, 5, 400)
    n_parts = len(cases) * len(iteration_counts)
    parts = []
    for S, A, gamma, basis in cases:
        P = rng.dirichlet(np.ones(S), size=(S, A))
        R = rng.standard_normal((S, A))
        data = _one_hot_dataset(P, R, rng.uniform(0.0, 0.5, size=(S, A)), rng)
        d = S * A
        M = np.eye(d) if basis == "one-hot" else rng.standard_normal((d, d)) + 3.0 * np.eye(d)
        phi_all = M.reshape(S, A, d)  # phi(s, a) = e_{sA+a} @ M
        features = _readonly(phi_all[data["states"], data["actions"]])
        next_features = _readonly(phi_all[data["next_states"]])
        rewards = _readonly(data["rewards"])
        terminated = np.array(data["terminated"], dtype=bool)
        terminated.flags.writeable = False
        P_hat, R_hat = data["P_hat"], data["R_hat"]
        Q_star = optimal_q_values(P_hat, R_hat, gamma)[:S]
        for K in iteration_counts:
            if K >= 100:
                expected = Q_star
            else:
                Q = np.zeros((S + 1, A))
                for _ in range(K):
                    Q = q_optimality_backup(P_hat, R_hat, gamma, Q)
                expected = Q[:S]

            def call(K=K, features=features, next_features=next_features, rewards=rewards,
                     terminated=terminated, gamma=gamma, phi_all=phi_all):
                w = np.asarray(fqi_fn(features, rewards, next_features, terminated, gamma, K),
                               dtype=np.float64)
                if w.shape != (phi_all.shape[-1],):
                    raise ValueError(f"weights must have shape [d] = ({phi_all.shape[-1]},), "
                                     f"got {w.shape}")
                return phi_all @ w

            target = "exact Q*" if K >= 100 else f"exact iterate Q_{K}"
            parts.append(_compare(
                f"fitted_q_iteration[{basis},S={S},A={A},K={K}] vs {target}", call, expected,
                alpha / n_parts, seed,
                {"S": S, "A": A, "gamma": gamma, "K": K, "basis": basis,
                 "n_transitions": int(rewards.size), "n_terminal": int(terminated.sum())}))
    result = combine("check_fitted_q_iteration", parts, seed=seed)
    return _with_verdict(result, "fitted Q iteration with tabular features reaches the exact "
                                 "iterates and Q*")
