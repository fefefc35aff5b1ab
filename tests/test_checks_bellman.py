"""Tests of rlcheck.checks.bellman: correct implementations pass, planted bugs fail."""

from __future__ import annotations

import numpy as np
import pytest

from rlcheck import bellman
from rlcheck.checks import check_bellman_backup, check_fitted_q_iteration
from rlcheck.fitted import fitted_q_iteration, least_squares


def test_correct_backup_passes_for_several_seeds():
    for seed in range(5):
        result = check_bellman_backup(bellman.optimality_backup, seed=seed).assert_passed()
        assert result.alpha == pytest.approx(1e-3)
        assert all(c.statistic < 1e-12 for c in result.children)


def test_simple_user_backup_passes():
    def user_backup(P, R, gamma, V):
        return np.max(R + gamma * np.einsum("sak,k->sa", P, V), axis=1)

    check_bellman_backup(user_backup).assert_passed()


BACKUP_BUGS = {
    "min instead of max": lambda P, R, g, V: (R + g * P @ V).min(axis=1),
    "average over actions": lambda P, R, g, V: (R + g * P @ V).mean(axis=1),
    "dropped gamma": lambda P, R, g, V: (R + P @ V).max(axis=1),
    "misplaced gamma": lambda P, R, g, V: (g * (R + P @ V)).max(axis=1),
    "gamma squared": lambda P, R, g, V: (R + g * g * P @ V).max(axis=1),
    "P indexed [s', a, s]": lambda P, R, g, V: (R + g * np.einsum("kas,k->sa", P, V)).max(axis=1),
    "max over states": lambda P, R, g, V: (R + g * P @ V).max(axis=0),
    "in-place update of V": lambda P, R, g, V: _inplace(P, R, g, V),
    "returns Q": lambda P, R, g, V: R + g * P @ V,
}


def _inplace(P, R, g, V):
    V[:] = (R + g * P @ V).max(axis=1)
    return V


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


def _fqi(target_fn, fit=lambda X, y: least_squares(X, y), start=0.0, extra=0):
    def fqi(features, rewards, next_features, terminated, gamma, n_iterations):
        w = np.full(features.shape[1], start)
        for _ in range(n_iterations + extra):
            w = fit(features, target_fn(rewards, next_features @ w, terminated, gamma))
        return w
    return fqi


def _correct_target(r, q_next, done, g):
    return r + g * (1 - done) * q_next.max(axis=1)


FQI_BUGS = {
    "terminal not masked": _fqi(lambda r, q, d, g: r + g * q.max(axis=1)),
    "mean instead of max": _fqi(lambda r, q, d, g: r + g * (1 - d) * q.mean(axis=1)),
    "max over transitions": _fqi(lambda r, q, d, g: r + g * (1 - d) * q.max(axis=0)[0]),
    "dropped gamma": _fqi(lambda r, q, d, g: r + (1 - d) * q.max(axis=1)),
    "first action instead of max": _fqi(lambda r, q, d, g: r + g * (1 - d) * q[:, 0]),
    "one extra iteration": _fqi(_correct_target, extra=1),
    "nonzero start": _fqi(_correct_target, start=1.0),
    "ridge-shrunk fit": _fqi(_correct_target, fit=lambda X, y: np.linalg.solve(
        X.T @ X + 0.1 * np.eye(X.shape[1]), X.T @ y)),
}


def test_fqi_harness_is_correct_with_correct_target():
    check_fitted_q_iteration(_fqi(_correct_target)).assert_passed()


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
