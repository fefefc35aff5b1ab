"""Tests of rlcheck.checks.bellman: correct implementations pass, planted bugs fail."""

from __future__ import annotations

import numpy as np
import pytest

from rlcheck import bellman
from rlcheck.checks import check_bellman_backup, check_fitted_q_iteration
from rlcheck.fitted import fitted_q_iteration
from rlcheck.trust.bugs import bellman as bellman_bugs


def test_correct_backup_passes_for_several_seeds():
    for seed in range(5):
        result = check_bellman_backup(bellman.optimality_backup, seed=seed).assert_passed()
        assert result.alpha == pytest.approx(1e-3)
        assert all(c.statistic < 1e-12 for c in result.children)


def test_simple_user_backup_passes():
    def user_backup(P, R, gamma, V):
        return np.max(R + gamma * np.einsum("sak,k->sa", P, V), axis=1)

    check_bellman_backup(user_backup).assert_passed()


BACKUP_BUGS = {m.name: m.implementation for m in bellman_bugs.backup_mutants() if m.must == "catch"}
"""The planted backup bugs of the catalogue (rlcheck.trust.bugs.bellman)."""


@pytest.mark.parametrize("bug", sorted(BACKUP_BUGS))
def test_planted_backup_bugs_fail(bug):
    result = check_bellman_backup(BACKUP_BUGS[bug])
    assert not result.passed, bug
    with pytest.raises(AssertionError):
        result.assert_passed()


def test_correct_fqi_passes():
    result = check_fitted_q_iteration(fitted_q_iteration).assert_passed()
    assert len(result.children) == 6
    assert result.alpha == pytest.approx(1e-3)


FQI_BUGS = {m.name: m.implementation for m in bellman_bugs.fqi_mutants() if m.must == "catch"}
"""The planted fitted-Q-iteration bugs of the catalogue (rlcheck.trust.bugs.bellman)."""


@pytest.mark.parametrize("bug", sorted(FQI_BUGS))
def test_planted_fqi_bugs_fail(bug):
    assert not check_fitted_q_iteration(FQI_BUGS[bug]).passed, bug


def test_crashing_or_misshapen_user_code_fails_cleanly():
    def crash(*args):
        raise RuntimeError("boom")

    result = check_bellman_backup(crash)
    assert not result.passed and "RuntimeError: boom" in result.children[0].verdict
    result = check_fitted_q_iteration(lambda *a: np.zeros(2))
    assert not result.passed and "shape" in result.children[0].verdict


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1])
def test_rejects_invalid_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        check_bellman_backup(bellman.optimality_backup, alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        check_fitted_q_iteration(fitted_q_iteration, alpha=alpha)
