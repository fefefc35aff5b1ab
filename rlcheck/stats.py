"""Statistical tests with declared error rates, each returning a :class:`~rlcheck.result.CheckResult`.

Every test takes ``alpha`` (its false-positive rate under the null), reports its p-value, an
effect estimate with a ``1 - alpha`` confidence interval, the sample size, and the smallest effect
it detects with 95% power (:data:`~rlcheck.result.POWER`) at that sample size. The tests are
asymptotic (CLT) unless stated; their calibration is measured, not assumed, in
``tests/test_stats.py`` and on the report page "How much to trust these checks".

Longer than 400 lines because each test sits beside its power (detectable-effect) formula, and the
tests share the private helpers that validate samples.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from rlcheck.result import POWER, CheckResult
from rlcheck.validation import validate_alpha

Alternative = Literal["two-sided", "less", "greater"]
RANK_TOL = 1e-10


def bonferroni(alpha_total: float, k: int) -> float:
    """Per-test level ``alpha_total / k`` so that ``k`` tests fail falsely with probability <= alpha_total."""
    validate_alpha(alpha_total)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return alpha_total / k


def _as_samples(name: str, x: ArrayLike, min_n: int = 2) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError(f"{name} must be an array of samples along axis 0, got a scalar")
    if x.shape[0] < min_n:
        raise ValueError(f"{name} needs at least {min_n} samples, got {x.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


# ----------------------------------------------------------------------------- scalar means

def _t_detectable(n_eff: float, df: float, sd: float, alpha: float,
                  alternative: Alternative = "two-sided") -> float:
    """Smallest ``|delta|`` with power :data:`POWER` for a t-test: solve for the noncentrality
    ``nc = delta sqrt(n_eff) / sd`` with ``P(|T| > t_crit | nc) = POWER``."""
    if sd == 0:
        return 0.0
    two = alternative == "two-sided"
    t_crit = stats.t.isf(alpha / 2 if two else alpha, df)

    def power(nc: float) -> float:
        upper = float(np.nan_to_num(stats.nct.sf(t_crit, df, nc), nan=1.0))
        lower = float(np.nan_to_num(stats.nct.cdf(-t_crit, df, nc), nan=0.0)) if two else 0.0
        return upper + lower

    nc = optimize.brentq(lambda c: power(c) - POWER, 0.0, 2.0 * t_crit + 20.0)
    return float(nc * sd / math.sqrt(n_eff))


def t_test(samples: ArrayLike, mu0: float = 0.0, *, alpha: float,
           alternative: Alternative = "two-sided", name: str = "t_test",
           seed: int | None = None) -> CheckResult:
    """One-sample t-test of ``H0: E[x] = mu0``. Effect: ``mean(x) - mu0`` with its t interval."""
    validate_alpha(alpha)
    x = _as_samples("samples", samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be 1-D, got shape {x.shape}")
    n = x.shape[0]
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    se = sd / math.sqrt(n)
    effect = mean - mu0
    if se == 0:
        p = 1.0 if effect == 0 else 0.0
        tval = 0.0 if effect == 0 else math.copysign(math.inf, effect)
    else:
        res = stats.ttest_1samp(x, mu0, alternative=alternative)
        p, tval = float(res.pvalue), float(res.statistic)
    half = stats.t.isf(alpha / 2, n - 1) * se
    detectable = _t_detectable(n, n - 1, sd, alpha, alternative)
    passed = p > alpha
    verdict = (f"mean {mean:.6g} vs expected {mu0:.6g}: difference {effect:+.3g} "
               f"(CI [{effect - half:+.3g}, {effect + half:+.3g}]), p={p:.3g} "
               f"{'>' if passed else '<='} alpha={alpha:g}; detects |diff| >= {detectable:.3g}")
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha, p_value=p,
                       statistic=tval, effect=effect, ci=(effect - half, effect + half), n=n,
                       detectable_effect=detectable, effect_name="mean difference", seed=seed,
                       details={"mean": mean, "expected": mu0, "sd": sd})


# ----------------------------------------------------------------------------- vector means

def _reduce_rank(cov: np.ndarray) -> np.ndarray:
    """Orthonormal basis ``U [p, k]`` of the numerical range of a covariance matrix.

    Score vectors of a softmax policy sum to zero over the actions of each state, so their
    covariance is singular; the test runs in the subspace the samples span."""
    w, U = np.linalg.eigh(cov)
    keep = w > RANK_TOL * max(float(w.max(initial=0.0)), 1e-300) * cov.shape[0]
    return U[:, keep]


def _ncf_detectable(p: int, df2: float, scale: float, alpha: float) -> float:
    """Smallest Mahalanobis distance ``D`` with power :data:`POWER` for an F test whose
    noncentrality is ``scale * D^2`` (``df2`` rounded to an integer for the cached solve)."""
    return float(math.sqrt(_ncf_power_lambda(int(p), max(1, round(df2)), float(alpha)) / scale))


@functools.lru_cache(maxsize=4096)
def _ncf_power_lambda(p: int, df2: int, alpha: float) -> float:
    """The noncentrality ``lambda`` at which ``F(p, df2)`` at level ``alpha`` has power
    :data:`POWER`: ``P(F(p, df2, lambda) > F_crit) = POWER``."""
    f_crit = stats.f.isf(alpha, p, df2)

    def power(lam: float) -> float:
        return float(np.nan_to_num(stats.ncf.sf(f_crit, p, df2, lam), nan=1.0))

    return float(optimize.brentq(lambda l: power(l) - POWER, 1e-9, 1e7, rtol=1e-6))


def _ncf_interval(f_obs: float, p: int, df2: float, scale: float, alpha: float) -> tuple[float, float]:
    """Confidence interval for ``D`` by inverting the noncentral F distribution of the statistic."""
    def cdf(lam: float) -> float:
        # scipy's ncf returns NaN far in the tail, where the cdf is ~0
        value = stats.ncf.cdf(f_obs, p, df2, lam) if lam > 0 else stats.f.cdf(f_obs, p, df2)
        return float(np.nan_to_num(value, nan=0.0))

    def solve(level: float) -> float:
        if cdf(0.0) <= level:
            return 0.0
        hi = max(1.0, f_obs * p)
        while cdf(hi) > level and hi < 1e12:
            hi *= 4
        # three significant digits are reported: a relative tolerance of 1e-6 is plenty
        return optimize.brentq(lambda l: cdf(l) - level, 0.0, hi, xtol=1e-10, rtol=1e-6)

    return (math.sqrt(solve(1 - alpha / 2) / scale), math.sqrt(solve(alpha / 2) / scale))


def _untested_summary(d: np.ndarray, U: np.ndarray) -> tuple[float, np.ndarray]:
    """Norm of the part of ``d`` outside the span of ``U`` and that part itself."""
    outside = d - U @ (U.T @ d)
    return float(np.linalg.norm(outside)), outside


def known_covariance_test(samples: ArrayLike, mu0: ArrayLike, cov: ArrayLike, *, alpha: float,
                          name: str = "known_covariance_test",
                          seed: int | None = None) -> CheckResult:
    """Wald chi-square test of ``H0: E[x] = mu0`` when the covariance ``Sigma`` of one sample is
    known exactly (from an oracle): ``X² = n d^T Sigma^+ d ~ chi²(k)`` asymptotically, ``k`` the
    rank of ``Sigma``; noncentral with ``lambda = n D²`` under a shift of Mahalanobis size ``D``.

    Under ``H0`` every sample lies in ``mu0 + range(Sigma)`` almost surely, so a discrepancy
    outside that range is decided exactly (``p = 0``). Unlike :func:`hotelling_test` this does
    not need the sample to vary: a sampler that never varies where the truth does is caught."""
    validate_alpha(alpha)
    x = _as_samples("samples", samples, min_n=2)
    n = x.shape[0]
    x = x.reshape(n, -1)
    mu = np.asarray(mu0, dtype=np.float64).reshape(-1)
    sigma = np.asarray(cov, dtype=np.float64)
    p_dim = x.shape[1]
    if mu.shape[0] != p_dim or sigma.shape != (p_dim, p_dim):
        raise ValueError(f"mu0 must have {p_dim} entries and cov shape {(p_dim, p_dim)}, got "
                         f"{mu.shape} and {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError("mu0 or cov contains NaN or infinite values")
    d = x.mean(axis=0) - mu
    U = _reduce_rank((sigma + sigma.T) / 2)
    k = U.shape[1]
    scale = max(float(np.abs(x).max()), float(np.abs(mu).max()), 1e-300)
    outside, _ = _untested_summary(d, U)
    details = {"bias": d.tolist(), "max_abs_bias": float(np.abs(d).max()), "rank": k,
               "outside_support": outside}
    if outside > 1e-9 * scale * math.sqrt(p_dim):
        return CheckResult(name=name, passed=False, alpha=alpha, p_value=0.0, statistic=math.inf,
                           verdict=(f"mean differs from the expected vector by {outside:.3g} in a "
                                    f"direction the true distribution never varies in"),
                           effect=math.inf, ci=(math.inf, math.inf), n=n, detectable_effect=0.0,
                           effect_name="Mahalanobis distance", seed=seed, details=details)
    if k == 0:
        return CheckResult(name=name, passed=True, alpha=alpha, p_value=1.0, statistic=0.0,
                           verdict="the true distribution is a point mass at mu0: exact match",
                           effect=0.0, ci=(0.0, 0.0), n=n, detectable_effect=0.0,
                           effect_name="Mahalanobis distance", seed=seed, details=details)
    z = U.T @ d
    d2 = float(z @ np.linalg.solve(U.T @ sigma @ U, z))
    x2 = n * d2
    p = float(stats.chi2.sf(x2, k))
    crit = float(stats.chi2.isf(alpha, k))
    lam = optimize.brentq(lambda l: float(stats.ncx2.sf(crit, k, l)) - POWER, 1e-9, 1e7)
    detectable = math.sqrt(lam / n)

    def solve(level: float) -> float:
        if stats.chi2.cdf(x2, k) <= level:
            return 0.0
        hi = max(1.0, 4 * x2)
        while stats.ncx2.cdf(x2, k, hi) > level and hi < 1e12:
            hi *= 4
        return optimize.brentq(lambda l: float(stats.ncx2.cdf(x2, k, l)) - level, 1e-12, hi)

    ci = (math.sqrt(solve(1 - alpha / 2) / n), math.sqrt(solve(alpha / 2) / n))
    passed = p > alpha
    verdict = (f"Mahalanobis distance {math.sqrt(d2):.3g} (CI [{ci[0]:.3g}, {ci[1]:.3g}]) over "
               f"{k} dims with the exact covariance, X²={x2:.3g}, p={p:.3g} "
               f"{'>' if passed else '<='} alpha={alpha:g}; detects D >= {detectable:.3g}")
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha, p_value=p,
                       statistic=x2, effect=math.sqrt(d2), ci=ci, n=n,
                       detectable_effect=detectable, effect_name="Mahalanobis distance",
                       seed=seed, details=details)


def effective_dof(centred: np.ndarray, cov: np.ndarray) -> tuple[float, float]:
    """Kurtosis-adjusted degrees of freedom of a sample covariance, and the excess kurtosis.

    With ``r_i = c_i^T S^{-1} c_i`` (``c_i`` the centred samples, ``k`` dims), Mardia's
    ``b2 = mean(r_i^2)`` equals ``k (k + 2)`` for Gaussian samples; ``kappa = b2 / (k (k+2)) - 1``
    is the excess kurtosis per dimension (elliptical parametrisation). The variance of ``S``
    scales by ``1 + 3 kappa / 2`` against the Gaussian case, so ``S`` carries as much
    information as ``nu = (n - 1) / (1 + 3 kappa / 2)`` Gaussian degrees of freedom (a
    Satterthwaite-type approximation, as in Welch's test). Heavy tails (a few huge samples, e.g.
    rare large rewards) give ``nu`` near the number of those samples."""
    n, k = centred.shape
    r = np.einsum("ij,ij->i", centred @ np.linalg.inv(cov), centred)
    kappa = max(float(np.mean(r**2)) / (k * (k + 2)) - 1.0, 0.0)
    return max((n - 1) / (1.0 + 1.5 * kappa), k + 1.0), kappa


def hotelling_test(samples: ArrayLike, mu0: ArrayLike, *, alpha: float, name: str = "hotelling_test",
                   seed: int | None = None, fixed: ArrayLike | None = None,
                   heavy_tails: bool = False) -> CheckResult:
    """One-sample Hotelling T² test of ``H0: E[x] = mu0`` for vectors ``x`` (any trailing shape).

    ``T² = n d^T S^+ d`` with ``d = mean(x) - mu0`` restricted to the ``k``-dimensional range of the
    sample covariance ``S``; ``F = (n-k) / (k (n-1)) T² ~ F(k, n-k)`` under ``H0`` for Gaussian
    samples (asymptotically otherwise). Effect: the per-sample Mahalanobis distance
    ``D = sqrt(delta^T Sigma^+ delta)``; under a mean shift ``delta`` the statistic ``F`` is
    noncentral ``F(k, n-k, lambda)`` with ``lambda = n D²`` (Anderson 2003, 5.2), which gives the
    interval for ``D`` and the detectable ``D``.

    Directions along which the samples never vary carry no information about the variance there:
    a rare event that did not happen in this sample (a rare action never drawn) leaves a correct
    estimator's mean off ``mu0`` along such a direction, so the sample alone cannot decide it.
    Those components are *untested* (reported in ``details["untested_norm"]``), not rejected.
    Only directions known in advance to have zero variance can be decided exactly: pass them as
    ``fixed`` (rows or columns spanning them, shape ``[m, p]``), e.g. from a model of the data;
    a mean discrepancy along ``fixed`` beyond round-off fails with ``p = 0``.

    ``heavy_tails=True`` replaces ``n - 1`` by the kurtosis-adjusted degrees of freedom ``nu``
    of :func:`effective_dof` (``F = (nu - k + 1) / (k nu) T² ~ F(k, nu - k + 1)``): with a few
    huge samples the covariance is estimated from those few, and the unadjusted test rejects far
    more often than ``alpha`` (the rare-large-reward family of :mod:`rlcheck.trust.stress`
    measures both rates; ``tests/test_stats.py`` asserts the difference). For Gaussian samples
    ``nu ~ n - 1`` and nothing changes.
    """
    validate_alpha(alpha)
    x = _as_samples("samples", samples, min_n=3)
    n = x.shape[0]
    x = x.reshape(n, -1)
    mu = np.asarray(mu0, dtype=np.float64).reshape(-1)
    if mu.shape[0] != x.shape[1]:
        raise ValueError(f"mu0 has {mu.shape[0]} entries but samples have {x.shape[1]} per sample")
    if not np.isfinite(mu).all():
        raise ValueError("mu0 contains NaN or infinite values")
    mean = x.mean(axis=0)
    d = mean - mu
    scale = max(float(np.abs(x).max()), float(np.abs(mu).max()), 1e-300)
    tol = 1e-9 * scale * math.sqrt(x.shape[1])
    bias_max = float(np.abs(d).max())
    if fixed is not None:
        F = np.atleast_2d(np.asarray(fixed, dtype=np.float64))
        if F.shape[-1] != x.shape[1]:
            raise ValueError(f"fixed must have shape [m, {x.shape[1]}], got {F.shape}")
        Q, _ = np.linalg.qr(F.T)
        along = float(np.linalg.norm(Q.T @ d))
        if along > tol:
            verdict = (f"mean differs from the expected vector by {along:.3g} along directions "
                       f"declared fixed (zero variance): a deterministic discrepancy")
            return CheckResult(name=name, passed=False, verdict=verdict, alpha=alpha, p_value=0.0,
                               statistic=math.inf, effect=math.inf, ci=(math.inf, math.inf), n=n,
                               detectable_effect=0.0, effect_name="Mahalanobis distance",
                               seed=seed, details={"bias": d.tolist(), "fixed_discrepancy": along,
                                                   "max_abs_bias": bias_max})
        x = x - (x @ Q) @ Q.T
        d = d - Q @ (Q.T @ d)
    cov = np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])
    U = _reduce_rank(cov)
    k = U.shape[1]
    untested, _ = _untested_summary(d, U)
    details = {"bias": d.tolist(), "max_abs_bias": bias_max, "rank": k,
               "untested_norm": untested if untested > tol else 0.0}
    note = (f"; {untested:.3g} of the discrepancy lies in directions the samples never vary in "
            f"(untested)" if untested > tol else "")
    if k == 0:
        return CheckResult(name=name, passed=True, alpha=alpha, p_value=1.0, statistic=0.0,
                           verdict="the samples do not vary: nothing testable" + note, effect=0.0,
                           ci=(0.0, 0.0), n=n, detectable_effect=math.inf,
                           effect_name="Mahalanobis distance", seed=seed, details=details)
    if n <= k:
        raise ValueError(f"Hotelling's test needs more samples ({n}) than dimensions ({k})")
    z = U.T @ d
    cov_k = U.T @ cov @ U
    w = np.linalg.eigvalsh(cov_k)
    d2 = float(z @ np.linalg.solve(cov_k, z)) if w.min() > 0 else math.inf
    t2 = n * d2
    nu, kappa = (effective_dof((x - mean) @ U, cov_k) if heavy_tails and w.min() > 0
                 else (float(n - 1), 0.0))
    details["effective_dof"], details["excess_kurtosis"] = nu, kappa
    df2 = nu - k + 1
    f_obs = df2 / (k * nu) * t2
    p = float(stats.f.sf(f_obs, k, df2))
    ci = _ncf_interval(f_obs, k, df2, float(n), alpha)
    detectable = _ncf_detectable(k, df2, float(n), alpha)
    passed = p > alpha
    verdict = (f"Mahalanobis distance {math.sqrt(d2):.3g} (CI [{ci[0]:.3g}, {ci[1]:.3g}]) over "
               f"{k} dims, T²={t2:.3g}, p={p:.3g} {'>' if passed else '<='} alpha={alpha:g}; "
               f"max |bias| {bias_max:.3g}; detects D >= {detectable:.3g} with n={n}{note}")
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha, p_value=p,
                       statistic=t2, effect=math.sqrt(d2), ci=ci, n=n, detectable_effect=detectable,
                       effect_name="Mahalanobis distance", seed=seed, details=details)


def two_sample_test(x: ArrayLike, y: ArrayLike, *, alpha: float, name: str = "two_sample_test",
                    seed: int | None = None) -> CheckResult:
    """Test ``H0: E[x] = E[y]`` for independent samples: Welch's t-test for scalars, the
    two-sample Hotelling T² (pooled covariance, restricted to its range) for vectors:
    ``T² = n1 n2 / (n1+n2) d^T S_p^+ d``, ``F = (n1+n2-k-1) / (k (n1+n2-2)) T² ~ F(k, n1+n2-k-1)``,
    noncentral with ``lambda = n1 n2 / (n1+n2) D²`` under a shift of Mahalanobis size ``D``.
    A difference along directions in which neither sample varies is reported as untested
    (``details["untested_norm"]``), as in :func:`hotelling_test`.
    """
    validate_alpha(alpha)
    x = _as_samples("x", x, min_n=3)
    y = _as_samples("y", y, min_n=3)
    if x.shape[1:] != y.shape[1:]:
        raise ValueError(f"x and y have different sample shapes {x.shape[1:]} and {y.shape[1:]}")
    n1, n2 = x.shape[0], y.shape[0]
    if x.ndim == 1:
        res = stats.ttest_ind(x, y, equal_var=False)
        v1, v2 = x.var(ddof=1) / n1, y.var(ddof=1) / n2
        se = math.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1)) if se > 0 else n1 + n2 - 2
        effect = float(x.mean() - y.mean())
        half = float(stats.t.isf(alpha / 2, df) * se)
        p = float(res.pvalue) if se > 0 else (1.0 if effect == 0 else 0.0)
        # detectable difference: nc = delta / se
        detectable = _t_detectable(1.0, df, se, alpha) if se > 0 else 0.0
        passed = p > alpha
        verdict = (f"means differ by {effect:+.3g} (CI [{effect - half:+.3g}, {effect + half:+.3g}]),"
                   f" p={p:.3g} {'>' if passed else '<='} alpha={alpha:g}; "
                   f"detects |diff| >= {detectable:.3g}")
        return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha, p_value=p,
                           statistic=float(res.statistic) if se > 0 else 0.0, effect=effect,
                           ci=(effect - half, effect + half), n=n1 + n2,
                           detectable_effect=detectable, effect_name="mean difference",
                           seed=seed, details={"n_x": n1, "n_y": n2})
    xf, yf = x.reshape(n1, -1), y.reshape(n2, -1)
    d = xf.mean(0) - yf.mean(0)
    pooled = ((n1 - 1) * np.cov(xf, rowvar=False) + (n2 - 1) * np.cov(yf, rowvar=False)) / (n1 + n2 - 2)
    pooled = np.atleast_2d(pooled)
    U = _reduce_rank(pooled)
    k = U.shape[1]
    scale = max(float(np.abs(xf).max()), float(np.abs(yf).max()), 1e-300)
    untested, _ = _untested_summary(d, U)
    tol = 1e-9 * scale * math.sqrt(xf.shape[1])
    details = {"difference": d.tolist(), "rank": k, "n_x": n1, "n_y": n2,
               "untested_norm": untested if untested > tol else 0.0}
    note = (f"; {untested:.3g} of the difference lies in directions neither sample varies in "
            f"(untested)" if untested > tol else "")
    if k == 0:
        return CheckResult(name=name, passed=True, alpha=alpha, p_value=1.0,
                           verdict="neither sample varies: nothing testable" + note,
                           n=n1 + n2, detectable_effect=math.inf, seed=seed, details=details)
    if n1 + n2 - 1 <= k:
        raise ValueError(f"two-sample Hotelling needs n1+n2-1 > {k} dimensions")
    z = U.T @ d
    d2 = float(z @ np.linalg.solve(U.T @ pooled @ U, z))
    c = n1 * n2 / (n1 + n2)
    t2 = c * d2
    df2 = n1 + n2 - k - 1
    f_obs = df2 / (k * (n1 + n2 - 2)) * t2
    p = float(stats.f.sf(f_obs, k, df2))
    # noncentrality lambda = n1 n2 / (n1 + n2) D^2 for F(k, n1+n2-k-1)
    ci = _ncf_interval(f_obs, k, df2, c, alpha)
    detectable = _ncf_detectable(k, df2, c, alpha)
    passed = p > alpha
    verdict = (f"Mahalanobis distance between means {math.sqrt(d2):.3g} (CI [{ci[0]:.3g}, "
               f"{ci[1]:.3g}]) over {k} dims, p={p:.3g} {'>' if passed else '<='} alpha={alpha:g};"
               f" detects D >= {detectable:.3g}{note}")
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha, p_value=p,
                       statistic=t2, effect=math.sqrt(d2), ci=ci, n=n1 + n2,
                       detectable_effect=detectable, effect_name="Mahalanobis distance",
                       seed=seed, details=details)


# ----------------------------------------------------------------------------- variances

def total_variance(x: np.ndarray) -> float:
    """Trace of the sample covariance: ``sum_k Var(x_k)`` over all per-sample coordinates."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return float(x.var(axis=0, ddof=1).sum())


