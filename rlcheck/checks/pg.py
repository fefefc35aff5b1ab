"""Check a policy-gradient weighting (returns, reward-to-go, baselines, advantages) for bias.

:func:`check_pg_weights` runs your ``weights_fn`` on episodes sampled from small tabular MDPs
under softmax policies, forms the score-function estimate
``g = mean_i sum_t grad log pi(a_it|s_it) psi_it`` and compares its mean with the exact gradient
from :func:`rlcheck.exact.policy_gradient` (dynamic programming, no sampling) using Hotelling's
T² test, Bonferroni-corrected over the MDPs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlcheck.episodes import sample
from rlcheck.exact import Target, policy_gradient, softmax
from rlcheck.layouts import Layout, as_layout, check_n_envs, in_layout
from rlcheck.mdp import TabularMDP, TrajectoryBatch
from rlcheck.result import CheckResult
from rlcheck.score import score_function_gradients
from rlcheck.stats import bonferroni, hotelling_test
from rlcheck.validation import validate_alpha

WeightsFn = Callable[[TrajectoryBatch], Any]

N_EPISODES = 5000
"""Episodes sampled per MDP (default set and user-given MDPs)."""

MIN_EPISODES_PER_STATE = 20
"""A state is tested only if at least this many episodes visit it: with fewer, its coordinates
have (almost) no sample variance and the CLT behind Hotelling's test does not hold."""


@dataclass(frozen=True)
class PGProblem:
    """One test problem: an MDP, the logits of its softmax policy and a name for messages."""

    name: str
    mdp: TabularMDP
    logits: np.ndarray


def _bandit() -> PGProblem:
    """A repeated two-armed bandit with a small discount: wrong discounting (restarted, missing or
    doubled), scaled or sign-flipped weights and a missing current reward move the mean a lot."""
    P = np.ones((1, 2, 1))
    R = np.array([[0.0, 1.0]])
    return PGProblem("repeated bandit (gamma=0.5, T=8)",
                     TabularMDP(P, R, np.ones(1), 0.5, 8), np.array([[0.0, 0.4]]))


def _chain() -> PGProblem:
    """Two states; action 1 moves to (and action 0 away from) the rewarding state with
    probability 0.9; rewards depend on both state and action: next-state and action-dependent
    baselines are strongly biased here."""
    P = np.zeros((2, 2, 2))
    P[:, 0, 0], P[:, 0, 1] = 0.9, 0.1
    P[:, 1, 1], P[:, 1, 0] = 0.9, 0.1
    R = np.array([[1.0, 0.0], [3.0, 2.0]])
    return PGProblem("two-state chain (gamma=0.8, T=6)",
                     TabularMDP(P, R, np.array([1.0, 0.0]), 0.8, 6),
                     np.array([[0.3, -0.3], [0.0, 0.5]]))


def _steer() -> PGProblem:
    """Undiscounted ring of three states whose reward depends on the state only: the action
    pays off through later rewards, so sums over past rewards (forward cumsums) lose the gradient."""
    P = np.zeros((3, 2, 3))
    for s in range(3):
        P[s, 0, (s + 1) % 3], P[s, 0, s] = 0.8, 0.2
        P[s, 1, s], P[s, 1, (s + 2) % 3] = 0.8, 0.2
    R = np.array([[0.0, 0.0], [2.0, 2.0], [-1.0, -1.0]])
    return PGProblem("steered ring (gamma=1, T=5)",
                     TabularMDP(P, R, np.array([1.0, 0.0, 0.0]), 1.0, 5), np.zeros((3, 2)))


def _random() -> PGProblem:
    """A generic random MDP (sparse Dirichlet(0.3) transitions, rewards N(3, 1): not centred)."""
    rng = np.random.default_rng(7)
    P = rng.dirichlet(0.3 * np.ones(3), size=(3, 3))
    R = rng.standard_normal((3, 3)) + 3.0
    logits = 0.5 * rng.standard_normal((3, 3))
    return PGProblem("random 3x3 MDP (gamma=0.9, T=5)",
                     TabularMDP(P, R, np.ones(3) / 3, 0.9, 5), logits)


