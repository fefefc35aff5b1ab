"""check_collected_pg on data from a user's own CleanRL-style collection loop (gymnasium vector
env, the problem's policy and critic, GAE): the correct loop passes, loops with the classic
time-limit and episode-boundary bugs fail.

Declared false-failure probabilities: correct loops at ``CORRECT_ALPHA``; planted bugs must fail
with a p-value below ``DECISIVE_P`` (declared ``BUG_MISS_ALPHA``). The SB3 loop is tested by the
recipes page (tests/test_recipes.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcheck.checks import check_collected_pg, check_collection_loop
from rlcheck.tabular_env import default_problems
from rlcheck.trust.bugs.time_limits import gae_collection_loop
from rlcheck.trust.levels import BUG_MISS_ALPHA, CORRECT_ALPHA, DECISIVE_P

PROBLEMS = default_problems()
N_ENVS, N_STEPS = 1000, 12


def collect(problem, *, bug: str | None = None, seed: int = 0, lam: float = 0.9):
    """The CleanRL-style loop of the planted-bug catalogue (rlcheck.trust.bugs.time_limits)."""
    return gae_collection_loop(problem, N_ENVS, N_STEPS, seed, lam=lam, bug=bug)


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name.split(" ")[0])
@pytest.mark.parametrize("lam", [0.0, 0.9, 1.0])
def test_correct_loop_passes(problem, lam) -> None:
    obs, actions, advantages = collect(problem, lam=lam)
    check_collected_pg(problem, obs, actions, advantages, alpha=CORRECT_ALPHA).assert_passed()


@pytest.mark.statistical(alpha=BUG_MISS_ALPHA)
@pytest.mark.parametrize(("bug", "problem"), [
    ("truncation-as-termination", PROBLEMS[0]), ("truncation-as-termination", PROBLEMS[1]),
    ("bootstrap-through-termination", PROBLEMS[1]),
    ("gae-leaks-across-episodes", PROBLEMS[0]), ("gae-leaks-across-episodes", PROBLEMS[1]),
], ids=lambda x: x if isinstance(x, str) else x.name.split(" ")[0])
def test_planted_loop_bug_fails(bug, problem) -> None:
    result = check_collected_pg(problem, *collect(problem, bug=bug))
    assert not result.passed and result.p_value < DECISIVE_P, result.verdict


def test_bad_data_is_named() -> None:
    problem = PROBLEMS[1]
    obs = np.zeros((4, 50), np.int64)
    with pytest.raises(ValueError, match="weights must be time-major"):
        check_collected_pg(problem, obs, obs, np.zeros(200))
    with pytest.raises(ValueError, match=r"actions must be time-major \[L, N\] = \(4, 50\)"):
        check_collected_pg(problem, obs, np.zeros((50, 4)), np.zeros((4, 50)))
    with pytest.raises(ValueError, match="obs holds a terminal state"):
        check_collected_pg(problem, obs + 3, obs, np.zeros((4, 50)))
    with pytest.raises(ValueError, match=r"obs must hold integers in \[0, 4\)"):
        check_collected_pg(problem, obs + 7, obs, np.zeros((4, 50)))
    with pytest.raises(ValueError, match="at least 40 env columns"):
        check_collected_pg(problem, obs[:, :5], obs[:, :5], np.zeros((4, 5)))
    with pytest.raises(ValueError, match="problem must be a TabularProblem"):
        check_collected_pg(problem.mdp, obs, obs, np.zeros((4, 50)))  # type: ignore[arg-type]
    one_hot = np.eye(4)[obs]
    result = check_collected_pg(problem, one_hot, obs[:, :, None], torch.zeros(4, 50))
    assert result.n == 50


@pytest.mark.statistical(alpha=CORRECT_ALPHA + BUG_MISS_ALPHA)
def test_check_collection_loop_runs_the_loop_on_every_problem() -> None:
    result = check_collection_loop(gae_collection_loop, alpha=CORRECT_ALPHA, seed=1)
    assert result.passed and [c.name for c in result.children] == [p.name for p in PROBLEMS]
    bug = check_collection_loop(lambda *a: gae_collection_loop(*a, bug="gae-leaks-across-episodes"))
    assert not bug.passed and bug.p_value < DECISIVE_P and "worst" in bug.verdict
    none = check_collection_loop(lambda *a: None, n_envs=50)  # failed check, not a crash
    assert not none.passed and "collect_fn must return" in none.verdict, none.verdict
