"""Run the planted-bug catalogue and score it.

:func:`catalogue` joins the areas of :mod:`rlcheck.trust.bugs`. :func:`run_catalogue` runs every
mutant with one seed and reports, per mutant, whether the check's verdict matched ``must``
(``caught``), which check decided, and how many samples it used (the check's
``CheckResult.n``). The page "How much to trust these checks" (``analyses/trust.py``) shows the
table; ``tests/test_mutants.py`` asserts the score.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlcheck.progress import track
from rlcheck.result import CheckResult
from rlcheck.trust.bugs import (
    AREAS,
    Mutant,
    bc,
    bellman,
    imitation,
    pg,
    sampling,
    td,
    time_limits,
)
from rlcheck.trust.levels import DEFAULT_ALPHA

RAISING_IS_FAILING = (ValueError, RuntimeError, AssertionError, FloatingPointError)
"""Exceptions that count as the check failing the implementation (the user's test goes red
with a message). Any other exception (``TypeError``, ``AttributeError``, ...) is recorded as an
``error`` of the harness and never counts as a catch."""


def catalogue() -> list[Mutant]:
    """Every mutant and variant, in :data:`~rlcheck.trust.bugs.AREAS` order; names are unique."""
    mutants = [*pg.mutants(), *bellman.backup_mutants(), *bellman.fqi_mutants(), *bc.mutants(),
               *imitation.mutants(), *sampling.mutants(), *td.mutants(),
               *time_limits.mutants()]
    order = {area: i for i, area in enumerate(AREAS)}
    mutants.sort(key=lambda m: order[m.area])
    names = [m.name for m in mutants]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate mutant names: {sorted(duplicates)}")
    return mutants


def run_mutant(mutant: Mutant, seed: int = 0, alpha: float = DEFAULT_ALPHA) -> dict[str, Any]:
    """Run one mutant with ``seed`` at level ``alpha``; a record with ``caught`` = the check's
    verdict matched ``must``.

    ``status`` is ``"failed"`` or ``"passed"`` (the check returned), ``"raised"`` (the check
    raised one of :data:`RAISING_IS_FAILING`: the user's test goes red, a catch) or
    ``"error"`` (anything else: never a catch).
    """
    start = time.perf_counter()
    record: dict[str, Any] = {"name": mutant.name, "description": mutant.description,
                              "area": mutant.area, "must": mutant.must, "check": mutant.check,
                              "seed": seed}
    result: CheckResult | None = None
    try:
        result = mutant.run(seed, alpha=alpha)
        status, verdict = ("passed" if result.passed else "failed"), result.verdict
    except KeyboardInterrupt:
        raise
    except RAISING_IS_FAILING as exc:
        status, verdict = "raised", f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        status, verdict = "error", f"{type(exc).__name__}: {exc}"
    if mutant.must == "catch":
        caught = status in ("failed", "raised")
    else:
        caught = status == "passed"
    failing = ([c.name for c in result.children if not c.passed] if result is not None else [])
    leaves = result.leaves() if result is not None else []
    manifested = None  # only asked of a bug that escaped: did it change anything this time?
    if mutant.must == "catch" and not caught and mutant.manifests is not None:
        manifested = bool(mutant.manifests(seed))
    record.update({
        "caught": caught, "status": status, "verdict": verdict,
        "failing_parts": failing, "manifested": manifested,
        "n_samples": int(result.n) if result is not None else 0,
        "parts": len(leaves) if result is not None else 0,
        "min_part_p_value": (min((p for p in (c.p_value for c in leaves) if np.isfinite(p)),
                                 default=None) if result is not None else None),
        "exact_part_failed": (any(not c.passed and not np.isfinite(c.p_value) for c in leaves)
                              if result is not None else False),
        "p_value": (float(result.p_value) if result is not None
                    and np.isfinite(result.p_value) else None),
        "alpha": float(result.alpha) if result is not None else None,
        "seconds": round(time.perf_counter() - start, 3),
    })
    return record


def run_catalogue(seed: int = 0, mutants: Sequence[Mutant] | None = None,
                  progress: bool | None = None) -> list[dict[str, Any]]:
    """Run every mutant (or those given) once with ``seed``; one record each (see
    :func:`run_mutant`), in catalogue order."""
    mutants = catalogue() if mutants is None else list(mutants)
    disable = None if progress is None else not progress
    return [run_mutant(m, seed) for m in track(mutants, desc="mutants", disable=disable)]


def mutation_score(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts: bugs caught of bugs, variants passed of variants, and the names that missed."""
    bugs = [r for r in records if r["must"] == "catch"]
    variants = [r for r in records if r["must"] == "pass"]
    return {
        "bugs": len(bugs), "bugs_caught": sum(r["caught"] for r in bugs),
        "variants": len(variants), "variants_passed": sum(r["caught"] for r in variants),
        "missed": [r["name"] for r in records if not r["caught"]],
    }
