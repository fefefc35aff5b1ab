"""The calibration machinery: rejection levels, false-positive rates, power, flakiness budget.

Statistical tests here declare their false-failure probability (binomial tails computed in the
comments); the pytest-based tests run pytest in a subprocess on small generated test files.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rlcheck import stats
from rlcheck.result import CheckResult, combine
from rlcheck.trust import calibration, flakiness, power
from rlcheck.trust.calibration import (
    CalibrationCase,
    calibrate,
    consistent,
    leaf_p_values,
    rejects_at,
)
from rlcheck.trust.flakiness import flakiness_budget
from rlcheck.trust.power import PowerFamily, power_curve


def _composite(p_values: list[float], alpha: float = 1e-3) -> CheckResult:
    """A Bonferroni composite of leaves with the given p-values, like the public checks."""
    share = alpha / len(p_values)
    leaves = [CheckResult(name=f"part{i}", passed=p > share, verdict="", alpha=share, p_value=p)
              for i, p in enumerate(p_values)]
    return combine("composite", leaves)


def test_rejects_at_rescales_each_part_by_its_share() -> None:
    result = _composite([0.004, 0.9, 0.5])  # shares 1e-3 / 3 each
    assert result.passed and consistent(result)
    assert not rejects_at(result, 1e-3)
    assert rejects_at(result, 0.05)       # 0.004 <= 0.05 / 3
    assert not rejects_at(result, 0.01)   # 0.004 > 0.01 / 3
    failing = _composite([1e-5, 0.9])
    assert not failing.passed and consistent(failing) and rejects_at(failing, 1e-3)
    assert leaf_p_values(failing) == [1e-5, 0.9]


def test_exact_parts_keep_their_decision_at_every_level() -> None:
    exact_fail = CheckResult(name="exact", passed=False, verdict="", alpha=0.0)
    result = combine("c", [exact_fail, CheckResult(name="s", passed=True, verdict="",
                                                   alpha=1e-3, p_value=0.5)])
    assert rejects_at(result, 0.5) and rejects_at(result, 1e-9)
    exact_pass = CheckResult(name="exact", passed=True, verdict="", alpha=0.0)
    assert not calibration.is_statistical(exact_pass)
    with pytest.raises(ValueError, match="level"):
        rejects_at(result, 1.5)


def test_rejects_at_matches_rerunning_a_real_check_at_another_level() -> None:
    from rlcheck.checks import check_pg_weights
    from rlcheck.trust.bugs.pg import rtg_absolute

    for seed in range(4):
        low = check_pg_weights(rtg_absolute, alpha=1e-3, seed=seed)
        high = check_pg_weights(rtg_absolute, alpha=0.5, seed=seed)
        assert consistent(low) and consistent(high)
        assert rejects_at(low, 0.5) == (not high.passed)


# 100 runs of a calibrated t-test at alpha = 0.01 with 1 - 1e-6 Clopper-Pearson intervals: the
# lower end exceeds 0.01 only with >= 10 rejections and the probe level 0.05 only with >= 20:
# P(Binomial(100, 0.01) >= 10) + P(Binomial(100, 0.05) >= 20) = 1.8e-7. The miscalibrated case
# rejects 40% of the time and escapes only with < 10 rejections, P = 3e-11. Declared 1e-6.
@pytest.mark.statistical(alpha=1e-6)
def test_calibrate_accepts_a_calibrated_test_and_flags_a_miscalibrated_one() -> None:
    def good(seed: int) -> CheckResult:
        x = np.random.default_rng([seed, 1]).standard_normal(30)
        return stats.t_test(x, 0.0, alpha=0.01)

    def bad(seed: int) -> CheckResult:  # declares 0.01 but rejects 40% of the time
        x = np.random.default_rng([seed, 2]).standard_normal(30)
        p = float(stats.t_test(x, 0.0, alpha=0.01).p_value)
        return CheckResult(name="bad", passed=p > 0.4, verdict="", alpha=0.01,
                           p_value=p / 40)

    ok = calibrate(CalibrationCase("good", "t", good), range(100), confidence_alpha=1e-6)
    assert ok["within"] and ok["statistical"] and ok["n_seeds"] == 100
    assert ok["ci_low"] <= ok["rate"] <= ok["ci_high"]
    flagged = calibrate(CalibrationCase("bad", "t", bad), range(100), confidence_alpha=1e-6)
    assert not flagged["within"] and not flagged["within_alpha"]


def test_calibrate_on_an_exact_check_has_no_probe_level() -> None:
    def exact(seed: int) -> CheckResult:
        return CheckResult(name="exact", passed=True, verdict="", alpha=1e-3)

    record = calibrate(CalibrationCase("exact", "x", exact), range(5))
    assert not record["statistical"] and record["probe_failures"] is None
    assert record["false_failures"] == 0 and record["within"]
    with pytest.raises(ValueError, match="at least one seed"):
        calibrate(CalibrationCase("exact", "x", exact), [])


# At size 0 the detection rate is the false-positive rate 1e-3: P(>= 5 of 40) = 7e-10. At twice
# the detectable effect the noncentrality is ~9.9, a miss has probability ~2e-11 and 6 misses of
# 40 are impossible in practice. Declared 1e-9.
@pytest.mark.statistical(alpha=1e-9)
def test_power_curve_of_the_t_test_rises_from_alpha_to_one() -> None:
    family = PowerFamily("t", "stats.t_test", "size", (0.0, 2.0),
                         power.stats_power("t_test"))
    rows = power_curve(family, range(40))
    assert [r["size"] for r in rows] == [0.0, 2.0]
    assert rows[0]["detections"] <= 4 and rows[1]["detections"] >= 35
    assert all(r["ci_low"] <= r["rate"] <= r["ci_high"] for r in rows)


def test_every_power_family_is_correct_at_size_zero_and_planted_above() -> None:
    """Size 0 of every family is a correct implementation (one seed passes); the largest size
    is detected (one seed fails): the families plant what they say."""
    for family in power.power_families():
        if family.slow:
            continue
        assert family.sizes[0] == 0.0
        assert family.run(0, 0.0).passed, family.name
        assert not family.run(0, family.sizes[-1]).passed, family.name


def test_calibration_cases_cover_every_check_with_a_correct_variant() -> None:
    cases = calibration.calibration_cases(all_variants=False)
    checks = {c.check for c in cases}
    for name in ("check_pg_weights", "check_bc_loss", "check_bellman_backup",
                 "check_fitted_q_iteration", "check_dagger", "check_sampler", "check_td_targets",
                 "stats.t_test", "stats.hotelling_test", "stats.two_sample_test",
                 "stats.variance_ratio_test"):
        assert name in checks, name


FAKE_TESTS = '''
import pytest

@pytest.mark.statistical(alpha=1e-6)
def test_a():
    pass

@pytest.mark.statistical(alpha=2e-6)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_b(k):
    pass

@pytest.mark.statistical(alpha=0.5)
@pytest.mark.skip(reason="off by default")
def test_skipped():
    pass

def test_plain():
    pass
'''

FAKE_CONFTEST = '''
def pytest_configure(config):
    config.addinivalue_line("markers", "statistical: declared alpha")
'''


def _fake_suite(tmp_path: Path, body: str) -> Path:
    (tmp_path / "conftest.py").write_text(FAKE_CONFTEST)
    (tmp_path / "test_fake.py").write_text(textwrap.dedent(body))
    return tmp_path


@pytest.mark.slow
def test_flakiness_budget_sums_declared_alphas_of_collected_tests(tmp_path: Path) -> None:
    root = _fake_suite(tmp_path, FAKE_TESTS)
    budget = flakiness_budget(["test_fake.py"], root=root)
    assert budget["n_tests"] == 4 and budget["n_tests_all"] == 5
    assert budget["budget"] == pytest.approx(1e-6 + 3 * 2e-6, rel=1e-12)
    assert budget["budget_all"] == pytest.approx(0.5 + 7e-6, rel=1e-12)
    assert budget["within_target"]
    assert budget["per_file"] == {"test_fake.py": pytest.approx(7e-6)}


RESEED_TESTS = '''
import json, os
import numpy as np
import pytest

@pytest.mark.statistical(alpha=1e-9)
def test_records_its_first_draw():
    x = float(np.random.default_rng(123).random())
    with open(os.environ["DRAW_FILE"], "a") as f:
        f.write(json.dumps({"offset": os.environ.get("RLCHECK_RESEED", "0"), "x": x}) + "\\n")

def test_not_statistical_is_not_run():
    raise AssertionError("only -m statistical tests run")
'''


@pytest.mark.slow
def test_reseeded_runs_change_every_seed_reproducibly(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = _fake_suite(tmp_path, RESEED_TESTS)
    draws = tmp_path / "draws.jsonl"
    monkeypatch.setenv("DRAW_FILE", str(draws))
    runs = flakiness.reseeded_runs([1, 1, 2], ["test_fake.py"], root=root)
    assert [r["n_tests"] for r in runs] == [1, 1, 1]
    assert all(r["passed"] == 1 and not r["failed"] for r in runs)
    xs = [json.loads(line)["x"] for line in draws.read_text().splitlines()]
    unchanged = float(np.random.default_rng(123).random())  # what offset 0 draws
    assert xs[0] == xs[1] and len({unchanged, xs[0], xs[2]}) == 3


def test_seed_mixing_leaves_generators_alone() -> None:
    rng = np.random.default_rng(0)
    assert flakiness.mix_seed(3, rng) is rng and flakiness.mix_seed(3, None) is None
    assert flakiness.mix_seed(3, 7) != flakiness.mix_seed(4, 7)
    assert flakiness.mix_seed(3, [1, 2]) == [1, 2, 0x5EED, 3]


@pytest.mark.slow
def test_the_suite_budget_is_measured_and_documented() -> None:
    """The real suite: every statistical test declares a finite alpha in (0, 1)."""
    budget = flakiness_budget()
    assert budget["n_tests"] > 0
    assert all(0 < t["alpha"] < 1 and math.isfinite(t["alpha"]) for t in budget["tests"])
    assert budget["budget"] == pytest.approx(
        sum(t["alpha"] for t in budget["tests"] if not t["skipped"]))
