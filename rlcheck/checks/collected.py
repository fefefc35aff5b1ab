"""``check_collected_pg``: test data *your* loop collected against the exact policy gradient.

You run your own collection loop (SB3's ``collect_rollouts``, a CleanRL-style loop, a Spinning Up
buffer) on a :class:`~rlcheck.tabular_env.TabularProblem`: its environment (a time limit that
truncates, terminal states that terminate), its policy and its critic. You hand the check what
the loop produced, time-major ``[L, N]`` (``L`` steps of ``N`` environments, each reset at the
start): observations, actions and the per-step weights your algorithm multiplies
``grad log pi(a|s)`` with (advantages, returns minus a baseline). Each env column is one
independent sample of ``g = sum_k grad log pi(a_k|s_k) psi_k``; Hotelling's T² tests
``E[g]`` against :func:`rlcheck.time_limits.rollout_gradient`, which is exact. The whole pipeline
is tested: stepping, reset handling, the time limit, bootstrapping and the advantage code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from rlcheck.checks.guard import guards_user_function
from rlcheck.exact import softmax
from rlcheck.result import CheckResult, combine
from rlcheck.stats import hotelling_test
from rlcheck.tabular_env import TabularProblem, default_problems
from rlcheck.time_limits import rollout_gradient
from rlcheck.validation import validate_alpha

__all__ = ["check_collected_pg", "check_collection_loop"]

MIN_COLUMNS_PER_STATE = 20
"""A state is tested only if at least this many env columns visit it (as in check_pg_weights)."""


def _array(name: str, x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}") from error


def _indices(name: str, x: Any, shape: tuple[int, int], size: int) -> np.ndarray:
    """``[L, N]`` integer indices from ``[L, N]``, ``[L, N, 1]`` or one-hot ``[L, N, size]``."""
    array = _array(name, x)
    if array.ndim == 3 and array.shape[2] == size and size > 1:
        index = array.argmax(axis=2)
        if not np.array_equal(np.eye(size)[index], array):
            raise ValueError(f"{name} [L, N, {size}] must be one-hot")
        array = index.astype(np.float64)
    elif array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.shape != shape:
        raise ValueError(f"{name} must be time-major [L, N] = {shape} (or [L, N, 1], or one-hot), "
                         f"got {_array(name, x).shape}")
    if not np.array_equal(array, np.round(array)) or (array < 0).any() or (array >= size).any():
        raise ValueError(f"{name} must hold integers in [0, {size})")
    return array.astype(np.int64)


def check_collected_pg(problem: TabularProblem, obs: Any, actions: Any, weights: Any, *,
                       alpha: float = 1e-3, seed: int | None = None) -> CheckResult:
    """Test per-step weights collected by your own loop on ``problem`` for bias.

    Args:
        problem: the :class:`~rlcheck.tabular_env.TabularProblem` whose ``make_env()``,
            ``policy()`` (and, if your estimator uses one, ``critic()``) the loop ran with.
        obs: time-major ``[L, N]`` state indices (or ``[L, N, 1]``, or one-hot ``[L, N, S]``):
            the observation each action was taken in; column ``e`` is env ``e`` from its reset.
        actions: ``[L, N]`` (or ``[L, N, 1]``).
        weights: ``[L, N]``, the ``psi_k`` multiplying ``grad log pi(a_k|s_k)`` (advantages,
            bootstrapped returns, returns minus a baseline), numpy or torch.
        alpha: false-alarm probability of the Hotelling test.
        seed: recorded in the result (the data's randomness is your loop's).

    The weights pass when ``E[psi_k | s_k, a_k] = Q(s_k, a_k) - b(s_k)`` for the
    infinite-horizon discounted ``Q`` of :mod:`rlcheck.time_limits` (bootstrap ``V(s')`` after a
    truncation and at the rollout's end, nothing after a termination); ``E[g]`` then equals
    :func:`~rlcheck.time_limits.rollout_gradient`. Truncation stored as termination,
    bootstrapping through termination, and GAE leaking across episodes with misaligned values
    fail. Assumes independent columns (different env seeds) and ``N`` large enough for the CLT
    (hundreds of columns).
    """
    if not isinstance(problem, TabularProblem):
        raise ValueError(f"problem must be a TabularProblem, got {type(problem).__name__}")
    alpha = validate_alpha(alpha)
    psi = _array("weights", weights)
    if psi.ndim == 3 and psi.shape[2] == 1:
        psi = psi[:, :, 0]
    if psi.ndim != 2:
        raise ValueError(f"weights must be time-major [L, N], got shape {psi.shape}")
    if not np.isfinite(psi).all():
        raise ValueError("weights contain a non-finite value")
    L, N = psi.shape
    if N < 2 * MIN_COLUMNS_PER_STATE:
        raise ValueError(f"need at least {2 * MIN_COLUMNS_PER_STATE} env columns (N), got {N}")
    mdp = problem.mdp
    S, A = mdp.n_states, mdp.n_actions
    states = _indices("obs", obs, (L, N), S)
    acts = _indices("actions", actions, (L, N), A)
    if mdp.terminal[states].any():
        raise ValueError("obs holds a terminal state: store the observation each action was taken "
                         "in (after the automatic reset), not the terminal observation")
    probs = softmax(problem.logits)
    # g_e[s, b] = sum_k psi_k 1[s_k = s] (1[a_k = b] - pi(b|s))
    flat = (np.arange(N)[None, :] * S + states) * A + acts
    counts = np.bincount(flat.ravel(), weights=psi.ravel(), minlength=N * S * A).reshape(N, S, A)
    grads = counts - counts.sum(axis=2, keepdims=True) * probs[None]
    exact = rollout_gradient(mdp, problem.logits, L)
    columns_per_state = (states[:, :, None] == np.arange(S)).any(axis=0).sum(axis=0)
    tested = (columns_per_state >= MIN_COLUMNS_PER_STATE) & ~mdp.terminal
    if not tested.any():
        raise ValueError(f"no state is visited by {MIN_COLUMNS_PER_STATE} env columns: collect "
                         "more columns")
    result = hotelling_test(grads[:, tested, :].reshape(N, -1), exact[tested].ravel(),
                            alpha=alpha, name=problem.name, seed=seed)
    mean = grads.mean(axis=0)
    bias = mean - exact
    norm = float(np.linalg.norm(exact))
    scale = float((mean * exact).sum() / norm**2) if norm > 0 else math.nan
    details = {**result.details, "exact_gradient": exact.tolist(), "mean_estimate": mean.tolist(),
               "bias": bias.tolist(), "scale_vs_exact": scale,
               "relative_bias": float(np.linalg.norm(bias) / norm) if norm > 0 else math.nan,
               "n_steps": L, "n_envs": N, "untested_states": np.flatnonzero(~tested).tolist()}
    verdict = (f"{'unbiased' if result.passed else 'BIASED'} on {problem.name}: {result.verdict}; "
               f"mean = {scale:.3g} x exact gradient along it, relative bias "
               f"{details['relative_bias']:.3g}")
    return CheckResult(name="check_collected_pg", passed=result.passed, verdict=verdict,
                       alpha=alpha, p_value=result.p_value, statistic=result.statistic,
                       effect=result.effect, ci=result.ci, n=N,
                       detectable_effect=result.detectable_effect,
                       effect_name=result.effect_name, seed=seed, details=details)


CollectFn = Callable[[TabularProblem, int, int, int], tuple[Any, Any, Any]]


@guards_user_function("collect_fn")
def check_collection_loop(collect_fn: CollectFn, *, alpha: float = 1e-3, seed: int = 0,
                          problems: Sequence[TabularProblem] | None = None, n_envs: int = 1000,
                          n_steps: int = 12) -> CheckResult:
    """Run your collection loop on each problem and test what it collected.

    ``collect_fn(problem, n_envs, n_steps, seed) -> (obs, actions, weights)`` must step
    ``n_envs`` fresh environments from ``problem.make_env()`` for ``n_steps`` steps with
    ``problem.policy()`` (and ``problem.critic()`` if it uses a critic), seeding them from
    ``seed``, and return the time-major ``[n_steps, n_envs]`` arrays that
    :func:`check_collected_pg` takes. The problems default to
    :func:`~rlcheck.tabular_env.default_problems` (a discounted ring cut by a time limit, a chain
    with a terminal goal); each is tested at ``alpha / K`` (Bonferroni over the ``K`` problems).
    """
    alpha = validate_alpha(alpha)
    if not callable(collect_fn):
        raise ValueError(f"collect_fn must be callable, got {type(collect_fn).__name__}")
    problems = tuple(default_problems() if problems is None else problems)
    if not problems:
        raise ValueError("problems must not be empty")
    children = []
    for problem in problems:
        collected = collect_fn(problem, int(n_envs), int(n_steps), int(seed))
        if not isinstance(collected, tuple) or len(collected) != 3:
            raise ValueError("collect_fn must return (obs, actions, weights)")
        child = check_collected_pg(problem, *collected, alpha=alpha / len(problems), seed=seed)
        children.append(replace(child, name=problem.name))
    result = combine("check_collection_loop", children, seed=seed,
                     details={"n_envs": int(n_envs), "n_steps": int(n_steps)})
    worst = min(children, key=lambda c: c.p_value)
    return replace(result, p_value=min(1.0, worst.p_value * len(children)),
                   verdict=f"{result.verdict}; worst: {worst.verdict}")
