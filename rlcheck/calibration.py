"""How much to trust rlcheck's checks: measured false-positive rates, power, flakiness budget.

Three measurements, each reproducible from fixed seeds:

1. **Calibration.** Every statistical check is run on correct implementations (the ``must="pass"``
   variants of :mod:`rlcheck.mutants`, and null samples for the tests of :mod:`rlcheck.stats`)
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
   rewards), are unbiased but made it reject 20 of 200 seeds at level 0.05 (99% interval
   [0.053, 0.167]), so such a variant is not in the catalogue of correct implementations.
2. **Power.** Detection rate against the size of a planted bias (a power curve) for each check.
3. **Flakiness budget.** Every seeded statistical test in the suite declares its false-failure
   probability with ``@pytest.mark.statistical(alpha=...)``. With the seeds fixed, CI is
   deterministic; the budget is the probability that a fresh choice of seeds would make some
   test fail falsely, bounded by the union bound ``sum_i alpha_i`` over the tests that run
   (:func:`flakiness_budget`, collected with pytest itself). rlcheck aims below
   :data:`BUDGET_TARGET`. :func:`reseeded_runs` reruns the statistical tests with other seeds
   to show that no test passes only because of its seed.

Re-seeding without editing the tests: with ``RLCHECK_RESEED=<k>`` set, loading this module as a
pytest plugin (``python -m pytest -m statistical -p rlcheck.calibration``) mixes ``k`` into every
seed the tests pass to ``numpy.random.default_rng`` and ``torch.manual_seed``; ``k = 0`` or unset
leaves them unchanged. Generators built directly (``np.random.Generator(PCG64(s))``),
hypothesis' derandomised examples and torch generators seeded through
``torch.Generator().manual_seed`` are not re-seeded.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcheck.result import CheckResult
from rlcheck.stats import rate_interval

PROBE_LEVEL = 0.05
"""The coarse level at which false-positive rates are resolvable with a few hundred runs."""

CALIBRATION_CONFIDENCE_ALPHA = 0.01
"""Clopper-Pearson intervals of measured rates are at level ``1 - 0.01``."""

BUDGET_TARGET = 1e-4
"""The family-wise false-failure probability per CI run that rlcheck's test suite aims below."""

CORRECT_ALPHA = 1e-7
"""Level at which the test suite checks correct code: each such test fails falsely with at most
this probability (declared with ``@pytest.mark.statistical`` for the flakiness budget)."""

DECISIVE_P = 1e-12
"""A planted bug counts as caught decisively when its check's p-value lies below this: about
12 orders below ``CORRECT_ALPHA``, so that another seed misses it with probability below
``BUG_MISS_ALPHA`` (the rate such a test declares)."""

BUG_MISS_ALPHA = 1e-9
"""Declared miss probability of a planted bug caught with a p-value below ``DECISIVE_P``."""

RESEED_ENV = "RLCHECK_RESEED"
"""Environment variable read by the re-seeding pytest plugin (this module)."""

ROOT = Path(__file__).resolve().parents[1]


# ============================================================================ rejection levels

def rejects_at(result: CheckResult, level: float) -> bool:
    """Whether ``result`` would fail had its check been run at ``level`` instead of ``alpha``.

    Assumes the check splits its ``alpha`` between its parts in fixed proportions (Bonferroni),
    as every composite check in rlcheck does: a leaf with share ``alpha_i`` of ``alpha`` rejects
    at level ``L`` when ``p_i <= L alpha_i / alpha``. Leaves without a p-value (exact parts,
    ``alpha_i = 0``) keep their decision. :func:`consistent` verifies the assumption on a result.
    """
    if not (0.0 < level < 1.0):
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    if result.alpha <= 0:
        return not result.passed
    return _leaf_rejects(result, level / result.alpha)


def _leaf_rejects(result: CheckResult, scale: float) -> bool:
    if result.children:
        return any(_leaf_rejects(c, scale) for c in result.children)
    if result.alpha <= 0 or not math.isfinite(result.p_value):
        return not result.passed
    return result.p_value <= result.alpha * scale


def consistent(result: CheckResult) -> bool:
    """Whether :func:`rejects_at` at the result's own ``alpha`` reproduces its decision."""
    return result.alpha <= 0 or rejects_at(result, result.alpha) == (not result.passed)


def is_statistical(result: CheckResult) -> bool:
    """Whether any part of the result is a statistical test (a finite p-value, ``alpha > 0``)."""
    if result.children:
        return any(is_statistical(c) for c in result.children)
    return result.alpha > 0 and math.isfinite(result.p_value)


