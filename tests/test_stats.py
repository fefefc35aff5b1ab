"""The statistical tests hold their alpha on true nulls and reject planted effects.

Calibration tests count rejections over many seeded repetitions of a test at alpha=0.05 and
compare the count with Binomial(reps, 0.05) in a two-sided exact binomial test at level 1e-6,
so each calibration test itself fails falsely with probability <= 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from rlcheck import stats
from rlcheck.result import POWER, CheckResult, combine

REPS = 400
LEVEL = 0.05
POWER_BAND = (352, 399)
"""Hits at the stated detectable effect (true power 0.95) must lie in this band of REPS."""


def band_alpha(low: int, high: int, reps: int = REPS, p: float = POWER) -> float:
    """Exact probability that Binomial(reps, p) falls outside ``[low, high]``: the false-failure
    probability a power test with that band declares."""
    return float(sps.binom.cdf(low - 1, reps, p) + sps.binom.sf(high, reps, p))


def rejection_rate_consistent(rejections: int, reps: int = REPS, alpha: float = LEVEL) -> bool:
    return sps.binomtest(rejections, reps, alpha).pvalue > 1e-6


def rejections(test, draw, reps: int = REPS) -> int:
    rng = np.random.default_rng(2024)
    return sum(not test(*draw(rng), alpha=LEVEL).passed for _ in range(reps))


@pytest.mark.statistical(alpha=1e-6)
@pytest.mark.parametrize(
    ("name", "test", "draw"),
    [
        ("t gaussian", stats.t_test, lambda r: (r.normal(3.0, 2.0, 50), 3.0)),
        ("t skewed n=400", stats.t_test, lambda r: (r.exponential(1.0, 400), 1.0)),
        ("hotelling gaussian", stats.hotelling_test,
         lambda r: (r.standard_normal((60, 5)) @ np.diag([1, 2, 3, 4, 5]), np.zeros(5))),
        ("hotelling singular (softmax-like)", stats.hotelling_test,
         lambda r: ((lambda z: np.stack([z, -z], 2).reshape(80, -1))(r.standard_normal((80, 3))),
                    np.zeros(6))),
        ("two-sample scalar", stats.two_sample_test,
         lambda r: (r.normal(0, 1, 40), r.normal(0, 3, 70))),
        ("two-sample vector", stats.two_sample_test,
         lambda r: (r.standard_normal((50, 3)), r.standard_normal((60, 3)))),
        ("variance ratio", stats.variance_ratio_test,
         lambda r: (r.standard_normal((300, 2)), 5 + r.standard_normal((300, 2)))),
        ("known covariance, skewed", stats.known_covariance_test,
         lambda r: (r.exponential(1.0, (200, 3)) * [1, 2, 3], [1, 2, 3], np.diag([1, 4, 9.0]))),
    ],
)
def test_false_positive_rate_matches_alpha(name: str, test, draw) -> None:
    k = rejections(test, draw)
    low, high = stats.rate_interval(k, REPS)
    assert rejection_rate_consistent(k), f"{name}: {k}/{REPS} rejections, CI [{low:.3f}, {high:.3f}]"


@pytest.mark.statistical(alpha=band_alpha(*POWER_BAND))  # 1.2e-8
def test_hotelling_rejects_a_bias_at_its_stated_detectable_effect() -> None:
    """Planted bias of exactly the stated detectable Mahalanobis distance: power should be 95%
    (exact for Gaussian samples with the noncentrality lambda = n D^2)."""
    rng = np.random.default_rng(7)
    n, p, alpha = 200, 4, 1e-3
    d_star = stats.hotelling_test(rng.standard_normal((n, p)), np.zeros(p), alpha=alpha).detectable_effect
    shift = np.full(p, d_star / math.sqrt(p))
    hits = sum(not stats.hotelling_test(rng.standard_normal((n, p)) + shift, np.zeros(p),
                                        alpha=alpha).passed for _ in range(REPS))
    low, high = POWER_BAND
    assert low <= hits <= high, f"power {hits / REPS:.3f} at the stated effect"


@pytest.mark.statistical(alpha=band_alpha(*POWER_BAND))
def test_t_test_power_at_its_stated_detectable_effect() -> None:
    rng = np.random.default_rng(8)
    n, alpha = 100, 1e-3
    d_star = stats.t_test(rng.standard_normal(n), 0.0, alpha=alpha).detectable_effect
    hits = sum(not stats.t_test(rng.standard_normal(n) + d_star, 0.0, alpha=alpha).passed
               for _ in range(REPS))
    low, high = POWER_BAND
    assert low <= hits <= high, f"power {hits / REPS:.3f} at the stated effect"


def test_power_band_alpha_is_the_exact_binomial_tail() -> None:
    """The band [360, 396] once declared < 1e-6 has an exact tail of 1.6e-5; the band in use
    declares its own tail, below 1e-7."""
    assert band_alpha(360, 396) == pytest.approx(1.6365e-5, rel=1e-3)
    assert band_alpha(*POWER_BAND) < 1e-7


@pytest.mark.statistical(alpha=band_alpha(*POWER_BAND))
def test_two_sample_hotelling_power_at_its_stated_detectable_effect() -> None:
    """The two-sample noncentrality is lambda = n1 n2 / (n1 + n2) D^2: at the stated detectable
    D the power is 95%."""
    rng = np.random.default_rng(9)
    n1, n2, p, alpha = 120, 80, 3, 1e-3
    d_star = stats.two_sample_test(rng.standard_normal((n1, p)), rng.standard_normal((n2, p)),
                                   alpha=alpha).detectable_effect
    shift = np.full(p, d_star / math.sqrt(p))
    hits = sum(not stats.two_sample_test(rng.standard_normal((n1, p)) + shift,
                                         rng.standard_normal((n2, p)), alpha=alpha).passed
               for _ in range(REPS))
    low, high = POWER_BAND
    assert low <= hits <= high, f"power {hits / REPS:.3f} at the stated effect"


def test_known_covariance_test_catches_a_sample_that_never_varies() -> None:
    """Where the truth varies and the sample does not, only the known covariance can decide."""
    x = np.tile([1.0, 0.0], (80, 1))  # always state 0, never state 1
    cov = np.array([[0.25, -0.25], [-0.25, 0.25]])  # truth: a fair coin between them
    result = stats.known_covariance_test(x, [0.5, 0.5], cov, alpha=1e-3)
    assert not result.passed and result.p_value < 1e-12
    off = stats.known_covariance_test(x, [0.9, 0.0], cov, alpha=1e-3)  # sum differs: outside
    assert not off.passed and off.p_value == 0.0 and "never varies" in off.verdict


def rare_jackpots(r: np.random.Generator, n: int = 5000, k: int = 8, q: float = 0.004) -> tuple:
    """Score-like null samples with rare huge jumps: ~20 of 5000 samples add 1000 (e_j - 1/k)."""
    u = np.eye(k)[r.integers(0, k, n)] - 1.0 / k
    return r.standard_normal((n, k)) + 1000.0 * (r.random(n) < q)[:, None] * u, np.zeros(k)


def hotelling_heavy(x, mu, *, alpha):
    return stats.hotelling_test(x, mu, alpha=alpha, heavy_tails=True)


# declared: P(Binomial(400, 0.25) <= 32) = 1.5e-18, for a real rate of 0.25 or more (measured
# 173/400 = 0.43)
@pytest.mark.statistical(alpha=float(sps.binom.cdf(32, REPS, 0.25)))
def test_unadjusted_hotelling_is_miscalibrated_on_rare_jackpots() -> None:
    """Why heavy_tails exists: ~20 huge samples carry the covariance, and the plain
    F(k, n-k) reference rejects far more often than 0.05 (173 of 400 measured)."""
    k = rejections(stats.hotelling_test, rare_jackpots)
    assert k > 32, f"{k}/{REPS}"


# declared: P(Binomial(400, 0.05) > 50) = 1.3e-9 (upper tail at the nominal rate)
@pytest.mark.statistical(alpha=float(sps.binom.sf(50, REPS, LEVEL)))
def test_kurtosis_adjusted_hotelling_holds_its_level_on_rare_jackpots() -> None:
    """With the effective degrees of freedom the same samples reject at most at the nominal
    rate (4 of 400 measured: conservative)."""
    k = rejections(hotelling_heavy, rare_jackpots)
    assert k <= 50, f"{k}/{REPS}"


def test_effective_dof_is_n_minus_1_for_gaussian_samples() -> None:
    x = np.random.default_rng(0).standard_normal((5000, 3))
    c = x - x.mean(0)
    nu, kappa = stats.effective_dof(c, np.cov(x, rowvar=False))
    assert abs(kappa) < 0.05 and nu == pytest.approx(4999, rel=0.08)


def test_hotelling_noncentrality_is_n_d_squared() -> None:
    """Power at the stated detectable D equals ncf.sf(F_crit, k, n-k, n D^2) = 0.95."""
    rng = np.random.default_rng(3)
    n, k, alpha = 30, 4, 1e-3
    d_star = stats.hotelling_test(rng.standard_normal((n, k)), np.zeros(k),
                                  alpha=alpha).detectable_effect
    f_crit = sps.f.isf(alpha, k, n - k)
    assert sps.ncf.sf(f_crit, k, n - k, n * d_star**2) == pytest.approx(POWER, abs=1e-6)


# noncentralities >= 14 standard errors: each case misses p < 1e-6 with probability < 1e-9
@pytest.mark.statistical(alpha=1e-9)
@pytest.mark.parametrize(
    ("test", "args"),
    [
        (stats.t_test, lambda r: (r.normal(1.0, 1, 200), 0.0)),
        (stats.hotelling_test, lambda r: (r.standard_normal((200, 3)) + [0, 0, 1.0], np.zeros(3))),
        (stats.two_sample_test, lambda r: (r.normal(0, 1, 200), r.normal(1.2, 1, 200))),
        (stats.two_sample_test, lambda r: (r.standard_normal((200, 2)),
                                           r.standard_normal((200, 2)) + [1.2, 0])),
        (stats.variance_ratio_test, lambda r: (r.standard_normal(500), 2 * r.standard_normal(500))),
    ],
)
def test_planted_effects_are_rejected(test, args) -> None:
    result = test(*args(np.random.default_rng(1)), alpha=1e-3)
    assert not result.passed, result.verdict
    assert result.p_value < 1e-6


def test_a_direction_the_samples_never_vary_in_is_untested_not_rejected() -> None:
    """A rare event that did not happen (an action never drawn) leaves a correct estimator's mean
    off mu0 along a direction with no sample variance: that cannot be decided from the sample."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 2))
    x = np.stack([z, -z], axis=2).reshape(50, -1)  # each pair sums to zero, like softmax scores
    result = stats.hotelling_test(x, [0.1, 0.1, 0.0, 0.0], alpha=1e-3)
    assert result.passed and "never vary" in result.verdict
    assert result.details["untested_norm"] == pytest.approx(0.1 * math.sqrt(2), rel=0.2)
    same = stats.two_sample_test(x, x + [0.0, 0.0, 0.5, 0.5], alpha=1e-3)
    assert same.passed and same.details["untested_norm"] > 0


