"""Calling a user's function from a check: isolated inputs, and failure as a failed check.

Every public check calls code it does not trust. Two rules hold for all of them:

* the user function gets **read-only copies** of the check's numpy inputs (torch tensors are
  cloned) (:func:`isolated`): a function that edits ``batch.states`` or ``expert_probs`` in
  place fails the check with numpy's "assignment destination is read-only" instead of
  corrupting the check's ground truth (writing into an input is a bug of its own: a value
  iteration that overwrites the caller's ``V``);
* a function that raises, or returns something the check cannot evaluate (complex numbers,
  NaN/inf, values so large that their squares overflow float64, the wrong shape), makes the
  check **fail** with a verdict naming the problem (:class:`UserFunctionError`, turned into a
  :class:`~rlcheck.result.CheckResult` by :func:`failed_result`); it does not crash the caller.

Bad *arguments* of the check itself (``alpha`` outside (0, 1), a non-callable) still raise
``ValueError``: those are the caller's mistake, not a verdict on the code under test.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from rlcheck.result import CheckResult

MAX_ABS_VALUE = 1e150
"""Largest magnitude a returned value may have: squares and products of larger values overflow
float64 (max ~1.8e308) inside the check's statistics."""


class UserFunctionError(Exception):
    """The user's function raised or returned something unusable; ``str(self)`` says what."""


def isolated(value: Any) -> Any:
    """A private copy of ``value`` for a user function: numpy arrays copied and made read-only,
    torch tensors cloned, frozen dataclasses rebuilt field by field, tuples/lists/dicts copied
    element-wise; anything else is passed as is."""
    if isinstance(value, np.ndarray):
        copy = value.copy()
        copy.flags.writeable = False
        return copy
    if hasattr(value, "detach") and hasattr(value, "clone"):  # torch tensor
        # a clone keeps the autograd graph of a tensor that requires grad (the check may
        # differentiate through the user's function); others are detached copies
        return value.clone() if getattr(value, "requires_grad", False) else value.detach().clone()
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


def scan_output(value: Any, *, what: str) -> None:
    """Raise :class:`UserFunctionError` if ``value`` (an array, tensor, number, or a tuple/list
    of them) is complex, non-finite or above :data:`MAX_ABS_VALUE` in magnitude; other objects
    (e.g. a rollout record) are left to the check."""
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            scan_output(item, what=f"{what}[{i}]")
        return
    if hasattr(value, "detach") and hasattr(value, "dtype"):  # torch tensor
        if value.dtype.is_complex:
            raise UserFunctionError(f"{what} returned complex values (dtype {value.dtype}); "
                                    "a real tensor is required")
        if not value.dtype.is_floating_point:
            return
        value = value.detach().cpu().numpy()
    if isinstance(value, (complex, np.complexfloating)) or (
            isinstance(value, np.ndarray) and np.iscomplexobj(value)):
        raise UserFunctionError(f"{what} returned complex values; a real array is required")
    if isinstance(value, (float, np.floating)) or (
            isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)):
        real_array(value, what=what)


Check = TypeVar("Check", bound=Callable[..., CheckResult])


def guards_user_function(param: str) -> Callable[[Check], Check]:
    """Decorate a public check whose argument ``param`` is the user's function.

    The function is called with copies of its inputs (:func:`isolated`) and its outputs are
    scanned (:func:`scan_output`). If, once the user's function has run, an exception escapes
    the check (raised by the function, by code it called, or by the check evaluating its
    output: a ``LinAlgError`` on NaN, a shape error), the check returns a failed
    :class:`~rlcheck.result.CheckResult` naming it instead of raising. Exceptions raised before
    the function first ran are argument errors of the check and propagate unchanged, as do
    exceptions the check handles itself (e.g. a ``TypeError`` used to detect a signature)."""

    def decorate(check: Check) -> Check:
        signature = inspect.signature(check)

        @functools.wraps(check)
        def guarded(*args: Any, **kwargs: Any) -> CheckResult:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            fn = bound.arguments.get(param)
            if not callable(fn):
                return check(*args, **kwargs)
            calls = 0

            @functools.wraps(fn)
            def user(*a: Any, **k: Any) -> Any:
                nonlocal calls
                calls += 1
                out = fn(*(isolated(x) for x in a), **{key: isolated(v) for key, v in k.items()})
                scan_output(out, what=param)
                return out

            bound.arguments[param] = user
            alpha = bound.arguments.get("alpha", math.nan)
            seed = bound.arguments.get("seed")
            try:
                return check(*bound.args, **bound.kwargs)
            except UserFunctionError as error:
                return failed_result(check.__name__, error, alpha=alpha, seed=seed)
            except Exception as error:  # any failure once the user's code ran is a verdict
                if calls == 0:
                    raise
                return failed_result(check.__name__, UserFunctionError(
                    f"{param} (or the check evaluating its output) raised "
                    f"{type(error).__name__}: {error}"), alpha=alpha, seed=seed)

        return guarded  # type: ignore[return-value]

    return decorate
