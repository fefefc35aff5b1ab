"""``check_dagger``: does a tabular DAgger loop label, aggregate and sample as DAgger must?

DAgger (Ross, Gordon & Bagnell 2011) trains on the states its own policy visits, labelled by the
expert, aggregated over iterations; its cost then grows linearly in the horizon,
``J(pi) <= J(pi*) + u T eps``, where behaviour cloning's can grow as ``T² eps``
(:mod:`rlcheck.compounding`). The check runs your loop on the tightrope MDP
(:func:`~rlcheck.compounding.tightrope_mdp`) with the actions of the fallen state swapped
(:data:`ACTION_PERMUTATION`), so the expert's action depends on the state: 0 on the rope (stay
on), 1 when fallen (climb back). The MDP, the expert and the costs are the tightrope's up to
the names of the actions, so the exact cost bound is unchanged; a loop that labels a state with
another state's expert action (e.g. the label of ``s_{t+1}`` for ``s_t``) now pairs a state
with a wrong action. The check hands your loop an ``eps``-error tabular learner as ``fit`` and
records every call, then tests:

1. *fit calls* (exact): ``fit`` is called once per iteration and the loop returns the last fit.
2. *expert labels* (exact): every action passed to ``fit`` is the expert's action in its state
   (relabelling with the learner's own actions, or with the expert's label of the next state,
   fails).
3. *aggregation* (exact): each call's trajectories contain all of the previous call's (as a
   multiset) plus ``n_trajectories`` new ones (training on the latest data alone fails).
4. *sampling policy* (statistical): the new trajectories of iteration ``i`` visit states as the
   policy of the previous fit does (the expert at iteration 0): one-sample Hotelling T² of the
   per-trajectory visit counts against their exact expectation ``sum_t Pr(s_t = s)``, at
   ``alpha / n_iterations`` each (Bonferroni).
5. *cost bound* (exact): the returned policy's exact cost satisfies the DAgger bound
   ``J(pi*) - J(pi) <= u T eps`` (BC's policy, the first fit, exceeds it on this MDP).

Your loop's signature::

    dagger_fn(mdp: TabularMDP, expert_probs: np.ndarray [S, A] (one-hot rows),
              fit: Callable[[states [N, T] int, actions [N, T] int], probs [S, A]], *,
              n_iterations: int, n_trajectories: int, rng: np.random.Generator)
        -> probs [S, A]

Iteration 0 samples ``n_trajectories`` episodes with the expert (``rlcheck.episodes.sample``);
each later iteration samples ``n_trajectories`` episodes with the current learner policy (no
mixing, beta = 0), labels their states with the expert, aggregates and refits; ``fit`` is
called exactly once per iteration with all data so far.
:func:`rlcheck.compounding.tabular_dagger` is a reference implementation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from rlcheck import exact
from rlcheck.checks.guard import guards_user_function
from rlcheck.compounding import (
    deviation_cost,
    epsilon_learner,
    expert_labels,
    label_counts,
    tightrope_expert,
    tightrope_mdp,
)
from rlcheck.mdp import TabularMDP
from rlcheck.result import CheckResult, combine
from rlcheck.stats import bonferroni, known_covariance_test
from rlcheck.validation import (
    validate_alpha,
    validate_callable,
    validate_positive_int,
    validate_probability,
    validate_seed,
)

__all__ = ["ACTION_PERMUTATION", "DaggerFn", "check_dagger"]

DaggerFn = Callable[..., np.ndarray]
"""``dagger_fn(mdp, expert_probs, fit, *, n_iterations, n_trajectories, rng) -> probs``."""

ACTION_PERMUTATION = np.array([[0, 1], [1, 0]])
"""``ACTION_PERMUTATION[s, a]``: the tightrope's action that the check's action ``a`` is in
state ``s`` (identity on the rope, swapped when fallen)."""


def _permute_actions(mdp: TabularMDP, probs: np.ndarray,
                     permutation: np.ndarray) -> tuple[TabularMDP, np.ndarray]:
    """Rename the actions state by state: action ``a`` in state ``s`` becomes the old action
    ``permutation[s, a]``, i.e. ``P'[s, a] = P[s, perm[s, a]]``, ``R'[s, a] = R[s, perm[s, a]]``
    and ``pi'(a | s) = pi(perm[s, a] | s)``. Values and costs of every policy are unchanged."""
    rows = np.arange(mdp.n_states)[:, None]
    return (replace(mdp, P=mdp.P[rows, permutation], R=mdp.R[rows, permutation]),
            np.asarray(probs)[rows, permutation])