def default_problems() -> tuple[PGProblem, ...]:
    """The designed default set: each planted bug in the documentation moves the estimator's mean
    by many standard errors on at least one of these problems."""
    return (_bandit(), _chain(), _steer(), _random())


def _as_problems(mdps: Sequence[Any] | None, rng: np.random.Generator) -> tuple[PGProblem, ...]:
    if mdps is None:
        return default_problems()
    if isinstance(mdps, TabularMDP) or len(mdps) == 0:
        raise ValueError("mdps must be a non-empty sequence of TabularMDP or (TabularMDP, logits)")
    problems = []
    for i, item in enumerate(mdps):
        if isinstance(item, PGProblem):
            problems.append(item)
            continue
        if isinstance(item, TabularMDP):
            mdp, logits = item, None
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            mdp, logits = item
        else:
            mdp = None
        if not isinstance(mdp, TabularMDP):
            raise ValueError(f"mdps[{i}] must be a TabularMDP or a (TabularMDP, logits) pair, "
                             f"got {type(item).__name__}")
        if logits is None:
            logits = rng.standard_normal((mdp.n_states, mdp.n_actions))
        logits = np.asarray(logits, dtype=np.float64)
        if logits.shape != (mdp.n_states, mdp.n_actions):
            raise ValueError(f"logits for mdps[{i}] must have shape "
                             f"{(mdp.n_states, mdp.n_actions)}, got {logits.shape}")
        problems.append(PGProblem(f"mdps[{i}]", mdp, logits))
    return tuple(problems)


def _weights(weights_fn: WeightsFn, batch: TrajectoryBatch, problem: str) -> np.ndarray:
    """Call ``weights_fn`` and validate its output: a finite real ``[N, T]`` array."""
    psi = weights_fn(batch)
    if hasattr(psi, "detach"):  # torch tensor
        psi = psi.detach().cpu().numpy()
    try:
        psi = np.asarray(psi, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"weights_fn must return a real array [N, T]; on {problem} it returned "
                         f"{type(psi).__name__}") from error
    if psi.shape != batch.states.shape:
        raise ValueError(f"weights_fn must return shape [N, T] = {batch.states.shape} (one weight "
                         f"per episode and step); on {problem} it returned {psi.shape}")
    if not np.isfinite(psi).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(psi))[0])
        raise ValueError(f"weights_fn returned a non-finite weight {psi[where]} at [episode, step] "
                         f"= {where} on {problem}")
    return psi


def _check_problem(weights_fn: WeightsFn, problem: PGProblem, target: Target, alpha: float,
                   n: int, rng: np.random.Generator, seed: int) -> CheckResult:
    probs = softmax(problem.logits)
    batch = sample(problem.mdp, probs, n, rng)
    psi = _weights(weights_fn, batch, problem.name)
    grads = score_function_gradients(batch, probs, psi)
    exact = policy_gradient(problem.mdp, problem.logits, target)
    episodes_per_state = (batch.states[:, :, None] == np.arange(problem.mdp.n_states)).any(1).sum(0)
    visited = episodes_per_state >= MIN_EPISODES_PER_STATE
    if not visited.any():
        raise ValueError(f"no state of {problem.name} is visited by {MIN_EPISODES_PER_STATE} of "
                         f"the {n} episodes; raise n_episodes")
    # a (nearly) unvisited state's coordinates are zero in (almost) every sample: not testable
    samples = grads[:, visited, :].reshape(n, -1)
    expected = exact[visited].ravel()
    result = hotelling_test(samples, expected, alpha=alpha, name=problem.name, seed=seed)
    mean = grads.mean(axis=0)
    bias = mean - exact
    norm = float(np.linalg.norm(exact))
    scale = float((mean * exact).sum() / norm**2) if norm > 0 else math.nan
    details = {**result.details, "bias": bias.tolist(), "exact_gradient": exact.tolist(),
               "mean_estimate": mean.tolist(),
               "relative_bias": float(np.linalg.norm(bias) / norm) if norm > 0 else math.nan,
               "scale_vs_exact": scale, "untested_states": np.flatnonzero(~visited).tolist(),
               "gamma": problem.mdp.gamma, "horizon": problem.mdp.horizon}
    verdict = (f"{result.verdict}; mean = {scale:.3g} x exact gradient along it, relative bias "
               f"{details['relative_bias']:.3g}")
    return CheckResult(name=problem.name, passed=result.passed, verdict=verdict, alpha=alpha,
                       p_value=result.p_value, statistic=result.statistic, effect=result.effect,
                       ci=result.ci, n=n, detectable_effect=result.detectable_effect,
                       effect_name=result.effect_name, seed=seed, details=details)


