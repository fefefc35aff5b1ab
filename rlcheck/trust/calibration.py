"""Measured false-positive rates of rlcheck's checks on correct implementations.

Every statistical check is run on correct implementations (the ``must="pass"``
variants of :mod:`rlcheck.trust.bugs`, and null samples for the tests of :mod:`rlcheck.stats`)
over many seeds. The number of false failures ``k`` of ``n`` runs gives the measured
false-positive rate ``k / n`` with its Clopper-Pearson interval
(:func:`rlcheck.stats.rate_interval`), next to the declared ``alpha``. A rate of ``1e-3``
cannot be resolved with a few hundred runs, so each run is also scored at the coarser level
:data:`PROBE_LEVEL` (0.05): a check whose parts split ``alpha`` by Bonferroni rejects at level
``L`` exactly when some part's p-value is at most ``L`` times that part's share of ``alpha``
(:func:`rejects_at`). A check is **miscalibrated** when, at either level, the lower end of the
``1 - CALIBRATION_CONFIDENCE_ALPHA`` interval lies above the level.
Calibration holds only within a check's assumptions. ``check_pg_weights`` treats episodes as
independent samples: weights that couple episodes, such as a reward-to-go over a flattened
buffer that ignores ``done`` (so each episode's weights include the later episodes'
rewards), are unbiased but made it reject well above level 0.05 over 200 seeds, so such a
variant is not in the catalogue of correct implementations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlcheck import stats
from rlcheck.progress import track
from rlcheck.result import CheckResult
from rlcheck.stats import rate_interval
from rlcheck.trust.catalogue import catalogue
from rlcheck.trust.levels import CALIBRATION_CONFIDENCE_ALPHA, PROBE_LEVEL
from rlcheck.validation import validate_alpha


def rejects_at(result: CheckResult, level: float) -> bool:
    """Whether ``result`` would fail had its check been run at ``level`` instead of ``alpha``.

    Assumes the check splits its ``alpha`` between its parts in fixed proportions (Bonferroni),
    as every composite check in rlcheck does: a leaf with share ``alpha_i`` of ``alpha`` rejects
    at level ``L`` when ``p_i <= L alpha_i / alpha``. Leaves without a p-value (exact parts,
    ``alpha_i = 0``) keep their decision. :func:`consistent` verifies the assumption on a result.
    """
    level = validate_alpha(level, "level")
    if result.alpha <= 0:
        return not result.passed
    scale = level / result.alpha
    return any(_part_rejects(leaf, scale) for leaf in result.leaves())


def _part_rejects(leaf: CheckResult, scale: float) -> bool:
    """A leaf rejects at ``scale`` times its own level; exact leaves keep their decision."""
    if leaf.alpha <= 0 or not math.isfinite(leaf.p_value):
        return not leaf.passed
    return leaf.p_value <= leaf.alpha * scale


def consistent(result: CheckResult) -> bool:
    """Whether :func:`rejects_at` at the result's own ``alpha`` reproduces its decision."""
    return result.alpha <= 0 or rejects_at(result, result.alpha) == (not result.passed)


def is_statistical(result: CheckResult) -> bool:
    """Whether any part of the result is a statistical test (a finite p-value, ``alpha > 0``)."""
    return any(leaf.alpha > 0 and math.isfinite(leaf.p_value) for leaf in result.leaves())


def leaf_p_values(result: CheckResult) -> list[float]:
    """The p-values of the statistical leaves of a result, depth first."""
    return [float(leaf.p_value) for leaf in result.leaves() if math.isfinite(leaf.p_value)]


@dataclass(frozen=True)
class CalibrationCase:
    """A correct implementation fed to a check: ``run(seed) -> CheckResult`` at the declared alpha."""

    name: str
    check: str
    run: Callable[[int], CheckResult]


def _stats_cases(alpha: float = 1e-3) -> list[CalibrationCase]:
    """Null samples for the tests of :mod:`rlcheck.stats` (the truth holds exactly)."""
    def make(draw: Callable[[np.random.Generator], tuple], test: Callable[..., CheckResult],
             **kw: Any) -> Callable[[int], CheckResult]:
        def run(seed: int) -> CheckResult:
            return test(*draw(np.random.default_rng([seed, 7001])), alpha=alpha, **kw)
        return run

    def softmax_like(r: np.random.Generator) -> tuple:
        z = r.standard_normal((80, 3))
        return np.stack([z, -z], 2).reshape(80, -1), np.zeros(6)

    return [
        CalibrationCase("t_test: skewed (exponential), n=200", "stats.t_test",
                        make(lambda r: (r.exponential(1.0, 200), 1.0), stats.t_test)),
        CalibrationCase("hotelling_test: 5-d Gaussian, n=60", "stats.hotelling_test",
                        make(lambda r: (r.standard_normal((60, 5)) * [1, 2, 3, 4, 5],
                                        np.zeros(5)), stats.hotelling_test)),
        CalibrationCase("hotelling_test: singular softmax-like, n=80", "stats.hotelling_test",
                        make(softmax_like, stats.hotelling_test)),
        CalibrationCase("two_sample_test: Welch, unequal variances", "stats.two_sample_test",
                        make(lambda r: (r.normal(0, 1, 40), r.normal(0, 3, 70)),
                             stats.two_sample_test)),
        CalibrationCase("two_sample_test: 3-d Hotelling", "stats.two_sample_test",
                        make(lambda r: (r.standard_normal((50, 3)), r.standard_normal((60, 3))),
                             stats.two_sample_test)),
        CalibrationCase("variance_ratio_test: equal variances", "stats.variance_ratio_test",
                        make(lambda r: (r.standard_normal((300, 2)),
                                        5 + r.standard_normal((300, 2))),
                             stats.variance_ratio_test)),
    ]


