"""Progress for long work (training, sampling, analyses), built on ``tqdm``.

On a terminal, progress is a bar redrawn in place on standard error. Anywhere else (a log file,
CI, a pipe) it is a plain line at most every :data:`LINE_INTERVAL_S` seconds and one when the
work ends, with no carriage returns, so logs stay readable. ``RLCHECK_PROGRESS=0`` turns both
off (the test suite sets it); ``RLCHECK_PROGRESS=1`` (``nox -s verify`` sets it) asks for
progress, which is still a plain line when standard error is not a terminal. Nothing here
catches ``KeyboardInterrupt``: Ctrl-C stops the loop at once, and the bar is closed on the way
out.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

ENV_VAR = "RLCHECK_PROGRESS"
"""Environment variable forcing progress bars on (``1``) or off (``0``)."""


LINE_INTERVAL_S = 30.0
"""Seconds between two plain progress lines when standard error is not a terminal."""


def on_terminal() -> bool:
    """Whether standard error is a terminal (where a bar can be redrawn in place)."""
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


class _Discard:
    """A text stream that drops what is written to it."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class LineProgress(tqdm):
    """A ``tqdm`` that prints a plain line (no ``\\r``) at most every ``interval`` seconds, and a
    last one when it closes: progress for logs."""

    def __init__(self, *args: Any, interval: float = LINE_INTERVAL_S, **kwargs: Any) -> None:
        self._interval = interval
        self._last_line = -math.inf
        self._final = False
        # tqdm's own writes (carriage returns, clearing) go nowhere; display() prints the lines
        super().__init__(*args, file=_Discard(), ascii=True, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Print the state as one line when ``interval`` seconds have passed (or at the end)."""
        now = time.monotonic()
        if msg == "" or (not self._final and now - self._last_line < self._interval):
            return True
        self._last_line = now
        print(msg if msg is not None else self.__str__(), file=sys.stderr, flush=True)
        return True

    def close(self) -> None:
        """Print the final state once, then close."""
        if not self.disable and not self._final:
            self._final = True
            self.display()
        super().close()


def _bar(iterable: Iterable[T] | None, **kwargs: Any) -> tqdm:
    """A redrawn bar on a terminal, a :class:`LineProgress` elsewhere."""
    if on_terminal():
        return tqdm(iterable, dynamic_ncols=True, **kwargs)
    return LineProgress(iterable, ncols=80, **kwargs)


def progress_disabled(disable: bool | None = None) -> bool:
    """Whether progress is hidden: ``disable`` if given, else ``RLCHECK_PROGRESS=0``.

    Shown otherwise: a bar on a terminal, plain periodic lines elsewhere."""
    if disable is not None:
        return disable
    return os.environ.get(ENV_VAR, "").strip().lower() in {"0", "false", "no", "off"}


def track(iterable: Iterable[T], desc: str, total: int | None = None,
          disable: bool | None = None, leave: bool = False, unit: str = "it") -> tqdm[T]:
    """Iterate over ``iterable`` while drawing a progress bar labelled ``desc``.

    Returns the ``tqdm`` bar itself, so a loop can report numbers with ``bar.set_postfix(...)``.
    The bar closes itself when the loop ends, and on ``KeyboardInterrupt`` (which propagates).

    Args:
        iterable: what to iterate over.
        desc: a short label, e.g. ``"BC seeds"``.
        total: number of items, if ``len(iterable)`` does not give it.
        disable: force the bar off (``True``) or on (``False``); ``None`` follows
            :func:`progress_disabled`.
        leave: keep the finished bar on screen.
        unit: the name of one item.
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    return _bar(iterable, desc=desc, total=total, disable=progress_disabled(disable),
                leave=leave, unit=unit)


@contextmanager
def progress_bar(desc: str, total: int | None = None, disable: bool | None = None,
                 leave: bool = False, unit: str = "it") -> Iterator[tqdm]:
    """A bar updated by hand (``bar.update(k)``), for work that is not a simple loop."""
    bar = _bar(None, desc=desc, total=total, disable=progress_disabled(disable), leave=leave,
               unit=unit)
    try:
        yield bar
    finally:
        bar.close()


def status(message: str) -> None:
    """Print one line of progress to standard error (visible in logs, unlike a hidden bar)."""
    print(message, file=sys.stderr, flush=True)


class Stopwatch:
    """Wall-clock timer: ``with Stopwatch() as sw: ...; sw.seconds``."""

    def __init__(self) -> None:
        self.start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start

    def elapsed(self) -> float:
        """Seconds since the timer started (also inside the ``with`` block)."""
        return time.perf_counter() - self.start