def variance_ratio_test(x: ArrayLike, y: ArrayLike, *, alpha: float,
                        alternative: Alternative = "two-sided", name: str = "variance_ratio_test",
                        seed: int | None = None) -> CheckResult:
    """Test ``H0: tr Cov(x) = tr Cov(y)`` for independent samples (any trailing shape).

    Effect: the ratio ``r = tr Cov(x) / tr Cov(y)``. With ``z_i = ||x_i - mean(x)||²`` the
    delta method gives ``Var(log r) ~ Var(z_x)/(n_x mean(z_x)²) + Var(z_y)/(n_y mean(z_y)²)``, a
    z-test robust to non-Gaussian samples (unlike the F test). ``alternative="less"`` tests
    ``r < 1`` (x has the smaller variance).
    """
    validate_alpha(alpha)
    x = _as_samples("x", x, min_n=3)
    y = _as_samples("y", y, min_n=3)
    xf, yf = x.reshape(len(x), -1), y.reshape(len(y), -1)
    zx = ((xf - xf.mean(0)) ** 2).sum(1)
    zy = ((yf - yf.mean(0)) ** 2).sum(1)
    if zx.mean() == 0 or zy.mean() == 0:
        raise ValueError("variance ratio undefined: one sample has zero variance")
    log_r = math.log(zx.mean() * len(zx) / (len(zx) - 1)) - math.log(zy.mean() * len(zy) / (len(zy) - 1))
    se = math.sqrt(zx.var(ddof=1) / (len(zx) * zx.mean() ** 2) + zy.var(ddof=1) / (len(zy) * zy.mean() ** 2))
    zstat = log_r / se
    if alternative == "two-sided":
        p = float(2 * stats.norm.sf(abs(zstat)))
        crit = stats.norm.isf(alpha / 2)
    elif alternative == "less":
        p, crit = float(stats.norm.cdf(zstat)), stats.norm.isf(alpha)
    else:
        p, crit = float(stats.norm.sf(zstat)), stats.norm.isf(alpha)
    half = stats.norm.isf(alpha / 2) * se
    detectable = float(math.exp((crit + stats.norm.isf(1 - POWER)) * se))
    ratio = math.exp(log_r)
    passed = p > alpha
    verdict = (f"variance ratio {ratio:.3g} (CI [{math.exp(log_r - half):.3g}, "
               f"{math.exp(log_r + half):.3g}]), p={p:.3g} ({alternative}); detects a ratio "
               f"beyond {detectable:.3g} (or below {1 / detectable:.3g})")
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha, p_value=p,
                       statistic=zstat, effect=ratio,
                       ci=(math.exp(log_r - half), math.exp(log_r + half)), n=len(zx) + len(zy),
                       detectable_effect=detectable, effect_name="variance ratio x/y", seed=seed,
                       details={"var_x": total_variance(xf), "var_y": total_variance(yf),
                                "alternative": alternative})


