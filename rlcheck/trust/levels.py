"""The error-rate conventions of the test suite and the trust analysis, in one place.

A test of correct code declares the probability that it fails falsely; a test of a planted bug
declares the probability that another seed would miss it. Both go into the flakiness budget
(:mod:`rlcheck.trust.flakiness`), whose target is :data:`BUDGET_TARGET`.
"""

from __future__ import annotations

DEFAULT_ALPHA = 1e-3
"""The checks' default false-positive rate, at which the planted-bug catalogue runs."""

CORRECT_ALPHA = 1e-7
"""Level at which the test suite checks correct code: each such test fails falsely with at most
this probability (declared with ``@pytest.mark.statistical`` for the flakiness budget)."""

DECISIVE_P = 1e-12
"""A planted bug counts as caught decisively when its check's p-value lies below this: about
12 orders below ``CORRECT_ALPHA``, so that another seed misses it with probability below
``BUG_MISS_ALPHA`` (the rate such a test declares)."""

BUG_MISS_ALPHA = 1e-9
"""Declared miss probability of a planted bug caught with a p-value below ``DECISIVE_P``."""

PROBE_LEVEL = 0.05
"""The coarse level at which false-positive rates are resolvable with a few hundred runs."""

CALIBRATION_CONFIDENCE_ALPHA = 0.01
"""Clopper-Pearson intervals of measured rates are at level ``1 - 0.01``."""

BUDGET_TARGET = 1e-4
"""The family-wise false-failure probability per CI run that rlcheck's test suite aims below."""
