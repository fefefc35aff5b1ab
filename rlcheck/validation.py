"""Argument checks at rlcheck's boundaries: one home, one wording, the argument named.

Every public function that takes a false-positive rate, a discount, a probability table or an
array of samples checks it here, at the top, so that a wrong input fails loudly where it enters
(as rlax's ``base`` module does for ranks and dtypes) and the error names the argument:
``ValueError("alpha must lie in (0, 1), got 1.5")``. Each check returns the value converted to
the type the caller computes with (``float``, ``int``, a float64 array), so a call reads
``alpha = validate_alpha(alpha)``.

``ValueError`` is raised for a value of the right kind outside its domain (NaN included),
``TypeError`` for a value of the wrong kind (a string for a count, a non-callable for a function).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

ATOL_DISTRIBUTION = 1e-8
"""Rows of transition matrices, initial distributions and policies must sum to 1 within this."""


def validate_alpha(alpha: float, name: str = "alpha") -> float:
    """A false-positive rate: a float in the open interval ``(0, 1)``."""
    value = _as_float(alpha, name)
    if not (0.0 < value < 1.0):  # rejects NaN too
        raise ValueError(f"{name} must lie in (0, 1), got {alpha!r}")
    return value


def validate_gamma(gamma: float, name: str = "gamma", *, infinite_horizon: bool = False) -> float:
    """A discount: a float in ``[0, 1]``, or ``[0, 1)`` when ``infinite_horizon`` (the sum
    ``sum_t gamma^t r_t`` must converge)."""
    value = _as_float(gamma, name)
    if infinite_horizon:
        if not (0.0 <= value < 1.0):
            raise ValueError(f"{name} must lie in [0, 1) for an infinite horizon, got {gamma!r}")
    elif not (0.0 <= value <= 1.0):  # rejects NaN too
        raise ValueError(f"{name} must lie in [0, 1], got {gamma!r}")
    return value


def validate_probability(p: float, name: str) -> float:
    """A probability: a float in the closed interval ``[0, 1]``."""
    value = _as_float(p, name)
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {p!r}")
    return value


def validate_positive_int(n: int, name: str, *, minimum: int = 1) -> int:
    """An integer count ``>= minimum`` (``True``/``False``, non-integral and infinite floats
    refused)."""
    if isinstance(n, bool | np.bool_) or not isinstance(n, (int, np.integer, float, np.floating)):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}")
    if isinstance(n, float | np.floating) and (not np.isfinite(n) or int(n) != n):
        raise ValueError(f"{name} must be an integer, got {n!r}")
    if int(n) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n!r}")
    return int(n)


def validate_seed(seed: int, name: str = "seed") -> int:
    """A seed for ``numpy.random.default_rng`` / ``SeedSequence``: an integer ``>= 0``."""
    return validate_positive_int(seed, name, minimum=0)


def validate_rng(rng: np.random.Generator, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` (``TypeError`` otherwise: pass ``np.random.default_rng(seed)``)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def validate_positive_number(x: float, name: str) -> float:
    """A finite number ``> 0`` (a timeout, a scale)."""
    value = _as_float(x, name)
    if not (0.0 < value < np.inf):
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return value


def validate_real_array(name: str, values: ArrayLike, ndim: int) -> NDArray[np.float64]:
    """A new float64 array with ``ndim`` axes holding real numbers: complex values (whose
    imaginary part a cast would drop), strings, objects and booleans are a ``TypeError``."""
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nesting
        raise ValueError(f"{name} must be a rectangular array of numbers ({exc})") from None
    if raw.dtype.kind == "c":
        raise TypeError(f"{name} must hold real numbers, got complex values (dtype {raw.dtype})")
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {raw.dtype}")
    if raw.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {raw.shape}")
    return np.array(raw, dtype=np.float64)


def frozen_copy(array: NDArray[Any]) -> NDArray[Any]:
    """A read-only copy of ``array`` that cannot be made writeable again: its memory is an
    immutable ``bytes`` object, so ``flags.writeable = True`` raises ``ValueError``."""
    return np.frombuffer(np.ascontiguousarray(array).tobytes(), dtype=array.dtype).reshape(
        array.shape)


def validate_callable(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A function the caller will call (``TypeError`` otherwise)."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


def validate_finite(name: str, values: ArrayLike) -> NDArray[np.float64]:
    """A float64 array without NaN or infinities; the error gives the first bad index."""
    array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} contains a non-finite value at index {where}")
    return array


def validate_shape(name: str, values: ArrayLike, shape: tuple[int | None, ...]) -> NDArray[Any]:
    """An array of the given shape; ``None`` in ``shape`` matches any length on that axis."""
    array = np.asarray(values)
    if array.ndim != len(shape) or any(want is not None and got != want
                                       for got, want in zip(array.shape, shape, strict=True)):
        wanted = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    return array


def validate_distributions(name: str, rows: NDArray[np.float64],
                        atol: float = ATOL_DISTRIBUTION) -> None:
    """Raise ``ValueError`` naming the first offending row unless each last-axis row is a
    probability distribution: finite, non-negative, ``sum_j p_j = 1`` within ``atol``."""
    if rows.shape[-1] == 0:
        raise ValueError(f"{name} has an empty last axis (shape {rows.shape})")
    bad = ~np.isfinite(rows)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} contains a non-finite value at index {where}")
    if (rows < 0).any():
        where = tuple(int(i) for i in np.argwhere(rows < 0)[0])
        raise ValueError(f"{name} has a negative probability {rows[where]:.3g} at index {where}")
    sums = rows.sum(axis=-1)
    off = np.abs(sums - 1.0) > atol
    if off.any():
        where = tuple(int(i) for i in np.argwhere(np.atleast_1d(off))[0])
        total = float(np.atleast_1d(sums)[where])
        raise ValueError(
            f"{name} row {where} sums to {total:.12g}, not 1 (tolerance {atol:g}): "
            "rows must be probability distributions"
        )


def validate_policy_table(probs: ArrayLike, n_states: int, n_actions: int,
                       name: str = "policy") -> NDArray[np.float64]:
    """A stochastic policy table ``probs[s, a] = pi(a|s)`` of shape ``[S, A]`` whose rows are
    distributions; returned as float64."""
    table = validate_real_array(name, probs, 2)
    if table.shape != (n_states, n_actions):
        raise ValueError(f"{name} must have shape [S, A] = {(n_states, n_actions)}, "
                         f"got {table.shape}")
    validate_distributions(name, table)
    return table


def _as_float(value: float, name: str) -> float:
    """``float(value)`` of a real number; ``TypeError`` naming the argument for anything else
    (``None``, ``True``/``False``, strings such as ``"0.5"``, complex numbers)."""
    if isinstance(value, bool | np.bool_ | str | bytes | complex | np.complexfloating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r:.40}")
    if isinstance(value, np.ndarray) and (value.ndim != 0 or value.dtype.kind not in "iuf"):
        raise TypeError(f"{name} must be a number, got an array of shape {value.shape} "
                        f"and dtype {value.dtype}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None


def validate_tabular_model(P: ArrayLike, R: ArrayLike,
                           init: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                     NDArray[np.float64]]:
    """``(P [S, A, S], R [S, A], init [S])`` of a tabular MDP as float arrays: real, matching
    shapes, rows of ``P`` and ``init`` probability distributions, finite rewards."""
    P_ = validate_real_array("P", P, 3)
    R_ = validate_real_array("R", R, 2)
    init_ = validate_real_array("init", init, 1)
    S, A, S2 = P_.shape
    if S2 != S:
        raise ValueError(f"P must have shape [S, A, S], got {P_.shape}")
    if S == 0 or A == 0:
        raise ValueError(f"P must have at least one state and one action, got {P_.shape}")
    if R_.shape != (S, A):
        raise ValueError(f"R must have shape [S, A] = {(S, A)} to match P, got {R_.shape}")
    if init_.shape != (S,):
        raise ValueError(f"init must have shape [S] = {(S,)} to match P, got {init_.shape}")
    validate_distributions("P", P_)
    validate_distributions("init", init_)
    if not np.isfinite(R_).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(R_))[0])
        raise ValueError(f"R contains a non-finite reward at index {where}")
    return P_, R_, init_