def leaf_p_values(result: CheckResult) -> list[float]:
    """The p-values of the statistical leaves of a result, depth first."""
    if result.children:
        return [p for c in result.children for p in leaf_p_values(c)]
    return [float(result.p_value)] if math.isfinite(result.p_value) else []


# ============================================================================ calibration

@dataclass(frozen=True)
class CalibrationCase:
    """A correct implementation fed to a check: ``run(seed) -> CheckResult`` at the declared alpha."""

    name: str
    check: str
    run: Callable[[int], CheckResult]


def _stats_cases(alpha: float = 1e-3) -> list[CalibrationCase]:
    """Null samples for the tests of :mod:`rlcheck.stats` (the truth holds exactly)."""
    from rlcheck import stats

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
    from rlcheck.mutants import catalogue

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
    from rlcheck.progress import track

    cases = calibration_cases(all_variants=all_variants)
    disable = None if progress is None else not progress
    records = []
    for case in track(cases, desc="calibration", disable=disable):
        n = n_seeds if slow_seeds is None or case.check not in SLOW_CHECKS else slow_seeds
        records.append(calibrate(case, range(first_seed, first_seed + n)))
    return records


# ============================================================================ power

@dataclass(frozen=True)
class PowerFamily:
    """A planted bias of adjustable size for one check: ``run(seed, size) -> CheckResult``.

    ``size = 0`` is the correct implementation; the detection rate at ``size`` is the fraction of
    seeds on which the check fails."""

    name: str
    check: str
    size_name: str
    sizes: tuple[float, ...]
    run: Callable[[int, float], CheckResult]
    slow: bool = False
    """Seconds per call rather than tenths: left out of the quick tier."""


def _pg_power(seed: int, size: float) -> CheckResult:
    """Reward-to-go plus ``size * gamma^t 1[a_t = 1]``: an action-dependent term whose bias is
    ``size * sum_t gamma^t E[grad log pi(a_t|s_t) 1[a_t = 1]]``."""
    from rlcheck.mutants import _rtg_absolute, public_check

    def weights(batch: Any) -> np.ndarray:
        return _rtg_absolute(batch) + size * batch.discounts() * (batch.actions == 1)
    return public_check("check_pg_weights")(weights, seed=seed)


def _bc_power(seed: int, size: float) -> CheckResult:
    """NLL fitted to expert actions shifted by ``size`` in every dimension (a biased target)."""
    from rlcheck.mutants import _loss_nll, public_check

    def loss(dist: Any, actions: Any) -> Any:
        return _loss_nll(dist, actions + size)
    return public_check("check_bc_loss")(loss, seed=seed)


