"""Say gymnasium's "v4 is out of date" deprecation once, with why rlcheck uses v4.

rlcheck's imitation analyses (``bc-loss``, ``dagger-vs-bc``) run the MuJoCo ``*-v4``
environments on purpose: the CS285 expert policies and data were recorded on v4, and v5 changes
the observations and dynamics they were trained on. gymnasium warns at every ``make`` of a v4
id; :func:`explain_v4_once` replaces those warnings with one line that says why.
"""

from __future__ import annotations

import re
import sys
import warnings
from typing import TextIO

V4_WARNING = re.compile(r"The environment (\S+-v4) is out of date")
"""gymnasium's deprecation message for a v4 environment id."""

EXPLANATION = ("note: rlcheck uses the MuJoCo v4 environments ({env} and others) on purpose: the "
               "CS285 expert policies were trained on v4, so gymnasium's 'out of date' warnings "
               "for them are shown only this once.")

_state = {"installed": False, "said": False}


def explain_v4_once(stream: TextIO | None = None) -> None:
    """Route gymnasium's v4 deprecation warnings to one explanatory line on ``stream``
    (default standard error); other warnings are shown as before. Idempotent."""
    if _state["installed"]:
        return
    previous = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        match = V4_WARNING.search(str(message))
        if match is None:
            previous(message, category, filename, lineno, file, line)
            return
        if not _state["said"]:
            _state["said"] = True
            print(EXPLANATION.format(env=match.group(1)), file=stream or sys.stderr, flush=True)

    warnings.showwarning = show
    # show every v4 warning to the hook (not just the first per location); the hook says it once
    warnings.filterwarnings("always", message=r".*The environment \S+-v4 is out of date",
                            category=DeprecationWarning)
    _state["installed"] = True

