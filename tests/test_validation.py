"""Argument checks: each accepts its domain, converts, and names the argument when it refuses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlcheck import validation as v


def test_alpha_lies_in_the_open_unit_interval() -> None:
    assert v.validate_alpha(np.float32(0.25)) == 0.25 and isinstance(v.validate_alpha(0.5), float)
    for bad in (0.0, 1.0, -0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"alpha must lie in \(0, 1\)"):
            v.validate_alpha(bad)
    with pytest.raises(ValueError, match=r"level must lie in \(0, 1\)"):
        v.validate_alpha(2.0, "level")
    with pytest.raises(TypeError, match="alpha must be a number, got str"):
        v.validate_alpha("small")  # type: ignore[arg-type]


def test_gamma_lies_in_the_closed_unit_interval_or_below_one_for_infinite_horizons() -> None:
    assert v.validate_gamma(0.0) == 0.0 and v.validate_gamma(1) == 1.0
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\], got nan"):
        v.validate_gamma(math.nan)
    with pytest.raises(ValueError, match=r"discount must lie in \[0, 1\]"):
        v.validate_gamma(1.5, "discount")
    assert v.validate_gamma(0.99, infinite_horizon=True) == 0.99
    with pytest.raises(ValueError, match=r"\[0, 1\) for an infinite horizon"):
        v.validate_gamma(1.0, infinite_horizon=True)


def test_counts_probabilities_and_callables() -> None:
    assert v.validate_positive_int(3.0, "n") == 3 and v.validate_positive_int(0, "k", minimum=0) == 0
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        v.validate_positive_int(0, "n")
    with pytest.raises(ValueError, match=r"n must be an integer, got 2\.5"):
        v.validate_positive_int(2.5, "n")
    with pytest.raises(TypeError, match="n must be an integer, got bool"):
        v.validate_positive_int(True, "n")
    assert v.validate_probability(1.0, "beta") == 1.0
    with pytest.raises(ValueError, match=r"beta must lie in \[0, 1\]"):
        v.validate_probability(-0.5, "beta")
    with pytest.raises(TypeError, match="loss_fn must be callable, got int"):
        v.validate_callable(3, "loss_fn")  # type: ignore[arg-type]


def test_arrays_shapes_and_distributions() -> None:
    with pytest.raises(ValueError, match=r"V contains a non-finite value at index \(1,\)"):
        v.validate_finite("V", [0.0, np.inf])
    assert v.validate_shape("R", np.zeros((2, 3)), (2, None)).shape == (2, 3)
    with pytest.raises(ValueError, match=r"R must have shape \[2, \*\], got \(3,\)"):
        v.validate_shape("R", np.zeros(3), (2, None))
    table = v.validate_policy_table([[0.5, 0.5], [1.0, 0.0]], 2, 2)
    assert table.dtype == np.float64
    with pytest.raises(ValueError, match=r"policy row \(1,\) sums to 0.9"):
        v.validate_policy_table([[0.5, 0.5], [0.9, 0.0]], 2, 2)
    with pytest.raises(ValueError, match="negative probability"):
        v.validate_distributions("P", np.array([[1.5, -0.5]]))
    with pytest.raises(ValueError, match=r"policy must have shape \[S, A\] = \(2, 2\)"):
        v.validate_policy_table(np.ones((2, 3)) / 3, 2, 2)


def test_counts_beyond_float_range_are_checked_as_integers() -> None:
    """Regression (found by tests/test_fuzz.py): a Python int beyond int64 reached np.isfinite,
    which raised a TypeError that did not name the argument."""
    assert v.validate_positive_int(2**70, "n_batches") == 2**70
    with pytest.raises(ValueError, match="batch_factor must be >= 2"):
        v.validate_positive_int(-(2**70), "batch_factor", minimum=2)
