"""The planted-bug catalogue: implementations a user might write, each fed to one public check.

A check is only as good as the bugs it catches and the correct code it lets through. Each
:class:`Mutant` is one implementation, fed to one public check of :mod:`rlcheck.checks`:

* ``must="catch"``: a realistic bug, with a one-line description of the mistake people make;
  the check must fail it.
* ``must="pass"``: a correct implementation written in an unusual way (an extra constant in the
  baseline, one past reward in the reward-to-go, a shift-invariant backup, ...); the check must
  pass it.

The bugs live in one module per area, mirroring :mod:`rlcheck.checks`: :mod:`.pg` (weights,
baselines, discounting), :mod:`.bellman` (backups and fitted Q iteration), :mod:`.bc` (losses),
:mod:`.imitation` (DAgger), :mod:`.sampling` (trajectory collectors) and :mod:`.td` (TD
targets from a replay batch). Each exposes
``mutants() -> list[Mutant]``; :func:`rlcheck.trust.catalogue.catalogue` joins them. This is
the one list of planted bugs: the tests and the analyses read it rather than keep their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import rlcheck.checks
from rlcheck.result import CheckResult
from rlcheck.trust.levels import DEFAULT_ALPHA

Must = Literal["catch", "pass"]
"""What the check must do with a mutant: fail it (a bug) or pass it (a correct variant)."""

AREAS: tuple[str, ...] = ("pg-weights", "baselines", "discounting", "bellman", "bc-loss",
                          "dagger", "sampling", "fitted-iteration", "td-targets", "time-limits")
"""The areas of the catalogue, in report order."""

EXACT_CHECKS = frozenset({"check_bellman_backup", "check_fitted_q_iteration", "check_td_targets"})
"""Checks without a statistical part: deterministic for a given seed."""


@dataclass(frozen=True)
class Mutant:
    """One implementation fed to one public check.

    Attributes:
        name: short kebab-case id, unique in the catalogue.
        description: one line: the mistake people really make (or why the variant is correct).
        area: one of :data:`AREAS`.
        must: ``"catch"`` (a bug the check must fail) or ``"pass"`` (correct code it must pass).
        check: name of the public check in :mod:`rlcheck.checks` that decides.
        implementation: the function handed to the check (a weights function, a backup, a
            loss, a DAgger loop or a collector, as the check's signature asks).
        options: further keyword arguments of the check (e.g. ``target="causal"``).
        manifests: ``seed -> bool``, whether the planted bug changes the implementation's
            output with that seed (``None``: always). Some bugs act only on a chance event,
            e.g. a mislabelled step-budget cut when the last episode happens to end exactly at
            the budget; such a run gives the check nothing to catch.
    """

    name: str
    description: str
    area: str
    must: Must
    check: str
    implementation: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    manifests: Callable[[int], bool] | None = None

    def __post_init__(self) -> None:
        if self.must not in ("catch", "pass"):
            raise ValueError(f"{self.name}: must is 'catch' or 'pass', got {self.must!r}")
        if self.area not in AREAS:
            raise ValueError(f"{self.name}: unknown area {self.area!r}; known: {AREAS}")

    def run(self, seed: int, alpha: float = DEFAULT_ALPHA) -> CheckResult:
        """Run the check on this implementation with ``seed`` at false-positive rate ``alpha``."""
        check: Callable[..., CheckResult] = getattr(rlcheck.checks, self.check)
        return check(self.implementation, alpha=alpha, seed=seed, **self.options)