@pytest.mark.statistical(alpha=1e-6)
def test_hotelling_fails_a_discrepancy_along_directions_declared_fixed() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 2))
    x = np.stack([z, -z], axis=2).reshape(50, -1)
    fixed = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])  # pair sums are known constants
    result = stats.hotelling_test(x, [0.1, 0.1, 0.0, 0.0], alpha=1e-3, fixed=fixed)
    assert not result.passed and result.p_value == 0.0 and "declared fixed" in result.verdict
    stats.hotelling_test(x, [0.0, 0.0, 0.0, 0.0], alpha=1e-6, fixed=fixed).assert_passed()


def test_results_carry_everything_a_report_needs() -> None:
    result = stats.hotelling_test(np.random.default_rng(0).standard_normal((100, 3)), np.zeros(3),
                                  alpha=1e-3, seed=5)
    assert isinstance(result, CheckResult)
    assert result.alpha == 1e-3 and result.n == 100 and result.seed == 5
    assert result.ci[0] <= result.effect <= result.ci[1]
    assert 0 < result.detectable_effect < 1
    assert 0 <= result.p_value <= 1
    record = result.to_dict()
    assert record["effect_name"] == "Mahalanobis distance" and record["n"] == 100
    assert POWER == 0.95


def test_combine_passes_only_if_all_parts_pass_and_sums_alpha() -> None:
    ok = stats.t_test(np.arange(10.0) - 4.5, 0.0, alpha=1e-3)
    bad = stats.t_test(np.arange(10.0) + 5.0, 0.0, alpha=1e-3)
    combined = combine("both", [ok, bad])
    assert not combined.passed and combined.alpha == pytest.approx(2e-3)
    with pytest.raises(AssertionError, match="1 of 2 parts fail"):
        combined.assert_passed()
    assert combine("one", [ok]).passed
    with pytest.raises(TypeError, match="no truth value"):
        bool(ok)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: stats.t_test([1.0], 0.0, alpha=0.05), "at least 2 samples"),
        (lambda: stats.t_test([1.0, np.nan], 0.0, alpha=0.05), "NaN"),
        (lambda: stats.t_test([1.0, 2.0], 0.0, alpha=1.5), "alpha"),
        (lambda: stats.hotelling_test(np.zeros((10, 3)), np.zeros(2), alpha=0.05), "mu0 has 2"),
        (lambda: stats.hotelling_test(np.zeros((2, 5)), np.zeros(5), alpha=0.05),
         "at least 3 samples"),
        (lambda: stats.two_sample_test(np.zeros((5, 2)), np.zeros((5, 3)), alpha=0.05),
         "different sample shapes"),
        (lambda: stats.variance_ratio_test(np.zeros(5), np.ones(5), alpha=0.05), "zero variance"),
        (lambda: stats.bonferroni(0.05, 0), "k must be"),
    ],
)
def test_bad_input_raises_clear_errors(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_iqm_and_bootstrap_match_definitions() -> None:
    scores = np.array([1.0, 2.0, 3.0, 4.0, 100.0, -50.0, 5.0, 6.0])
    assert stats.iqm(scores) == pytest.approx(np.mean(np.sort(scores)[2:6]))
    point, low, high = stats.stratified_bootstrap_ci(np.random.default_rng(0).normal(size=(20, 3)))
    assert low <= point <= high


def test_probability_of_improvement() -> None:
    assert stats.probability_of_improvement([3, 4, 5], [0, 1, 2]) == 1.0
    assert stats.probability_of_improvement([1, 2], [1, 2]) == 0.5
    point, low, high = stats.probability_of_improvement_ci(np.arange(10.0) + 3, np.arange(10.0))
    assert low <= point <= high


def test_mann_whitney_reports_its_resolution_floor() -> None:
    result = stats.mann_whitney_test([5.0, 6, 7], [1.0, 2, 3], alpha=0.01)
    assert "CI" not in result.verdict and "exact p=0.05" in result.verdict  # no [1.00, 1.00]
    assert result.details["min_p_value"] == pytest.approx(0.05)
    assert result.passed  # 3 runs a side can never reach p <= 0.01
    assert math.isnan(result.detectable_effect)


def test_rate_interval_is_clopper_pearson() -> None:
    low, high = stats.rate_interval(0, 100)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 100))


def test_stratified_permutation_test_is_exact_where_enumerable() -> None:
    """One task, 5 runs a side, complete separation: the exact p is 1/C(10, 5) = 1/252."""
    p = stats.stratified_permutation_test(np.arange(5.0) + 10, np.arange(5.0), reps=20_000)
    assert p == pytest.approx(1 / 252, abs=0.0015)
    assert stats.stratified_permutation_test(np.arange(5.0), np.arange(5.0) + 10) > 0.99


# declared: P(Binomial(400, 0.05) > 50) = 1.3e-9 (upper tail at the nominal rate)
@pytest.mark.statistical(alpha=float(sps.binom.sf(50, REPS, LEVEL)))
def test_stratified_permutation_test_holds_its_level() -> None:
    rng = np.random.default_rng(11)
    k = sum(stats.stratified_permutation_test(rng.exponential(1.0, (5, 5)),
                                              rng.exponential(1.0, (5, 5)), reps=999,
                                              rng=np.random.default_rng(i)) <= LEVEL
            for i in range(REPS))
    assert k <= 50, f"{k}/{REPS}"