def calibration_cases(*, all_variants: bool | frozenset[str] = True) -> list[CalibrationCase]:
    """The calibration cases: the tests of :mod:`rlcheck.stats` on null samples, then the
    ``must="pass"`` variants of the mutant catalogue: all of them (``all_variants=True``), the
    first variant of each check (``False``), or all variants of the checks named in a set and
    the first of the others."""
    cases = _stats_cases()
    seen: set[str] = set()
    for m in catalogue():
        every = all_variants if isinstance(all_variants, bool) else m.check in all_variants
        if m.must != "pass" or (not every and m.check in seen):
            continue
        seen.add(m.check)
        cases.append(CalibrationCase(f"{m.check}: {m.name}", m.check, m.run))
    return cases


def calibrate(case: CalibrationCase, seeds: Sequence[int], *,
              probe_level: float = PROBE_LEVEL,
              confidence_alpha: float = CALIBRATION_CONFIDENCE_ALPHA) -> dict[str, Any]:
    """Run ``case`` once per seed and measure its false-positive rates.

    Returns a record with the declared ``alpha``, the false failures at ``alpha`` and at
    ``probe_level`` (via :func:`rejects_at`) with their Clopper-Pearson intervals, whether the
    check is statistical at all, whether each rate is ``within`` its level (the interval's lower
    end does not exceed it), and the leaf p-values per seed.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("calibrate needs at least one seed")
    results = [case.run(int(s)) for s in seeds]
    alpha = float(results[0].alpha)
    n = len(results)
    fails = sum(not r.passed for r in results)
    statistical = any(is_statistical(r) for r in results)
    probe = (sum(rejects_at(r, probe_level) for r in results)
             if statistical and alpha > 0 and probe_level > alpha else None)
    low, high = rate_interval(fails, n, confidence_alpha)
    record: dict[str, Any] = {
        "case": case.name, "check": case.check, "statistical": statistical,
        "alpha": alpha, "n_seeds": n, "false_failures": fails, "rate": fails / n,
        "ci_low": low, "ci_high": high, "within_alpha": low <= alpha,
        "consistent": all(consistent(r) for r in results),
        "samples_per_run": int(results[0].n),
        "p_values": [leaf_p_values(r) for r in results],
    }
    if probe is not None:
        plow, phigh = rate_interval(probe, n, confidence_alpha)
        record.update({"probe_level": probe_level, "probe_failures": probe,
                       "probe_rate": probe / n, "probe_ci_low": plow, "probe_ci_high": phigh,
                       "within_probe": plow <= probe_level})
    else:
        record.update({"probe_level": None, "probe_failures": None, "probe_rate": None,
                       "probe_ci_low": None, "probe_ci_high": None, "within_probe": True})
    record["within"] = bool(record["within_alpha"] and record["within_probe"]
                            and record["consistent"])
    return record


SLOW_CHECKS = frozenset({"check_sampler"})
"""Checks that take about a second per call (environment rollouts and replays)."""


def run_calibration(n_seeds: int, *, all_variants: bool | frozenset[str] = True,
                    first_seed: int = 1000,
                    slow_seeds: int | None = None,
                    progress: bool | None = None) -> list[dict[str, Any]]:
    """:func:`calibrate` every case of :func:`calibration_cases` on seeds
    ``first_seed .. first_seed + n_seeds - 1`` (kept apart from the seed 0 of the catalogue);
    checks in :data:`SLOW_CHECKS` on the first ``slow_seeds`` of them if given."""
    cases = calibration_cases(all_variants=all_variants)
    disable = None if progress is None else not progress
    records = []
    for case in track(cases, desc="calibration", disable=disable):
        n = n_seeds if slow_seeds is None or case.check not in SLOW_CHECKS else slow_seeds
        records.append(calibrate(case, range(first_seed, first_seed + n)))
    return records
