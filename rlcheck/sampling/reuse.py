"""Reusing worker processes across :func:`~rlcheck.sampling.collect` calls.

Starting processes and building environments costs more than a short collection: a one-shot
``collect(..., sampler="forkserver")`` pays both on every call, while a persistent
:class:`~rlcheck.sampling.WorkerPool` pays them once. ``collect`` therefore keeps the last
process sampler it used (a pool, or an ``async_vector`` sampler) and reuses it when the next
call asks for the same configuration (environment, layout, start method, keyword arguments,
threads, timeout); a different configuration closes it first, so at most one such sampler is
alive. It is closed at interpreter exit, by :func:`close_cached_samplers`, and at once when a
call through it fails. Reuse does not change the data: every collection reseeds every
environment (see :mod:`rlcheck.sampling.core`).

A forked child never reuses (or closes) a sampler its parent cached.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar

__all__ = ["cached_sampler", "close_cached_samplers"]


class _Closable(Protocol):
    def close(self) -> None: ...


_Sampler = TypeVar("_Sampler", bound=_Closable)
_lock = threading.Lock()
_cached: dict[str, Any] = {}  # "key", "sampler", "pid"


def cached_sampler(key: Hashable, make: Callable[[], _Sampler]) -> _Sampler:
    """The cached sampler for ``key``, or a new one from ``make()`` replacing (and closing) any
    other. The caller must call :func:`discard` with it if it fails."""
    with _lock:
        if _cached and _cached["pid"] == os.getpid() and _cached["key"] == key:
            cached: _Sampler = _cached["sampler"]
            return cached
        _close_locked()
        sampler = make()
        _cached.update(key=key, sampler=sampler, pid=os.getpid())
        return sampler


def discard(sampler: _Closable) -> None:
    """Close ``sampler`` and forget it if it is the cached one (after a failure)."""
    with _lock:
        if _cached.get("sampler") is sampler:
            _cached.clear()
    sampler.close()


def close_cached_samplers() -> None:
    """Close the sampler :func:`~rlcheck.sampling.collect` keeps for reuse, if any."""
    with _lock:
        _close_locked()


def _close_locked() -> None:
    if _cached and _cached["pid"] == os.getpid():
        sampler = _cached["sampler"]
        _cached.clear()
        sampler.close()
    _cached.clear()


atexit.register(close_cached_samplers)