def check_pg_weights(weights_fn: WeightsFn, *, target: Target = "discounted", alpha: float = 1e-3,
                     seed: int = 0, mdps: Sequence[Any] | None = None,
                     n_episodes: int = N_EPISODES, layout: str | Layout = "batch") -> CheckResult:
    """Test whether per-step weights ``psi`` give an unbiased policy-gradient estimator.

    The estimator is ``g = (1/N) sum_i sum_t grad log pi(a_it|s_it) psi_it`` with
    ``psi = weights_fn(batch)``. On each MDP the check samples ``n_episodes`` episodes under a
    softmax policy ``pi = softmax(theta)``, computes the per-episode estimates exactly for that
    policy, and tests ``H0: E[g] = grad`` with Hotelling's T² against the exact ``grad`` of
    :func:`rlcheck.exact.policy_gradient`:

    * ``target="discounted"``: ``grad J`` for ``J = E[sum_t gamma^t r_t]``, estimated without bias
      by the full return (REINFORCE) and by reward-to-go with absolute discounts
      ``sum_{t'>=t} gamma^t' r_t'``, minus any baseline fixed before ``a_t`` is drawn;
    * ``target="causal"``: ``sum_t E[grad log pi(a_t|s_t) Q_t(s_t, a_t)]``, what the usual
      reward-to-go ``sum_{t'>=t} gamma^(t'-t) r_t'`` (CS285, most libraries) estimates.

    Each MDP is tested at level ``alpha / K`` (Bonferroni over the ``K`` MDPs), so a correct
    estimator fails with probability at most ``alpha`` (asymptotically; measured in
    ``tests/test_checks_pg.py`` and the ``causality`` analysis). The default MDPs are designed so
    that a missing current reward, past-only sums, a wrong discount, a scaled or sign-flipped
    weight, an action-dependent baseline and a next-state baseline fail with near certainty.

    Args:
        weights_fn: maps a :class:`~rlcheck.mdp.TrajectoryBatch` (``states``, ``actions``,
            ``rewards`` ``[N, T]``, ``gamma``, exact ``values`` ``V_t(s_t)``) to weights
            ``psi [N, T]`` (numpy array or torch tensor).
        target: ``"discounted"`` or ``"causal"`` (see above).
        alpha: total false-alarm probability of the check.
        seed: seeds the sampling (and the logits drawn for user MDPs given without them).
        mdps: ``None`` for the default set, or a sequence of
            :class:`~rlcheck.mdp.TabularMDP` or ``(TabularMDP, logits [S, A])`` pairs.
        n_episodes: episodes per MDP.
        layout: the layout ``weights_fn`` is written for (see :mod:`rlcheck.layouts`):
            ``"batch"`` (a ``TrajectoryBatch``, weights ``[N, T]``), ``"time_major"`` (a
            ``TimeMajorBatch``, ``[T, n_envs]`` with ``episode_starts``/``dones``, SB3 and
            CleanRL style), ``"flat"`` (a ``FlatBatch`` of concatenated episodes, weights ``[M]``,
            Spinning Up and CS285 style), ``"episodes"`` (a list of ``Episode``, weights one array
            per episode), or a :class:`~rlcheck.layouts.Layout` such as
            ``Layout("time_major", n_envs=4)``. rlcheck converts the episodes in and the weights
            back out.

    Returns:
        A :class:`~rlcheck.result.CheckResult` with one child per MDP. Its ``effect`` is the
        largest per-MDP Mahalanobis distance ``D = sqrt(b^T Sigma^+ b)`` between the estimator's
        mean and the exact gradient (``b`` the bias, ``Sigma`` the per-episode covariance), with the
        CI and detectable effect of that MDP; each child's ``details`` hold the bias vector, the
        relative bias ``|b| / |grad|`` and the mean's scale along the exact gradient (1 when
        unbiased, -1 for a sign flip).

    Raises:
        ValueError: if ``weights_fn`` returns the wrong shape or a non-finite weight, or for bad
            arguments.

    Example (copy into your test suite)::

        import numpy as np
        from rlcheck.checks import check_pg_weights

        def my_reward_to_go(batch):
            # your implementation: sum_{t'>=t} gamma^t' r_t'
            T = batch.rewards.shape[1]
            discounted = batch.rewards * batch.gamma ** np.arange(T)
            return np.flip(np.cumsum(np.flip(discounted, 1), 1), 1)

        # alpha: the chance that a correct implementation fails (keep it small in a test suite)
        def test_reward_to_go_is_unbiased():
            check_pg_weights(my_reward_to_go, alpha=1e-7).assert_passed()

        def test_restarted_reward_to_go_estimates_the_causal_target():
            from rlcheck.pg import reward_to_go
            check_pg_weights(lambda b: reward_to_go(b.rewards, b.gamma), target="causal",
                             alpha=1e-7).assert_passed()
    """
    if target not in ("discounted", "causal"):
        raise ValueError(f"target must be 'discounted' or 'causal', got {target!r}")
    if not callable(weights_fn):
        raise ValueError(f"weights_fn must be callable, got {type(weights_fn).__name__}")
    alpha = validate_alpha(alpha)
    if isinstance(n_episodes, bool) or int(n_episodes) != n_episodes or n_episodes < 10:
        raise ValueError(f"n_episodes must be an integer >= 10, got {n_episodes!r}")
    layout = as_layout(layout)
    if layout.kind == "time_major":
        check_n_envs(int(n_episodes), layout.n_envs)
    weights_fn = in_layout(weights_fn, layout, "weights_fn output")
    rng = np.random.default_rng(seed)
    problems = _as_problems(mdps, rng)
    alpha_each = bonferroni(alpha, len(problems))
    children = tuple(_check_problem(weights_fn, p, target, alpha_each, int(n_episodes), rng, seed)
                     for p in problems)
    passed = all(c.passed for c in children)
    worst = min(children, key=lambda c: (c.p_value, -c.effect))
    failed = [c.name for c in children if not c.passed]
    head = ("unbiased on all " if passed else f"BIASED on {len(failed)} of ") + \
        f"{len(children)} MDPs for target={target!r} at alpha={alpha:g}"
    verdict = f"{head}; worst: {worst.name}: {worst.verdict}"
    return CheckResult(
        name="check_pg_weights", passed=passed, verdict=verdict, alpha=alpha,
        p_value=min(1.0, worst.p_value * len(children)), statistic=worst.statistic,
        effect=max(c.effect for c in children), ci=worst.ci, n=sum(c.n for c in children),
        detectable_effect=max(c.detectable_effect for c in children),
        effect_name="largest Mahalanobis distance of the mean from the exact gradient",
        seed=seed, children=children,
        details={"target": target, "alpha_per_mdp": alpha_each, "failed": failed,
                 "n_episodes_per_mdp": int(n_episodes)},
    )
