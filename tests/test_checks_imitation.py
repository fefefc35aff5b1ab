"""Tests of rlcheck.checks.check_dagger: passes the reference loop, fails planted bugs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from rlcheck.checks import check_dagger
from rlcheck.compounding import expert_labels, tabular_dagger
from rlcheck.mdp import TabularMDP, sample

Fit = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _failing(result: object) -> set[str]:
    return {child.name for child in result.children if not child.passed}  # type: ignore[attr-defined]


@pytest.mark.statistical(alpha=1e-3)
def test_reference_loop_passes() -> None:
    result = check_dagger(tabular_dagger, alpha=1e-3, seed=0)
    result.assert_passed()
    assert result.alpha == pytest.approx(1e-3)
    assert {c.name for c in result.children} == {
        "fit_calls", "expert_labels", "aggregation", "sampling_policy", "cost_bound"}


def _loop(*, relabel: str = "expert", aggregate: bool = True, behaviour: str = "learner",
          return_first: bool = False) -> Callable[..., np.ndarray]:
    """A tabular DAgger loop with one planted bug selected by the arguments."""
    def dagger_fn(mdp: TabularMDP, expert_probs: np.ndarray, fit: Fit, *, n_iterations: int,
                  n_trajectories: int, rng: np.random.Generator) -> np.ndarray:
        labels = expert_labels(expert_probs)
        batch = sample(mdp, expert_probs, n_trajectories, rng)
        states, actions = batch.states, labels[batch.states]
        policy = first = fit(states, actions)
        for _ in range(n_iterations - 1):
            batch = sample(mdp, policy if behaviour == "learner" else expert_probs,
                           n_trajectories, rng)
            new_actions = labels[batch.states] if relabel == "expert" else batch.actions
            if aggregate:
                states = np.concatenate([states, batch.states])
                actions = np.concatenate([actions, new_actions])
            else:
                states, actions = batch.states, new_actions
            policy = fit(states, actions)
        return first if return_first else policy
    return dagger_fn


@pytest.mark.statistical(alpha=1e-3)
def test_planted_bug_free_variant_passes() -> None:
    check_dagger(_loop(), alpha=1e-3, seed=1).assert_passed()


def test_catches_relabelling_with_the_learners_actions() -> None:
    result = check_dagger(_loop(relabel="learner"), seed=1)
    assert not result.passed
    assert {"expert_labels", "cost_bound"} <= _failing(result)


def test_catches_missing_aggregation() -> None:
    result = check_dagger(_loop(aggregate=False), seed=1)
    assert not result.passed
    assert "aggregation" in _failing(result)


def test_catches_sampling_with_the_expert() -> None:
    result = check_dagger(_loop(behaviour="expert"), seed=1)
    assert not result.passed
    assert {"sampling_policy", "cost_bound"} <= _failing(result)


def test_catches_returning_the_bc_policy() -> None:
    result = check_dagger(_loop(return_first=True), seed=1)
    assert {"fit_calls", "cost_bound"} <= _failing(result)


def test_catches_extra_fit_calls() -> None:
    def twice(mdp: TabularMDP, expert_probs: np.ndarray, fit: Fit, **kwargs: object) -> np.ndarray:
        tabular_dagger(mdp, expert_probs, fit, **kwargs)  # type: ignore[arg-type]
        return tabular_dagger(mdp, expert_probs, fit, **kwargs)  # type: ignore[arg-type]
    assert "fit_calls" in _failing(check_dagger(twice, seed=1))


def test_bad_arguments_and_fit_inputs() -> None:
    with pytest.raises(ValueError, match="n_iterations must be >= 2"):
        check_dagger(tabular_dagger, n_iterations=1)

    def flat(mdp: TabularMDP, expert_probs: np.ndarray, fit: Fit, **kwargs: object) -> np.ndarray:
        return fit(np.zeros(5, dtype=int), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"shape \[N, 30\]"):
        check_dagger(flat)


def test_deterministic_for_a_seed() -> None:
    a = check_dagger(tabular_dagger, seed=3).to_dict()
    b = check_dagger(tabular_dagger, seed=3).to_dict()
    assert a == b
