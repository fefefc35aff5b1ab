"""A value- or policy-iteration solver for gymnasium's ``env.P`` lists, checked against ``V*``.

``solver(env_P, gamma)`` receives a model in gymnasium's toy-text format
(``env_P[s][a] = [(prob, next_state, reward, done), ...]``) and must return the converged optimal
values ``V* [S]``, or ``(V*, policy)`` with a greedy policy as actions ``[S]`` or probabilities
``[S, A]``. rlcheck converts the lists to arrays (:func:`rlcheck.env_model.model_from_env_P`:
``done`` ends the episode, whatever ``next_state`` is) and solves them exactly by policy
iteration. The solver runs on your ``env_P`` (FrozenLake, Taxi, ...) and on random models where
``done`` transitions land in ordinary states, so a solver that bootstraps after ``done`` fails
even when your environment happens to make that harmless (FrozenLake's terminal states are
absorbing with reward 0). Reached through
``check_bellman_backup(solver, env_P=env.unwrapped.P, gamma=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlcheck.bellman import optimal_values, policy_evaluation
from rlcheck.checks.guard import guards_user_function
from rlcheck.env_model import model_from_env_P, random_env_P
from rlcheck.result import CheckResult, combine
from rlcheck.validation import validate_gamma

SolverFn = Callable[[Any, float], Any]

ATOL = 1e-6
"""``|V - V*| <= ATOL (1 + max|V*|)``: a solver iterated to convergence (stopping when a sweep
changes ``V`` by ``1e-8``, say) passes; one stopped early or solving the wrong equation fails."""

_RANDOM_CASES: tuple[tuple[int, int, float], ...] = ((6, 3, 0.9), (10, 4, 0.7))


def _split(output: Any, S: int, A: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(V [S], policy [S, A] or None)`` from the solver's output; ``ValueError`` if malformed."""
    policy = None
    if isinstance(output, tuple):
        if len(output) != 2:
            raise ValueError(f"solver must return V or (V, policy), got a tuple of {len(output)}")
        output, policy = output
    V = np.asarray(output.detach().numpy() if hasattr(output, "detach") else output, dtype=float)
    if V.shape != (S,) or not np.isfinite(V).all():
        raise ValueError(f"solver must return finite values V of shape [S] = ({S},), got "
                         f"{V.shape}")
    if policy is None:
        return V, None
    pi = np.asarray(policy)
    if pi.shape == (S,):
        if not np.issubdtype(pi.dtype, np.integer) or (pi < 0).any() or (pi >= A).any():
            raise ValueError(f"policy [S] must hold actions in [0, {A})")
        pi = np.eye(A)[pi]
    if pi.shape != (S, A) or np.abs(pi.sum(axis=1) - 1.0).max() > 1e-6 or (pi < 0).any():
        raise ValueError(f"policy must be actions [S] or probabilities [S, A] = ({S}, {A})")
    return V, pi.astype(float)


def _check_model(solver: SolverFn, name: str, env_P: Any, gamma: float, alpha: float,
                 seed: int) -> list[CheckResult]:
    P, R = model_from_env_P(env_P)
    S, A = P.shape[0] - 1, P.shape[1]
    V_star = optimal_values(P, R, gamma)[:S]
    tol = ATOL * (1.0 + float(np.abs(V_star).max()))
    details = {"S": S, "A": A, "gamma": gamma, "tolerance": tol}
    try:
        V, pi = _split(solver(env_P, gamma), S, A)
    except Exception as exc:  # the user's solver crashing is a failed check, not ours
        return [CheckResult(name=f"{name}: V*", passed=False, alpha=alpha, seed=seed,
                            details=details, verdict=f"solver raised {type(exc).__name__}: {exc}")]
    err = np.abs(V - V_star)
    worst = int(err.argmax())
    ok = bool(err[worst] <= tol)
    verdict = (f"max |V - V*| = {err[worst]:.3g} <= {tol:.3g}" if ok else
               f"max |V - V*| = {err[worst]:.3g} > {tol:.3g} at state {worst}: got "
               f"{V[worst]:.6g}, V* = {V_star[worst]:.6g} (not converged, or not the Bellman "
               "optimality equation with (1 - done) on the bootstrap)")
    parts = [CheckResult(name=f"{name}: V*", passed=ok, verdict=verdict, alpha=alpha,
                         statistic=float(err[worst]), effect=float(err[worst]),
                         effect_name="max |V - V*|", detectable_effect=tol, n=S, seed=seed,
                         details=details)]
    if pi is not None:
        probs = np.vstack([pi, np.eye(A)[:1]])  # the absorbing state's action is irrelevant
        V_pi = policy_evaluation(P, R, gamma, probs)[:S]
        gap = V_star - V_pi
        bad = int(gap.argmax())
        ok = bool(gap[bad] <= tol)
        verdict = (f"the policy is optimal: max (V* - V_pi) = {gap[bad]:.3g}" if ok else
                   f"the policy is not optimal: V_pi = {V_pi[bad]:.6g} < V* = "
                   f"{V_star[bad]:.6g} at state {bad}")
        parts.append(CheckResult(name=f"{name}: greedy policy", passed=ok, verdict=verdict,
                                 alpha=alpha, statistic=float(gap[bad]), effect=float(gap[bad]),
                                 effect_name="max (V* - V_pi)", detectable_effect=tol, n=S,
                                 seed=seed, details=details))
    return parts


@guards_user_function("solver")
def check_env_P_solver(solver: SolverFn, env_P: Any = None, *, gamma: float = 0.9,
                       alpha: float = 1e-3, seed: int = 0) -> CheckResult:
    """Check ``solver(env_P, gamma) -> V*`` or ``(V*, policy)`` exactly (module docstring).

    Args:
        solver: your value- or policy-iteration solver for ``env.P`` lists.
        env_P: your environment's ``env.unwrapped.P`` (FrozenLake, Taxi, ...), or ``None`` for
            rlcheck's random models only.
        gamma: the discount your solver is given for ``env_P``, in ``[0, 1)``.
        alpha: declared false-failure probability (exact check: a converged solver never fails),
            split over the parts.
        seed: seed of the random models.
    """
    gamma = validate_gamma(gamma, infinite_horizon=True)
    rng = np.random.default_rng(seed)
    models = []
    if env_P is not None:
        model_from_env_P(env_P)  # a malformed env_P raises ValueError naming the entry
        models.append(("env_P", env_P, gamma))
    models += [(f"random env.P [S={S},A={A},gamma={g}]", random_env_P(S, A, rng), g)
               for S, A, g in _RANDOM_CASES]
    share = alpha / (2 * len(models))
    parts = [p for name, model, g in models
             for p in _check_model(solver, name, model, g, share, seed)]
    return combine("check_bellman_backup[env_P solver]", parts, seed=seed,
                   details={"models": [m[0] for m in models], "atol": ATOL})
