"""The value object every check in rlcheck returns.

A :class:`CheckResult` records what was tested, at which false-positive rate ``alpha``, what was
measured (statistic, p-value, effect estimate with its confidence interval), how much data it
used, and the smallest effect that sample size detects with 95% power.

A check that combines several tests returns one result built by :func:`combine` (the one way to
do it): its ``children`` hold the parts, it passes when all of them do, its ``alpha`` is split
between them (Bonferroni) and its ``p_value`` has one meaning, :func:`composite_p_value`: the
smallest level at which it would fail, ``min(1, min_i p_i alpha / alpha_i)``.
:meth:`CheckResult.leaves` walks to the innermost parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

POWER = 0.95
"""The power at which every check states its smallest detectable effect."""


class CheckFailed(AssertionError):
    """Raised by :meth:`CheckResult.assert_passed`; ``result`` is the failing result (the pytest
    plugin :mod:`rlcheck.pytest_plugin` renders it in the failure report)."""

    def __init__(self, message: str, result: CheckResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one statistical or exact check.

    Attributes:
        name: what was checked, e.g. ``"check_pg_weights"`` or ``"hotelling_one_sample"``.
        passed: ``True`` when the null hypothesis (the implementation is right) is not rejected.
        verdict: one line a person reads, with the deciding numbers.
        alpha: declared false-positive rate (probability of failing a correct implementation).
        p_value: p-value of the test (``nan`` for exact checks); for a composite, the
            Bonferroni-adjusted :func:`composite_p_value` of its parts.
        statistic: the test statistic (e.g. Hotelling's T², a t value, or a max abs error).
        effect: the estimated effect (e.g. a bias, a Mahalanobis distance, a variance ratio).
        ci: confidence interval ``(low, high)`` for ``effect`` at level ``1 - alpha``.
        n: sample size the test used.
        detectable_effect: the smallest ``effect`` detected with probability :data:`POWER` at
            this ``alpha`` and ``n`` (``0.0`` for exact checks at floating-point tolerance).
        effect_name: what ``effect`` measures, in words.
        seed: the seed that produced the samples, if any.
        children: sub-results of a composite check.
        details: anything else worth reporting (arrays as lists, counts, tolerances).
    """

    name: str
    passed: bool
    verdict: str
    alpha: float
    p_value: float = math.nan
    statistic: float = math.nan
    effect: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    n: int = 0
    detectable_effect: float = math.nan
    effect_name: str = ""
    seed: int | None = None
    children: tuple[CheckResult, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:  # pragma: no cover - guard against `assert result`
        raise TypeError(
            "CheckResult has no truth value; use `result.passed` or `result.assert_passed()`"
        )

    def assert_passed(self) -> CheckResult:
        """Raise ``AssertionError`` with the verdict (and failing parts) unless the check passed."""
        if not self.passed:
            failing = [c for c in self.children if not c.passed]
            lines = [self.verdict, *(f"  - {c.name}: {c.verdict}" for c in failing)]
            raise CheckFailed("\n".join(lines), self)
        return self

    def leaves(self) -> list[CheckResult]:
        """The innermost parts of a (possibly nested) result, depth first; ``[self]`` for a
        result without children."""
        if not self.children:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary (non-finite floats become ``None``)."""
        return to_jsonable(asdict(self))

    def __str__(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        return f"[{status}] {self.name}: {self.verdict}"


def composite_p_value(alpha: float, children: Sequence[CheckResult]) -> float:
    """The p-value of a composite check that splits ``alpha`` between its parts (Bonferroni):

    ``p = min(1, min_i p_i alpha / alpha_i)`` over the statistical parts (``alpha_i > 0`` and a
    finite ``p_i``); ``nan`` when no part is statistical. It is the smallest level ``L`` at which
    the composite, run at ``L`` with the same shares ``alpha_i / alpha``, would fail a
    statistical part: the composite fails at its own ``alpha`` exactly when ``p <= alpha`` or an
    exact part fails. With ``K`` equal shares it is ``min(1, K p_min)``. A part that is itself
    composite carries its own adjusted p-value, so the definition nests: the result is the same
    as applying it to the innermost parts (:meth:`CheckResult.leaves`).
    """
    scaled = [c.p_value * alpha / c.alpha for c in children
              if c.alpha > 0 and math.isfinite(c.p_value)]
    return float(min(1.0, min(scaled))) if scaled else math.nan


def combine(name: str, children: Sequence[CheckResult], *, alpha: float | None = None,
            seed: int | None = None, details: Mapping[str, Any] | None = None,
            **summary: Any) -> CheckResult:
    """The one way to combine sub-checks: a result that passes iff every child passes.

    ``alpha`` is the family-wise false-positive rate, at most the sum of the children's alphas
    (Bonferroni; the default is that sum); ``p_value`` is :func:`composite_p_value`. ``summary``
    sets any other field of :class:`CheckResult` (``verdict``, ``n``, ``statistic``, ``effect``,
    ``ci``, ``detectable_effect``, ``effect_name``) that the check reports for the whole; by
    default the verdict counts the failing parts and ``n`` is the children's total.
    """
    if not children:
        raise ValueError("combine needs at least one child result")
    passed = all(c.passed for c in children)
    total = float(sum(c.alpha for c in children)) if alpha is None else float(alpha)
    failed = [c.name for c in children if not c.passed]
    verdict = (f"all {len(children)} parts pass" if passed
               else f"{len(failed)} of {len(children)} parts fail: {', '.join(failed)}")
    fields: dict[str, Any] = {"verdict": verdict, "n": int(sum(c.n for c in children)),
                              **summary}
    return CheckResult(
        name=name, passed=passed, alpha=total, p_value=composite_p_value(total, children),
        seed=seed, children=tuple(children), details=dict(details or {}), **fields,
    )


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as Python numbers and lists, mappings as dicts with
    string keys, tuples as lists, and non-finite floats as ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    return value
