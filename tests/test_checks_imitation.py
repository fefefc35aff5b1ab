"""Tests of rlcheck.checks.check_dagger: passes the reference loop, fails planted bugs."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from rlcheck.checks import check_dagger
from rlcheck.compounding import expert_labels, tabular_dagger
from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP

Fit = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _failing(result: object) -> set[str]:
    return {child.name for child in result.children if not child.passed}  # type: ignore[attr-defined]


@pytest.mark.statistical(alpha=1e-7)
def test_reference_loop_passes() -> None:
    result = check_dagger(tabular_dagger, alpha=1e-7, seed=0)
    result.assert_passed()
    assert result.alpha == pytest.approx(1e-7)
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
            if relabel == "next-state":  # s_t paired with the expert's label of s_t+1
                following = np.concatenate([batch.states[:, 1:], batch.final_states[:, None]], 1)
                new_actions = labels[following]
            if aggregate:
                states = np.concatenate([states, batch.states])
                actions = np.concatenate([actions, new_actions])
            else:
                states, actions = batch.states, new_actions
            policy = fit(states, actions)
        return first if return_first else policy
    return dagger_fn


@pytest.mark.statistical(alpha=1e-7)
def test_planted_bug_free_variant_passes() -> None:
    check_dagger(_loop(), alpha=1e-7, seed=1).assert_passed()


def test_catches_relabelling_with_the_learners_actions() -> None:
    result = check_dagger(_loop(relabel="learner"), seed=1)
    assert not result.passed
    assert {"expert_labels", "cost_bound"} <= _failing(result)


def test_catches_labels_of_the_next_state() -> None:
    """The expert's action depends on the state (0 on the rope, 1 fallen), so labelling s_t
    with the expert's label of s_t+1 pairs states with wrong actions where the learner falls."""
    result = check_dagger(_loop(relabel="next-state"), seed=1)
    assert not result.passed
    assert "expert_labels" in _failing(result)
    wrong = next(c for c in result.children if c.name == "expert_labels")
    assert "s_t+1" in wrong.verdict and max(wrong.details["wrong_label_fraction"]) > 0


def test_expert_depends_on_the_state_and_costs_are_the_tightropes() -> None:
    from rlcheck import exact
    from rlcheck.checks.imitation import ACTION_PERMUTATION, _permute_actions
    from rlcheck.compounding import tightrope_expert, tightrope_mdp

    seen: dict[str, np.ndarray] = {}

    def spy(mdp: TabularMDP, expert_probs: np.ndarray, fit: Fit, **kwargs: object) -> np.ndarray:
        seen["expert"] = expert_probs
        return tabular_dagger(mdp, expert_probs, fit, **kwargs)  # type: ignore[arg-type]
    check_dagger(spy, seed=2)
    assert list(expert_labels(seen["expert"])) == [0, 1]
    rope = tightrope_mdp(7)
    rng = np.random.default_rng(0)
    for probs in (tightrope_expert(), rng.dirichlet(np.ones(2), size=2)):
        renamed, renamed_probs = _permute_actions(rope, probs, ACTION_PERMUTATION)
        assert exact.evaluate(renamed, renamed_probs) == pytest.approx(
            exact.evaluate(rope, probs), abs=1e-12)


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
    result = check_dagger(flat)  # a failing user function is a failed check (checks.guard)
    assert not result.passed and re.search(r"shape \[N, 30\]", result.verdict), result.verdict


def test_deterministic_for_a_seed() -> None:
    a = check_dagger(tabular_dagger, seed=3).to_dict()
    b = check_dagger(tabular_dagger, seed=3).to_dict()
    assert a == b