class _RecordingLearner:
    """The ``eps``-error learner handed to the loop as ``fit``; it records every call."""

    def __init__(self, mdp: TabularMDP, epsilon: float, default: np.ndarray) -> None:
        self.mdp, self.epsilon, self.default = mdp, epsilon, default
        self.calls: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __call__(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        s, a = np.asarray(states), np.asarray(actions)
        T = self.mdp.horizon
        if s.ndim != 2 or s.shape[1] != T or a.shape != s.shape:
            raise ValueError(f"fit expects states and actions of shape [N, {T}] (whole "
                             f"trajectories), got {s.shape} and {a.shape}")
        if not (np.issubdtype(s.dtype, np.integer) and np.issubdtype(a.dtype, np.integer)):
            raise ValueError("fit expects integer states and actions")
        counts = label_counts(s, a, self.mdp.n_states, self.mdp.n_actions)
        policy = epsilon_learner(counts, self.epsilon, self.default)
        self.calls.append((s.copy(), a.copy(), policy.copy()))
        return policy


def _rows(states: np.ndarray, actions: np.ndarray) -> Counter[bytes]:
    """The trajectories ``(states, actions)`` of a call as a multiset of byte strings."""
    both = np.ascontiguousarray(np.concatenate([states, actions], axis=1).astype(np.int64))
    return Counter(row.tobytes() for row in both)


def _exact(name: str, passed: bool, verdict: str, **details: object) -> CheckResult:
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=0.0,
                       detectable_effect=0.0, details=details)


def _new_trajectories(prev: tuple[np.ndarray, ...] | None,
                      cur: tuple[np.ndarray, ...]) -> np.ndarray:
    """The state rows of ``cur`` not accounted for by ``prev`` (multiset difference)."""
    if prev is None:
        return cur[0]
    remaining = _rows(prev[0], prev[1])
    keep = []
    for i, row in enumerate(np.concatenate([cur[0], cur[1]], axis=1).astype(np.int64)):
        key = np.ascontiguousarray(row).tobytes()
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            keep.append(i)
    return cur[0][keep]


