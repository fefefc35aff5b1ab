"""check_td_targets: correct targets pass, every planted TD bug fails on (almost) every seed.

The check is exact (no statistical part): no flakiness-budget marker is needed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcheck.checks.td import TD_KINDS, check_td_targets, make_td_batches
from rlcheck.trust.bugs.td import TD_IMPLEMENTATIONS

CORRECT = [pytest.param(fn, kind, id=name) for name, kind, must, _, fn in TD_IMPLEMENTATIONS
           if must == "pass"]
BUGS = [pytest.param(fn, kind, id=name) for name, kind, must, _, fn in TD_IMPLEMENTATIONS
        if must == "catch"]
SEEDS = range(100)


def test_every_kind_has_correct_and_buggy_implementations() -> None:
    for kind in TD_KINDS:
        musts = {must for _, k, must, _, _ in TD_IMPLEMENTATIONS if k == kind}
        assert musts == {"pass", "catch"}, kind


@pytest.mark.parametrize(("target_fn", "kind"), CORRECT)
def test_correct_targets_pass(target_fn, kind) -> None:
    for seed in range(10):
        check_td_targets(target_fn, kind=kind, seed=seed).assert_passed()


@pytest.mark.parametrize(("target_fn", "kind"), BUGS)
def test_planted_bug_fails_on_at_least_99_percent_of_seeds(target_fn, kind) -> None:
    caught = sum(not check_td_targets(target_fn, kind=kind, seed=s).passed for s in SEEDS)
    assert caught >= 0.99 * len(SEEDS), f"caught on {caught} of {len(SEEDS)} seeds"


@pytest.mark.parametrize(("name", "phrase"), [
    ("dqn-done-mask", "done = terminated | truncated"),
    ("dqn-no-terminal-mask", "bootstrapping through termination"),
    ("dqn-obs-instead-of-next-obs", "off by one"),
    ("dqn-online-bootstrap", "online network"),
    ("double-dqn-argmax-from-target", "arg-max taken from the target network"),
    ("soft-missing-entropy", "entropy term missing"),
    ("soft-entropy-wrong-sign", "wrong sign"),
    ("n-step-crosses-episode-end", "crossing an episode end"),
    ("n-step-no-bootstrap-after-truncation", "no bootstrap after a truncation"),
    ("n-step-bootstraps-reset-obs", "reset observation"),
])
def test_failure_names_the_mistake(name: str, phrase: str) -> None:
    _, kind, _, _, fn = next(i for i in TD_IMPLEMENTATIONS if i[0] == name)
    result = check_td_targets(fn, kind=kind)
    assert not result.passed and phrase in result.verdict, result.verdict


def test_batches_mix_every_kind_of_transition() -> None:
    for kind in TD_KINDS:
        for _, batch, exact in make_td_batches(kind, 0):
            term, trunc = batch.terminated.numpy(), batch.truncated.numpy()
            assert term.any() and (trunc & ~term).any() and (~term & ~trunc).any(), kind
            assert exact.shape == batch.rewards.shape


def test_wrong_shape_nan_and_crash_fail_with_a_message() -> None:
    def per_action(b):
        return b.q_target(b.next_obs)

    result = check_td_targets(per_action, kind="dqn")
    assert not result.passed and "shape [B]" in result.children[0].verdict

    def nan(b):
        return torch.full_like(b.rewards, float("nan"))

    assert "non-finite" in check_td_targets(nan, kind="dqn").children[0].verdict

    def crash(b):
        return b.no_such_field

    assert "AttributeError" in check_td_targets(crash, kind="td0").children[0].verdict


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="kind"):
        check_td_targets(lambda b: b.rewards, kind="q_lambda")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target_fn"):
        check_td_targets(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        check_td_targets(lambda b: b.rewards, alpha=0.0)


def test_same_seed_same_batches() -> None:
    a, b = make_td_batches("soft", 3), make_td_batches("soft", 3)
    assert all(np.array_equal(x[2], y[2]) for x, y in zip(a, b, strict=True))