# ----------------------------------------------------------------------------- rates

def rate_interval(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Clopper-Pearson (exact) ``1 - alpha`` interval for a binomial rate ``k / n``."""
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=1 - alpha, method="exact")
    return float(ci.low), float(ci.high)


def _smallest_flagging_count(n: int, level: float, confidence_alpha: float) -> int:
    """Smallest ``k`` whose two-sided ``1 - confidence_alpha`` Clopper-Pearson lower bound
    ``Beta(confidence_alpha / 2; k, n - k + 1)`` exceeds ``level`` (``n + 1`` if none)."""
    lo, hi = 1, n + 1
    while lo < hi:
        k = (lo + hi) // 2
        if stats.beta.ppf(confidence_alpha / 2, k, n - k + 1) > level:
            hi = k
        else:
            lo = k + 1
    return lo


def rate_detection_power(n: int, level: float, true_rate: float, *,
                         confidence_alpha: float = 0.01) -> float:
    """Probability that ``n`` runs of a check with false-failure rate ``true_rate`` flag it as
    above ``level``: ``P(Binomial(n, true_rate) >= k*)`` with ``k*`` the smallest count whose
    Clopper-Pearson lower bound exceeds ``level``."""
    k_star = _smallest_flagging_count(int(n), level, confidence_alpha)
    return float(stats.binom.sf(k_star - 1, int(n), true_rate))


def seeds_to_detect_rate(level: float, factor: float = 10.0, *, power: float = 0.9,
                         confidence_alpha: float = 0.01, max_n: int = 10**7) -> int:
    """Runs needed to flag, with probability ``power``, a check whose real false-failure rate is
    ``factor x level`` (:func:`rate_detection_power`); the smallest ``n`` found by bisection on
    a doubling bracket (the power is a saw-tooth in ``n``, so this is the first ``n`` at which
    the bisection sees the power reached)."""
    validate_alpha(level, "level")
    if not (factor * level < 1 and 0 < power < 1):
        raise ValueError(f"need factor * level < 1 and power in (0, 1), got {factor}, {power}")
    rate = factor * level
    hi = 8
    while rate_detection_power(hi, level, rate, confidence_alpha=confidence_alpha) < power:
        hi *= 2
        if hi > max_n:
            raise ValueError(f"more than {max_n} runs needed")
    lo = hi // 2
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if rate_detection_power(mid, level, rate, confidence_alpha=confidence_alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi


# ----------------------------------------------------------------------------- aggregate scores

def iqm(scores: ArrayLike, axis: int | None = None) -> np.ndarray | float:
    """Interquartile mean: the 25%-trimmed mean pooled over all runs (and tasks) — rliable's
    recommended aggregate (Agarwal et al. 2021)."""
    out = stats.trim_mean(np.asarray(scores, dtype=np.float64), proportiontocut=0.25, axis=axis)
    return float(out) if np.ndim(out) == 0 else out


def stratified_bootstrap_ci(scores: ArrayLike, statistic: Callable[[np.ndarray], np.ndarray] | None = None,
                            *, alpha: float = 0.05, reps: int = 10_000,
                            rng: np.random.Generator | None = None) -> tuple[float, float, float]:
    """Point estimate and percentile ``1 - alpha`` interval of ``statistic(scores)``.

    ``scores`` is ``[runs, tasks]`` (or ``[runs]``); runs are resampled with replacement
    independently within each task (rliable's stratified bootstrap). ``statistic`` maps a batch
    ``[reps, runs, tasks]`` to ``[reps]``; the default is the IQM over runs and tasks.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    x = np.asarray(scores, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"scores must be [runs >= 2, tasks], got shape {np.asarray(scores).shape}")
    if statistic is None:
        def statistic(b: np.ndarray) -> np.ndarray:
            return stats.trim_mean(b.reshape(b.shape[0], -1), 0.25, axis=1)
    runs, tasks = x.shape
    idx = rng.integers(0, runs, size=(reps, runs, tasks))
    boot = np.asarray(statistic(x[idx, np.arange(tasks)[None, None, :]]))
    point = float(np.asarray(statistic(x[None]))[0])
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)


def probability_of_improvement(x: ArrayLike, y: ArrayLike) -> float:
    """``P(X > Y) + P(X = Y)/2`` averaged over tasks: the Mann-Whitney ``U / (n_x n_y)``.

    ``x`` is ``[runs_x, tasks]`` (or ``[runs_x]``), ``y`` is ``[runs_y, tasks]``."""
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    xa = xa[:, None] if xa.ndim == 1 else xa
    ya = ya[:, None] if ya.ndim == 1 else ya
    gt = (xa[:, None, :] > ya[None, :, :]).mean(axis=(0, 1))
    eq = (xa[:, None, :] == ya[None, :, :]).mean(axis=(0, 1))
    return float((gt + 0.5 * eq).mean())


def probability_of_improvement_ci(x: ArrayLike, y: ArrayLike, *, alpha: float = 0.05, reps: int = 5_000,
                                  rng: np.random.Generator | None = None) -> tuple[float, float, float]:
    """``P(X > Y)`` with a percentile interval from resampling the runs of ``x`` and ``y``
    independently within each task (rliable's ``StratifiedIndependentBootstrap``)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    xa = xa[:, None] if xa.ndim == 1 else xa
    ya = ya[:, None] if ya.ndim == 1 else ya
    tasks = np.arange(xa.shape[1])[None, None, :]
    bx = xa[rng.integers(0, xa.shape[0], size=(reps, xa.shape[0], xa.shape[1])), tasks]
    by = ya[rng.integers(0, ya.shape[0], size=(reps, ya.shape[0], ya.shape[1])), tasks]
    cmp = bx[:, :, None, :] - by[:, None, :, :]
    boot = ((cmp > 0) + 0.5 * (cmp == 0)).mean(axis=(1, 2)).mean(axis=1)
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return probability_of_improvement(xa, ya), float(low), float(high)


def stratified_permutation_test(x: object, y: object, *, alternative: Alternative = "greater",
                                reps: int = 20_000,
                                rng: np.random.Generator | None = None) -> float:
    """p-value of ``H0``: within each task the runs of x and y are exchangeable, for the statistic
    ``P(X > Y)`` averaged over tasks (:func:`probability_of_improvement`).

    The labels are permuted within each task (``reps`` random permutations; the p-value
    ``(1 + #{T* >= T}) / (1 + reps)`` is valid at every sample size, unlike a percentile
    bootstrap interval, which with 5 runs covers less than its level and can collapse to a
    point). ``x`` is ``[runs_x, tasks]`` (or ``[runs_x]``), ``y`` ``[runs_y, tasks]``; values may
    be ``+-inf`` (ordered as usual)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    xa = xa[:, None] if xa.ndim == 1 else xa
    ya = ya[:, None] if ya.ndim == 1 else ya
    if xa.shape[1] != ya.shape[1] or np.isnan(xa).any() or np.isnan(ya).any():
        raise ValueError(f"x and y must be [runs, tasks] without NaN, got {xa.shape}, {ya.shape}")
    nx = xa.shape[0]
    pooled = np.concatenate([xa, ya], axis=0)                      # [n, tasks]
    order = np.argsort(rng.random((reps, pooled.shape[0], pooled.shape[1])), axis=1)
    perm = np.take_along_axis(np.broadcast_to(pooled, order.shape), order, axis=1)

    def poi(a: np.ndarray, b: np.ndarray) -> np.ndarray:            # [..., n_a, tasks]
        diff = a[..., :, None, :] - b[..., None, :, :]
        gt = (a[..., :, None, :] > b[..., None, :, :]) | (np.isinf(diff) & (diff > 0))
        eq = a[..., :, None, :] == b[..., None, :, :]
        return (gt + 0.5 * eq).mean(axis=(-3, -2)).mean(axis=-1)

    observed = float(poi(xa, ya))
    null = poi(perm[:, :nx], perm[:, nx:])
    if alternative == "greater":
        extreme = null >= observed - 1e-12
    elif alternative == "less":
        extreme = null <= observed + 1e-12
    else:
        extreme = np.abs(null - 0.5) >= abs(observed - 0.5) - 1e-12
    return float((1 + extreme.sum()) / (1 + reps))


def mann_whitney_test(x: ArrayLike, y: ArrayLike, *, alpha: float, alternative: Alternative = "greater",
                      name: str = "mann_whitney_test", seed: int | None = None) -> CheckResult:
    """Exact Mann-Whitney U test of ``H0: P(X > Y) = 1/2`` (scalar runs of two algorithms).

    Effect: ``P(X > Y)``. No bootstrap interval is given: with a handful of runs a percentile
    bootstrap of ``P(X > Y)`` covers less than its level and degenerates to a point (every run of
    x above every run of y gives [1.00, 1.00]); the exact p-value states the evidence instead.
    The smallest attainable one-sided p-value is ``1 / C(n_x + n_y, n_x)`` (0.004 for 5 vs 5
    runs), so few runs cannot pass a small alpha; the detectable effect is reported as ``nan``
    when even a perfect separation cannot reach alpha.
    """
    validate_alpha(alpha)
    xa = _as_samples("x", x)
    ya = _as_samples("y", y)
    res = stats.mannwhitneyu(xa, ya, alternative=alternative, method="exact")
    p = float(res.pvalue)
    point = probability_of_improvement(xa, ya)
    floor = 1.0 / math.comb(len(xa) + len(ya), len(xa))
    passed = p > alpha
    verdict = (f"P(X>Y)={point:.2f} over {len(xa)} vs {len(ya)} runs, U={res.statistic:g}, exact "
               f"p={p:.3g} ({alternative}); smallest attainable p {floor:.2g}")
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha, p_value=p,
                       statistic=float(res.statistic), effect=point, ci=(math.nan, math.nan),
                       n=len(xa) + len(ya), detectable_effect=math.nan if floor > alpha else 1.0,
                       effect_name="probability of improvement", seed=seed,
                       details={"min_p_value": floor})
