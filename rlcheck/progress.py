"""Progress bars for long work (training, sampling, analyses), built on ``tqdm``.

Bars are drawn on standard error when it is a terminal, and hidden otherwise so that logs and CI
output stay clean. The environment variable ``RLCHECK_PROGRESS`` overrides that choice:
``RLCHECK_PROGRESS=1`` always shows bars (``nox -s verify`` sets it), ``RLCHECK_PROGRESS=0``
never does. Nothing here catches ``KeyboardInterrupt``: Ctrl-C stops the loop at once, and the
bar is closed on the way out.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

ENV_VAR = "RLCHECK_PROGRESS"
"""Environment variable forcing progress bars on (``1``) or off (``0``)."""


def progress_disabled(disable: bool | None = None) -> bool:
    """Whether bars are hidden: ``disable`` if given, else ``RLCHECK_PROGRESS``, else not-a-TTY."""
    if disable is not None:
        return disable
    setting = os.environ.get(ENV_VAR, "").strip().lower()
    if setting in {"1", "true", "yes", "on"}:
        return False
    if setting in {"0", "false", "no", "off"}:
        return True
    stream = sys.stderr
    return not (stream is not None and hasattr(stream, "isatty") and stream.isatty())


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
    return tqdm(iterable, desc=desc, total=total, disable=progress_disabled(disable),
                leave=leave, unit=unit, dynamic_ncols=True)


@contextmanager
def progress_bar(desc: str, total: int | None = None, disable: bool | None = None,
                 leave: bool = False, unit: str = "it") -> Iterator[tqdm]:
    """A bar updated by hand (``bar.update(k)``), for work that is not a simple loop."""
    bar = tqdm(desc=desc, total=total, disable=progress_disabled(disable), leave=leave,
               unit=unit, dynamic_ncols=True)
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
