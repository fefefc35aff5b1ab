"""Tests of rlcheck.checks.guard: in every public check a failing user function is a failed
check with a verdict naming the problem, never a crash or a silent pass; inputs are read-only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcheck import checks
from rlcheck.checks.guard import (
    MAX_ABS_VALUE,
    UserFunctionError,
    isolated,
    real_array,
    scan_output,
)
from rlcheck.trust.bugs.pg import rtg_absolute


def boom(*args, **kwargs):
    raise RuntimeError("user code exploded")


def correct_backup(P, R, gamma, V):
    return (R + gamma * P @ V).max(axis=1)


def nll_nan_at_large_batches(dist, actions):
    loss = -dist.log_prob(actions).sum(-1).mean()
    return loss if actions.shape[0] < 20 else loss * float("nan")


FAILING = {
    "pg: complex weights": (lambda: checks.check_pg_weights(lambda b: rtg_absolute(b) + 1j),
                            "complex"),
    "pg: weights of size 1e306": (lambda: checks.check_pg_weights(
        lambda b: 1e306 * rtg_absolute(b)), "overflow"),
    "pg: inf weights": (lambda: checks.check_pg_weights(
        lambda b: np.full(b.rewards.shape, np.inf)), "non-finite"),
    "bc: loss NaN only at the larger batch size": (
        lambda: checks.check_bc_loss(nll_nan_at_large_batches), "non-finite value nan"),
    "bc: loss raises": (lambda: checks.check_bc_loss(boom), "user code exploded"),
    "bellman: complex backup": (lambda: checks.check_bellman_backup(
        lambda P, R, g, V: correct_backup(P, R, g, V) + 0j), "complex"),
    "bellman: backup raises": (lambda: checks.check_bellman_backup(boom), "user code exploded"),
    "fqi: NaN weights": (lambda: checks.check_fitted_q_iteration(
        lambda f, r, nf, term, g, k: np.full(f.shape[1], np.nan)), "non-finite"),
    "dagger: raises": (lambda: checks.check_dagger(boom), "user code exploded"),
    "td: NaN targets": (lambda: checks.check_td_targets(
        lambda batch: torch.full((len(batch.rewards),), float("nan"))), "non-finite"),
    "collection loop: raises": (lambda: checks.check_collection_loop(boom, n_envs=50),
                                "user code exploded"),
    "sampler: raises": (lambda: checks.check_sampler(boom), "user code exploded"),
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_a_failing_user_function_is_a_failed_check(case):
    run, message = FAILING[case]
    result = run()
    assert not result.passed, result.verdict
    verdicts = list(_verdicts(result))
    assert any(message in v for v in verdicts), verdicts


def _verdicts(result):
    """The verdict of a result and of all its parts (some checks fail per part)."""
    yield result.verdict
    for child in result.children:
        yield from _verdicts(child)


def test_bad_arguments_still_raise():
    with pytest.raises(ValueError, match="alpha"):
        checks.check_bellman_backup(correct_backup, alpha=2.0)


def test_inputs_are_read_only_copies():
    x = np.arange(3.0)
    y = isolated({"a": (x, [x])})
    assert not y["a"][0].flags.writeable and y["a"][0] is not x and x.flags.writeable
    t = torch.ones(2, requires_grad=True)
    (isolated(t) * 2).sum().backward()  # the clone keeps the graph
    assert t.grad is not None and torch.equal(t.grad, torch.full((2,), 2.0))


def test_output_scan_names_the_problem():
    with pytest.raises(UserFunctionError, match="complex"):
        scan_output(torch.ones(2, dtype=torch.complex64), what="f")
    with pytest.raises(UserFunctionError, match=r"f\[1\] returned a non-finite"):
        scan_output((np.ones(2), np.array([np.nan])), what="f")
    with pytest.raises(UserFunctionError, match="overflow"):
        real_array([10 * MAX_ABS_VALUE], what="f")
    scan_output(object(), what="f")  # records are left to the check
    scan_output(np.arange(3), what="f")  # integers are fine
