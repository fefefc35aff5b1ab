"""Planted bugs in tabular DAgger, for :func:`rlcheck.checks.check_dagger`.

A DAgger function maps ``(mdp, expert_probs [S, A], fit(states [N, T], actions [N, T]) -> probs
[S, A], *, n_iterations, n_trajectories, rng)`` to the learner's policy ``probs [S, A]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlcheck.compounding import tabular_dagger
from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP
from rlcheck.trust.bugs import Must, Mutant

DAGGER_BUGS = ("learner-labels", "no-aggregation", "expert-rollouts", "returns-first-fit",
               "beta-stuck", "one-iteration-short", "dataset-doubled", "labels-shifted")
DAGGER_VARIANTS = ("new-data-first", "shuffled")


def dagger_by_hand(mdp: TabularMDP, expert_probs: np.ndarray, fit: Callable[..., np.ndarray], *,
                   n_iterations: int, n_trajectories: int, rng: np.random.Generator,
                   bug: str | None = None, variant: str | None = None) -> np.ndarray:
    """Tabular DAgger written out (``bug=None``: correct): roll out the current policy, label
    the visited states with the expert, aggregate, refit; one of :data:`DAGGER_BUGS` or a
    correct :data:`DAGGER_VARIANTS` on request."""

    if bug is not None and bug not in DAGGER_BUGS:
        raise ValueError(f"unknown DAgger bug {bug!r}; known: {DAGGER_BUGS}")
    labels = expert_probs.argmax(axis=1)
    first = sample(mdp, expert_probs, n_trajectories, rng)
    data_states, data_actions = first.states, labels[first.states]
    policy = first_fit = fit(data_states, data_actions)
    extra = -1 if bug == "one-iteration-short" else 0
    for _ in range(n_iterations - 1 + extra):
        behaviour = policy
        if bug == "expert-rollouts":
            behaviour = expert_probs
        elif bug == "beta-stuck":  # beta = 0.5 in every iteration, never decayed to 0
            behaviour = 0.5 * expert_probs + 0.5 * policy
        batch = sample(mdp, behaviour, n_trajectories, rng)
        new_actions = batch.actions if bug == "learner-labels" else labels[batch.states]
        if bug == "labels-shifted":  # s_t paired with the expert's label of s_{t+1}
            following = np.concatenate([batch.states[:, 1:], batch.final_states[:, None]], 1)
            new_actions = labels[following]
        if bug == "no-aggregation":
            data_states, data_actions = batch.states, new_actions
        elif bug == "dataset-doubled":
            data_states = np.concatenate([data_states, data_states, batch.states])
            data_actions = np.concatenate([data_actions, data_actions, new_actions])
        elif variant == "new-data-first":
            data_states = np.concatenate([batch.states, data_states])
            data_actions = np.concatenate([new_actions, data_actions])
        else:
            data_states = np.concatenate([data_states, batch.states])
            data_actions = np.concatenate([data_actions, new_actions])
        if variant == "shuffled":
            order = rng.permutation(len(data_states))
            data_states, data_actions = data_states[order], data_actions[order]
        policy = fit(data_states, data_actions)
    return first_fit if bug == "returns-first-fit" else policy


def _dagger(name: str, description: str, must: Must, bug: str | None = None,
            variant: str | None = None,
            dagger_fn: Callable[..., np.ndarray] | None = None) -> Mutant:
    def by_hand(mdp: TabularMDP, expert_probs: np.ndarray, fit: Callable[..., np.ndarray],
                **kwargs: Any) -> np.ndarray:
        return dagger_by_hand(mdp, expert_probs, fit, bug=bug, variant=variant, **kwargs)

    fn = dagger_fn if dagger_fn is not None else by_hand
    return Mutant(name, description, "dagger", must, "check_dagger", fn)


def _dagger_reference(*args: Any, **kwargs: Any) -> np.ndarray:
    return tabular_dagger(*args, **kwargs)


def mutants() -> list[Mutant]:
    """The DAgger mutants (area ``dagger``)."""
    return [
        _dagger("dagger-learner-labels", "visited states relabelled with the learner's own "
                "actions instead of the expert's", "catch", "learner-labels"),
        _dagger("dagger-no-aggregation", "each iteration trains on its newest data only (no "
                "aggregation)", "catch", "no-aggregation"),
        _dagger("dagger-expert-rollouts", "rollouts executed with the expert: BC with more data",
                "catch", "expert-rollouts"),
        _dagger("dagger-returns-first-fit", "returns the first (BC) policy instead of the last "
                "fit", "catch", "returns-first-fit"),
        _dagger("dagger-beta-stuck", "the expert/learner mixture stays at beta = 0.5 instead "
                "of decaying to the learner", "catch", "beta-stuck"),
        _dagger("dagger-one-iteration-short", "off-by-one loop: one DAgger iteration fewer "
                "than asked", "catch", "one-iteration-short"),
        _dagger("dagger-dataset-doubled", "the aggregated dataset appended to itself each "
                "iteration (old data over-weighted)", "catch", "dataset-doubled"),
        _dagger("dagger-labels-shifted", "states paired with the expert's label of the next "
                "state (an off-by-one in the label array)", "catch", "labels-shifted"),
        _dagger("dagger-reference", "rlcheck.compounding.tabular_dagger", "pass",
                dagger_fn=_dagger_reference),
        _dagger("dagger-by-hand", "DAgger written out by hand", "pass"),
        _dagger("dagger-new-data-first", "new data prepended to the aggregate (order does not "
                "matter)", "pass", variant="new-data-first"),
        _dagger("dagger-shuffled", "the aggregate shuffled before every fit", "pass",
                variant="shuffled"),
    ]