def _bellman_power(seed: int, size: float) -> CheckResult:
    """The correct backup plus a constant ``size`` (a tiny systematic error)."""
    from rlcheck.mutants import _backup_correct, public_check

    def backup(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
        return _backup_correct(P, R, gamma, V) + size
    return public_check("check_bellman_backup")(backup, seed=seed)


def _fqi_power(seed: int, size: float) -> CheckResult:
    """Correct linear FQI whose returned weights are perturbed by ``size``."""
    from rlcheck.mutants import _fqi, public_check

    def fqi_fn(*args: Any) -> np.ndarray:
        return _fqi(*args) + size
    return public_check("check_fitted_q_iteration")(fqi_fn, seed=seed)


def _dagger_power(seed: int, size: float) -> CheckResult:
    """DAgger whose rollouts mix the expert in with probability ``size`` at every step
    (``beta = size`` never decayed)."""
    from rlcheck.mdp import sample
    from rlcheck.mutants import public_check

    def dagger_fn(mdp: Any, expert: np.ndarray, fit: Callable[..., np.ndarray], *,
                  n_iterations: int, n_trajectories: int, rng: np.random.Generator) -> np.ndarray:
        labels = expert.argmax(axis=1)
        states = sample(mdp, expert, n_trajectories, rng).states
        data = states
        policy = fit(data, labels[data])
        for _ in range(n_iterations - 1):
            states = sample(mdp, size * expert + (1 - size) * policy, n_trajectories, rng).states
            data = np.concatenate([data, states])
            policy = fit(data, labels[data])
        return policy
    return public_check("check_dagger")(dagger_fn, seed=seed)


def _sampler_power(seed: int, size: float) -> CheckResult:
    """A collector that takes the greedy action instead of sampling with probability ``size``."""
    from rlcheck.mutants import collect_by_hand, public_check

    def collect_fn(policy: Any, env_id: str, n_steps: int, seed: int) -> Any:
        rng = np.random.default_rng([seed, 99])

        def mixed(obs: np.ndarray, policy_rng: np.random.Generator) -> np.ndarray:
            sampled = policy(obs, policy_rng)
            greedy = policy.probabilities(obs).argmax(axis=1)
            return np.where(rng.random(len(obs)) < size, greedy, sampled)
        mixed.probabilities = policy.probabilities  # type: ignore[attr-defined]
        return collect_by_hand(mixed, env_id, n_steps, seed)
    return public_check("check_sampler")(collect_fn, seed=seed)


def _stats_power(test_name: str) -> Callable[[int, float], CheckResult]:
    """Shift null samples by ``size`` times the test's own stated detectable effect."""
    from rlcheck import stats

    def run(seed: int, size: float) -> CheckResult:
        rng = np.random.default_rng([seed, 7002])
        if test_name == "t_test":
            x = rng.standard_normal(100)
            d = stats.t_test(x, 0.0, alpha=1e-3).detectable_effect
            return stats.t_test(x + size * d, 0.0, alpha=1e-3)
        x = rng.standard_normal((200, 4))
        d = stats.hotelling_test(x, np.zeros(4), alpha=1e-3).detectable_effect
        return stats.hotelling_test(x + size * d / 2.0, np.zeros(4), alpha=1e-3)
    return run


def _td_power(seed: int, size: float) -> CheckResult:
    """The correct DQN target plus a constant ``size`` (a tiny systematic error)."""
    from rlcheck.mutants import public_check
    from rlcheck.td_bugs import dqn_target

    return public_check("check_td_targets")(lambda b: dqn_target(b) + size, kind="dqn", seed=seed)


def power_families() -> list[PowerFamily]:
    """One planted-bias family per check (and for the t and Hotelling tests)."""
    return [
        PowerFamily("t_test: mean shifted by size x stated detectable effect", "stats.t_test",
                    "shift / detectable effect", (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
                    _stats_power("t_test")),
        PowerFamily("hotelling_test: mean shifted by size x stated detectable distance",
                    "stats.hotelling_test", "shift / detectable effect",
                    (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5), _stats_power("hotelling")),
        PowerFamily("check_pg_weights: reward-to-go + size * gamma^t 1[a_t = 1]",
                    "check_pg_weights", "size of the action-dependent term",
                    (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12), _pg_power),
        PowerFamily("check_bc_loss: NLL against expert actions shifted by size",
                    "check_bc_loss", "shift of the expert actions",
                    (0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.12), _bc_power),
        PowerFamily("check_bellman_backup: correct backup + size", "check_bellman_backup",
                    "constant error added", (0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6), _bellman_power),
        PowerFamily("check_fitted_q_iteration: weights + size", "check_fitted_q_iteration",
                    "constant error added to the weights",
                    (0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6), _fqi_power),
        PowerFamily("check_td_targets: DQN target + size", "check_td_targets",
                    "constant error added", (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2), _td_power),
        PowerFamily("check_dagger: rollouts mix in the expert with probability size",
                    "check_dagger", "beta (expert share of the rollout policy)",
                    (0.0, 0.005, 0.01, 0.02, 0.03, 0.05), _dagger_power),
        PowerFamily("check_sampler: greedy action instead of a sample with probability size",
                    "check_sampler", "probability of the greedy action",
                    (0.0, 0.05, 0.1, 0.15, 0.2, 0.3), _sampler_power, slow=True),
    ]


def power_curve(family: PowerFamily, seeds: Sequence[int]) -> list[dict[str, Any]]:
    """Detection rate (fraction of seeds failing) at each planted size, with Clopper-Pearson
    95% intervals; one row per size."""
    rows = []
    for size in family.sizes:
        results = [family.run(int(s), float(size)) for s in seeds]
        k = sum(not r.passed for r in results)
        low, high = rate_interval(k, len(results), 0.05)
        rows.append({"family": family.name, "check": family.check, "size_name": family.size_name,
                     "size": float(size), "n_seeds": len(results), "detections": k,
                     "rate": k / len(results), "ci_low": low, "ci_high": high,
                     "samples_per_run": int(results[0].n)})
    return rows


def run_power(n_seeds: int, *, first_seed: int = 2000, include_slow: bool = True,
              progress: bool | None = None) -> list[dict[str, Any]]:
    """:func:`power_curve` of every family (``include_slow=False``: the fast ones) on
    ``n_seeds`` seeds; families whose check does not exist yet are skipped."""
    from rlcheck.mutants import CheckUnavailable
    from rlcheck.progress import track

    seeds = range(first_seed, first_seed + n_seeds)
    rows: list[dict[str, Any]] = []
    disable = None if progress is None else not progress
    families = [f for f in power_families() if include_slow or not f.slow]
    for family in track(families, desc="power", disable=disable):
        try:
            rows.extend(power_curve(family, seeds))
        except CheckUnavailable:
            continue
    return rows


# ============================================================================ flakiness budget

def _subprocess_env(root: Path) -> dict[str, str]:
    """The environment of a pytest subprocess: rlcheck and ``root`` importable."""
    paths = [str(ROOT), str(root), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


_COLLECT_SCRIPT = r"""
import json, sys
import pytest

class Collector:
    def __init__(self):
        self.items = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        for item in items:
            marker = item.get_closest_marker("statistical")
            if marker is None:
                continue
            skipped = item.get_closest_marker("skip") is not None or any(
                m.args and m.args[0] is True for m in item.iter_markers("skipif"))
            self.items.append({"nodeid": item.nodeid,
                               "alpha": float(marker.kwargs.get("alpha", "nan")),
                               "skipped": skipped})

collector = Collector()
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[2:]],
                   plugins=[collector])
with open(sys.argv[1], "w") as f:
    json.dump({"exit_code": int(code), "items": collector.items}, f)
"""


def collect_statistical_tests(paths: Sequence[str] = ("tests",), *, root: Path = ROOT,
                              extra_args: Sequence[str] = (),
                              timeout: float = 600.0) -> list[dict[str, Any]]:
    """Every test collected by pytest under ``paths`` that carries
    ``@pytest.mark.statistical(alpha=...)``: ``nodeid``, ``alpha`` and ``skipped`` (skipped in a
    default run, e.g. ``expensive`` or ``mujoco`` without MuJoCo).

    Runs ``pytest --collect-only`` in a subprocess with a small collector plugin (after the
    project's ``conftest.py`` has marked the skips), so it sees exactly what CI collects.
    Parametrised tests count once per case, each case being an independent chance to fail.
    """
    missing = [m for m in ("pytest", "hypothesis") if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(f"the flakiness budget collects the test suite, which needs "
                           f"{' and '.join(missing)}: pip install -e '.[test]'")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "collected.json"
        proc = subprocess.run(
            [sys.executable, "-c", _COLLECT_SCRIPT, str(out), *paths, *extra_args],
            cwd=root, capture_output=True, text=True, timeout=timeout, env=_subprocess_env(root))
        if not out.exists():
            raise RuntimeError(f"pytest collection failed (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        data = json.loads(out.read_text())
    if data["exit_code"] not in (0, 5):  # 5: no tests collected
        raise RuntimeError(f"pytest collection failed (exit {data['exit_code']}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return data["items"]


def flakiness_budget(paths: Sequence[str] = ("tests",), *, root: Path = ROOT,
                     extra_args: Sequence[str] = (),
                     items: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The family-wise false-failure probability of one CI run of the statistical tests.

    ``budget = sum_i alpha_i`` over the statistical tests that run by default (union bound:
    ``P(any fails) <= sum_i P(test i fails)``, whatever their dependence); ``budget_all`` adds
    the tests skipped by default (``expensive``, ``mujoco`` without MuJoCo). With fixed seeds a
    CI run is deterministic: the budget is the chance that changing the seeds (or a harmless
    change in the order random numbers are drawn) turns a correct suite red.
    """
    items = list(collect_statistical_tests(paths, root=root, extra_args=extra_args)
                 if items is None else items)
    running = [i for i in items if not i["skipped"]]
    per_file: dict[str, float] = {}
    for i in running:
        key = i["nodeid"].split("::")[0]
        per_file[key] = per_file.get(key, 0.0) + i["alpha"]
    budget = float(sum(i["alpha"] for i in running))
    return {
        "budget": budget, "budget_all": float(sum(i["alpha"] for i in items)),
        "n_tests": len(running), "n_tests_all": len(items), "target": BUDGET_TARGET,
        "within_target": budget < BUDGET_TARGET, "per_file": per_file,
        "largest": sorted(running, key=lambda i: -i["alpha"])[:10], "tests": items,
    }


# ============================================================================ re-seeding plugin

def _mix(offset: int, seed: Any) -> Any:
    """Seed entropy with ``offset`` mixed in; generators, bit generators and ``None`` untouched."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.BitGenerator,
                                         np.random.SeedSequence)):
        return seed
    entropy = np.atleast_1d(np.asarray(seed)).astype(np.int64).ravel().tolist()
    return [*entropy, 0x5EED, offset]


def _reseed_offset() -> int:
    return int(os.environ.get(RESEED_ENV, "0") or 0)


def pytest_configure(config: Any) -> None:
    """Pytest hook (only when loaded with ``-p rlcheck.calibration``): with ``RLCHECK_RESEED=k``
    (k != 0), mix ``k`` into every seed passed to ``numpy.random.default_rng``."""
    offset = _reseed_offset()
    if offset == 0:
        return
    original_rng = np.random.default_rng

    def default_rng(seed: Any = None) -> np.random.Generator:
        return original_rng(_mix(offset, seed))

    np.random.default_rng = default_rng


def pytest_runtest_setup(item: Any) -> None:
    """Pytest hook: once torch has been imported (by a test module), shift the seeds passed to
    ``torch.manual_seed`` by ``1_000_003 k`` (torch is not imported just for this)."""
    offset = _reseed_offset()
    torch = sys.modules.get("torch")
    if offset == 0 or torch is None or getattr(torch.manual_seed, "_rlcheck_reseeded", False):
        return
    original_seed = torch.manual_seed

    def manual_seed(seed: int) -> Any:
        return original_seed((int(seed) + 1_000_003 * offset) % (2**63))

    manual_seed._rlcheck_reseeded = True  # type: ignore[attr-defined]
    torch.manual_seed = manual_seed


_RESEED_RUN_SCRIPT = r"""
import json, sys
import pytest

class Outcomes:
    def __init__(self):
        self.rows = {}

    def pytest_runtest_logreport(self, report):
        row = self.rows.setdefault(report.nodeid, {"nodeid": report.nodeid, "outcome": "passed"})
        if report.failed:
            row["outcome"] = "failed" if report.when == "call" else "error"
            row["message"] = str(report.longrepr)[-1500:]
        elif report.skipped and row["outcome"] == "passed":
            row["outcome"] = "skipped"

outcomes = Outcomes()
code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "rlcheck.calibration",
                    "-m", "statistical", *sys.argv[2:]], plugins=[outcomes])
with open(sys.argv[1], "w") as f:
    json.dump({"exit_code": int(code), "rows": list(outcomes.rows.values())}, f)
"""


def reseeded_run(offset: int, paths: Sequence[str] = ("tests",), *, root: Path = ROOT,
                 extra_args: Sequence[str] = (), timeout: float = 1800.0) -> dict[str, Any]:
    """Run the statistical tests under ``paths`` once with every seed re-mixed with ``offset``
    (see :func:`pytest_configure`); the outcome of each test."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "outcomes.json"
        proc = subprocess.run(
            [sys.executable, "-c", _RESEED_RUN_SCRIPT, str(out), *paths, *extra_args],
            cwd=root, capture_output=True, text=True, timeout=timeout,
            env={**_subprocess_env(root), RESEED_ENV: str(offset)})
        if not out.exists():
            raise RuntimeError(f"pytest failed to run (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        data = json.loads(out.read_text())
    rows = data["rows"]
    return {"offset": offset, "exit_code": data["exit_code"], "n_tests": len(rows),
            "passed": sum(r["outcome"] == "passed" for r in rows),
            "failed": [r for r in rows if r["outcome"] in ("failed", "error")],
            "skipped": sum(r["outcome"] == "skipped" for r in rows)}


def reseeded_runs(offsets: Sequence[int] = (1, 2, 3), paths: Sequence[str] = ("tests",),
                  **kwargs: Any) -> list[dict[str, Any]]:
    """:func:`reseeded_run` for each offset."""
    return [reseeded_run(k, paths, **kwargs) for k in offsets]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rlcheck.calibration [budget | reseed K ...]``: print the flakiness budget, or
    rerun the statistical tests with re-mixed seeds."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("budget", help="sum the alphas of the statistical tests")
    reseed = sub.add_parser("reseed", help="rerun the statistical tests with other seeds")
    reseed.add_argument("offsets", type=int, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "budget":
        b = flakiness_budget()
        print(f"{b['n_tests']} statistical tests run by default, sum of alphas {b['budget']:.3g} "
              f"(target < {b['target']:g}); {b['n_tests_all']} in all, {b['budget_all']:.3g}")
        for path, total in sorted(b["per_file"].items(), key=lambda kv: -kv[1]):
            print(f"  {total:.3g}  {path}")
        return 0 if b["within_target"] else 1
    bad = 0
    for offset in args.offsets:
        run = reseeded_run(offset)
        print(f"offset {offset}: {run['passed']} passed, {len(run['failed'])} failed, "
              f"{run['skipped']} skipped")
        for row in run["failed"]:
            print(f"  FAILED {row['nodeid']}")
        bad += len(run["failed"])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