@guards_user_function("dagger_fn")
def check_dagger(dagger_fn: DaggerFn, *, alpha: float = 1e-3, seed: int = 0,
                 n_iterations: int = 4, n_trajectories: int = 200, horizon: int = 30,
                 epsilon: float = 0.05) -> CheckResult:
    """Check a tabular DAgger loop (signature in the module docstring) on the tightrope MDP.

    Args:
        dagger_fn: your loop.
        alpha: false-failure probability of the statistical part (the exact parts fail a
            correct loop only if no trajectory of the first learner ever falls, probability
            ``(1 - eps)^((T - 1) n_trajectories)``, about 1e-129 at the defaults).
        seed: seed of the ``rng`` handed to the loop.
        n_iterations, n_trajectories, horizon, epsilon: the run's size and the learner's error.
    """
    validate_callable(dagger_fn, "dagger_fn")
    alpha = validate_alpha(alpha)
    seed = validate_seed(seed)
    n_iterations = validate_positive_int(n_iterations, "n_iterations", minimum=2)  # relabelling
    n_trajectories = validate_positive_int(n_trajectories, "n_trajectories")
    horizon = validate_positive_int(horizon, "horizon", minimum=2)
    epsilon = validate_probability(epsilon, "epsilon")
    rope = tightrope_mdp(horizon)
    mdp, expert = _permute_actions(rope, tightrope_expert(), ACTION_PERMUTATION)
    labels = expert_labels(expert)
    # an unseen state's default is the tightrope's action 1 (fall off / stay down), renamed
    _, default = _permute_actions(rope, np.tile([0.0, 1.0], (rope.n_states, 1)),
                                  ACTION_PERMUTATION)
    learner = _RecordingLearner(mdp, epsilon, default)
    returned = np.asarray(dagger_fn(mdp, expert, learner, n_iterations=n_iterations,
                                    n_trajectories=n_trajectories,
                                    rng=np.random.default_rng(seed)), dtype=np.float64)
    calls = learner.calls
    children: list[CheckResult] = []

    ok = len(calls) == n_iterations and returned.shape == expert.shape and bool(
        calls) and np.allclose(returned, calls[-1][2], atol=1e-12)
    children.append(_exact(
        "fit_calls", ok,
        f"fit called {len(calls)} times for {n_iterations} iterations; the returned policy "
        + ("is" if ok else "is not (or the count is wrong)") + " the last fit",
        n_calls=len(calls)))

    wrong = [float((a != labels[s]).mean()) for s, a, _ in calls]
    ok = bool(calls) and max(wrong) == 0.0
    children.append(_exact(
        "expert_labels", ok,
        "every label is the expert's action" if ok else
        f"labels differ from the expert's action in a fraction {max(wrong, default=1):.3g} "
        "of the pairs passed to fit (label each visited state with the expert's action in "
        "that state: not the learner's action, nor the expert's label of another state such "
        "as s_t+1)", wrong_label_fraction=wrong))

    sizes = [len(c[0]) for c in calls]
    contained = [all(_rows(*calls[i][:2])[k] >= v for k, v in _rows(*calls[i - 1][:2]).items())
                 for i in range(1, len(calls))]
    ok = bool(calls) and all(contained) and sizes == [n_trajectories * (i + 1)
                                                      for i in range(len(calls))]
    children.append(_exact(
        "aggregation", ok,
        f"data sizes {sizes} trajectories (expected {n_trajectories} more per iteration); "
        + ("each call keeps all earlier data" if all(contained) else
           "some call dropped earlier data: DAgger must aggregate D = D_0 ∪ ... ∪ D_i"),
        sizes=sizes, keeps_previous=contained))

    a_each = bonferroni(alpha, n_iterations)
    sampling = []
    for i, call in enumerate(calls[:n_iterations]):
        behaviour = expert if i == 0 else calls[i - 1][2]
        new = _new_trajectories(calls[i - 1] if i else None, call)
        expected = exact.state_distributions(mdp, behaviour).sum(axis=0)
        name = f"sampling_policy_iteration_{i}"
        if len(new) < 3:
            sampling.append(CheckResult(name=name, passed=False, alpha=a_each, n=len(new),
                                        verdict=f"only {len(new)} new trajectories"))
            continue
        counts = np.stack([np.bincount(row, minlength=mdp.n_states) for row in new])
        # the exact count covariance: a sampler that never varies where pi does is caught
        sampling.append(known_covariance_test(
            counts, expected, exact.visit_count_covariance(mdp, behaviour), alpha=a_each,
            name=name, seed=seed))
    children.append(combine("sampling_policy", sampling, seed=seed) if sampling else _exact(
        "sampling_policy", False, "fit was never called"))

    if calls:
        u = deviation_cost(mdp, expert)
        j_star = exact.evaluate(mdp, expert)
        excess = j_star - exact.evaluate(mdp, returned if returned.shape == expert.shape
                                         else calls[-1][2])
        bc_excess = j_star - exact.evaluate(mdp, calls[0][2])
        bound = u * horizon * epsilon
        ok = excess <= bound * (1 + 1e-12)
        children.append(CheckResult(
            name="cost_bound", passed=bool(ok), alpha=0.0, statistic=excess, effect=excess,
            effect_name="exact excess cost J(pi*) - J(pi)", detectable_effect=0.0,
            verdict=(f"exact excess cost {excess:.4g} {'<=' if ok else '>'} u T eps = "
                     f"{bound:.4g} (first fit, i.e. BC: {bc_excess:.4g}; BC bound eps T² = "
                     f"{epsilon * horizon**2:.4g})"),
            details={"u": u, "bound": bound, "bc_excess_cost": bc_excess}))

    miss = (1 - epsilon) ** ((horizon - 1) * n_trajectories)
    result = combine("check_dagger", children, seed=seed,
                     details={"horizon": horizon, "epsilon": epsilon,
                              "n_iterations": n_iterations, "n_trajectories": n_trajectories,
                              "exact_parts_false_failure": miss})
    if not result.passed:
        return result
    return replace(result, verdict=(
        "labels, aggregation and sampling policy as DAgger's; exact excess cost within "
        f"u T eps (alpha={alpha:g}; the exact parts fail a correct loop with probability "
        f"{miss:.1e})"))
