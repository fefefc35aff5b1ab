"""CheckResult: one way to combine parts, one meaning of a composite p-value, the leaves walk."""

from __future__ import annotations

import math

import pytest

from rlcheck.result import CheckResult, combine, composite_p_value
from rlcheck.trust.calibration import rejects_at


def leaf(name: str, p: float, alpha: float) -> CheckResult:
    return CheckResult(name=name, passed=p > alpha, verdict="", alpha=alpha, p_value=p, n=10)


def test_composite_p_value_is_the_bonferroni_adjusted_minimum() -> None:
    parts = [leaf("a", 0.004, 0.01 / 4), leaf("b", 0.2, 0.01 / 4), leaf("c", 0.9, 0.01 / 2)]
    result = combine("c", parts, alpha=0.01)
    # min(0.004 * 4, 0.2 * 4, 0.9 * 2) = 0.016
    assert result.p_value == pytest.approx(0.016, rel=1e-12)
    assert result.passed and result.n == 30 and result.alpha == 0.01
    # the smallest level at which it fails: rejects_at agrees on either side of p
    assert rejects_at(result, 0.017) and not rejects_at(result, 0.015)
    assert combine("c", [leaf("a", 0.6, 0.01), leaf("b", 0.9, 0.01)]).p_value == 1.0


def test_exact_parts_carry_no_p_value_and_nesting_composes() -> None:
    exact = CheckResult(name="exact", passed=False, verdict="", alpha=0.0)
    assert math.isnan(combine("e", [exact]).p_value)
    inner = combine("inner", [leaf("x", 1e-4, 0.005), leaf("y", 0.5, 0.005)])  # p = 2e-4
    outer = combine("outer", [inner, leaf("z", 0.3, 0.01), exact])
    flat = composite_p_value(0.02, outer.leaves())
    assert outer.p_value == pytest.approx(flat, rel=1e-12) == pytest.approx(4e-4, rel=1e-12)
    assert not outer.passed and [c.name for c in outer.leaves()] == ["x", "y", "z", "exact"]


def test_combine_takes_the_summary_fields_and_refuses_no_parts() -> None:
    result = combine("c", [leaf("a", 0.5, 0.01)], verdict="fine", effect=2.0, n=3)
    assert result.verdict == "fine" and result.effect == 2.0 and result.n == 3
    assert combine("c", [leaf("a", 0.5, 0.01)]).leaves()[0].name == "a"
    with pytest.raises(ValueError, match="at least one child"):
        combine("c", [])
