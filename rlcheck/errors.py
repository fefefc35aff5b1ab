"""Exceptions rlcheck raises for conditions the user can fix (as opposed to a changed result).

``verify`` and the command line tell these apart from a verdict mismatch: a
:class:`ResourceUnavailable` means an analysis *could not run* (no network route to the expert
files, a missing file), and its ``fix`` says what to do about it.
"""

from __future__ import annotations


class ResourceUnavailable(RuntimeError):
    """A file or service an analysis needs could not be reached; ``fix`` says what to do.

    >>> err = ResourceUnavailable("cannot fetch Ant.pkl", fix="set RLCHECK_EXPERTS_MIRROR")
    >>> err.fix
    'set RLCHECK_EXPERTS_MIRROR'
    """

    def __init__(self, message: str, *, fix: str) -> None:
        super().__init__(f"{message} (fix: {fix})")
        self.reason = message
        self.fix = fix
