"""Calling a user's function from a check: isolated inputs, and failure as a failed check.

Every public check calls code it does not trust. Two rules hold for all of them:

* the user function gets **copies** of the check's inputs (:func:`isolated`), so a function that
  edits ``batch.states`` or ``expert_probs`` in place edits its own copy and cannot corrupt the
  check's ground truth (the check scores the data it sampled, not what the function left);
* a function that raises, or returns something the check cannot evaluate (complex numbers,
  NaN/inf, values so large that their squares overflow float64, the wrong shape), makes the
  check **fail** with a verdict naming the problem (:class:`UserFunctionError`, turned into a
  :class:`~rlcheck.result.CheckResult` by :func:`failed_result`); it does not crash the caller.

Bad *arguments* of the check itself (``alpha`` outside (0, 1), a non-callable) still raise
``ValueError``: those are the caller's mistake, not a verdict on the code under test.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from rlcheck.result import CheckResult

MAX_ABS_VALUE = 1e150
"""Largest magnitude a returned value may have: squares and products of larger values overflow
float64 (max ~1.8e308) inside the check's statistics."""


class UserFunctionError(Exception):
    """The user's function raised or returned something unusable; ``str(self)`` says what."""


def isolated(value: Any) -> Any:
    """A private copy of ``value`` for a user function: numpy arrays copied, torch tensors
    cloned, frozen dataclasses rebuilt field by field, tuples/lists/dicts copied element-wise;
    anything else is passed as is."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if hasattr(value, "detach") and hasattr(value, "clone"):  # torch tensor
        return value.detach().clone()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: isolated(getattr(value, f.name))
                  for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **fields)
    if isinstance(value, tuple):
        return tuple(isolated(v) for v in value)
    if isinstance(value, list):
        return [isolated(v) for v in value]
    if isinstance(value, dict):
        return {k: isolated(v) for k, v in value.items()}
    return value


def call_user(fn: Callable[..., Any], *args: Any, what: str, **kwargs: Any) -> Any:
    """``fn(*isolated(args), **isolated(kwargs))``; any exception becomes a
    :class:`UserFunctionError` naming ``what`` (e.g. ``"weights_fn on the bandit"``)."""
    try:
        return fn(*(isolated(a) for a in args), **{k: isolated(v) for k, v in kwargs.items()})
    except Exception as error:  # any failure of user code is a verdict
        raise UserFunctionError(f"{what} raised {type(error).__name__}: {error}") from error


def real_array(value: Any, *, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``value`` (numpy array, torch tensor or nested sequence) as a finite real float64 array of
    ``shape``; raises :class:`UserFunctionError` naming the first problem: not numeric, complex,
    wrong shape, NaN/inf (with its index), or a magnitude above :data:`MAX_ABS_VALUE`."""
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    if np.iscomplexobj(value):
        raise UserFunctionError(f"{what} returned complex values (dtype "
                                f"{np.asarray(value).dtype}); a real array is required")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise UserFunctionError(f"{what} must return a real array; it returned "
                                f"{type(value).__name__}") from error
    if shape is not None and array.shape != tuple(shape):
        raise UserFunctionError(f"{what} returned shape {array.shape}, expected {tuple(shape)}")
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise UserFunctionError(f"{what} returned a non-finite value {array[where]} at index "
                                f"{where}")
    big = np.abs(array) > MAX_ABS_VALUE
    if big.any():
        where = tuple(int(i) for i in np.argwhere(big)[0])
        raise UserFunctionError(f"{what} returned {array[where]:.3g} at index {where}: values "
                                f"above {MAX_ABS_VALUE:g} overflow float64 in the statistics")
    return array


def real_scalar(value: Any, *, what: str) -> float:
    """``value`` as a finite real float (a 0-d or one-element array/tensor is accepted)."""
    array = real_array(value, what=what)
    if array.size != 1:
        raise UserFunctionError(f"{what} must return a scalar, got shape {array.shape}")
    return float(array.reshape(()))


def failed_result(name: str, error: UserFunctionError, *, alpha: float,
                  seed: int | None = None, **details: Any) -> CheckResult:
    """The failed :class:`~rlcheck.result.CheckResult` of a check whose user function failed."""
    return CheckResult(name=name, passed=False, verdict=f"FAILED: {error}", alpha=alpha,
                       p_value=math.nan, n=0, seed=seed,
                       details={"user_function_error": str(error), **details})
