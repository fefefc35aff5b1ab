"""Every planted bug of the catalogue fails its check; every correct variant passes.

False-failure probabilities, declared for the flakiness budget:

* a correct variant of a statistical check runs at ``alpha = 1e-7`` and fails falsely with
  probability at most ``1e-7``;
* a planted bug runs at the checks' default ``alpha = 1e-3``; it must fail an exact part or a
  statistical part with a p-value below ``1e-12``, far beyond the ``1e-3`` critical value, so
  that another seed misses it with negligible probability (declared ``1e-9``).

Exact checks (Bellman backup, fitted Q iteration) are deterministic and carry no marker.
"""

from __future__ import annotations

import numpy as np
import pytest

from rlcheck.result import CheckResult
from rlcheck.trust.bugs import AREAS, EXACT_CHECKS, Mutant
from rlcheck.trust.bugs.bellman import backup_correct, backup_loops, backup_shifted
from rlcheck.trust.bugs.pg import reward_to_go_by_hand
from rlcheck.trust.bugs.sampling import collect_by_hand
from rlcheck.trust.catalogue import catalogue, mutation_score, run_mutant
from rlcheck.trust.levels import BUG_MISS_ALPHA, DECISIVE_P
from rlcheck.trust.levels import CORRECT_ALPHA as VARIANT_ALPHA


def _param(m: Mutant) -> object:
    marks: list[pytest.MarkDecorator] = []
    if m.check not in EXACT_CHECKS:
        alpha = VARIANT_ALPHA if m.must == "pass" else BUG_MISS_ALPHA
        marks.append(pytest.mark.statistical(alpha=alpha))
    if m.area == "sampling":
        marks.append(pytest.mark.slow)  # CartPole rollouts and replays: about 1 s each
    return pytest.param(m, id=m.name, marks=marks)


CATALOGUE = catalogue()


def test_catalogue_is_large_named_and_covers_every_area() -> None:
    bugs = [m for m in CATALOGUE if m.must == "catch"]
    variants = [m for m in CATALOGUE if m.must == "pass"]
    assert len(bugs) >= 25 and len(variants) >= 10
    assert len({m.name for m in CATALOGUE}) == len(CATALOGUE)
    for area in AREAS:
        assert any(m.area == area and m.must == "catch" for m in CATALOGUE), area
        assert any(m.area == area and m.must == "pass" for m in CATALOGUE), area
    for m in CATALOGUE:
        assert m.description and "\n" not in m.description and len(m.description) < 140
        assert m.check.startswith("check_")


@pytest.mark.parametrize("mutant", [_param(m) for m in CATALOGUE if m.must == "catch"])
def test_planted_bug_is_caught(mutant: Mutant) -> None:
    record = run_mutant(mutant, seed=0)
    if (not record["caught"]
            and mutant.manifests is not None and not mutant.manifests(0)):
        pytest.skip("the planted bug left the data unchanged with this seed")  # re-seeded runs
    assert record["status"] in ("failed", "raised"), f"{mutant.name} escaped: {record['verdict']}"
    assert record["caught"]
    if mutant.check not in EXACT_CHECKS and record["status"] == "failed":
        decisive = record["exact_part_failed"] or (
            record["min_part_p_value"] is not None and record["min_part_p_value"] < DECISIVE_P)
        assert decisive, (f"{mutant.name} caught only narrowly (p={record['min_part_p_value']}): "
                          "another seed could miss it")


@pytest.mark.parametrize("mutant", [_param(m) for m in CATALOGUE if m.must == "pass"])
def test_correct_variant_passes(mutant: Mutant) -> None:
    record = run_mutant(mutant, seed=0, alpha=VARIANT_ALPHA)
    assert record["status"] == "passed", f"{mutant.name} failed: {record['verdict']}"
    assert record["caught"]


@pytest.mark.slow
def test_chance_bugs_manifest_with_seed_zero() -> None:
    """The sampler bugs that act only on a chance event do act with the seed the suite uses."""
    chance = [m for m in CATALOGUE if m.manifests is not None]
    assert chance
    for m in chance[:3]:
        assert m.manifests(0), m.name


def test_run_mutant_records_what_the_report_needs() -> None:
    m = next(m for m in CATALOGUE if m.name == "backup-min")
    record = run_mutant(m, seed=3)
    for key in ("name", "description", "area", "must", "caught", "check", "n_samples"):
        assert key in record
    assert record["must"] == "catch" and record["caught"] and record["seed"] == 3
    score = mutation_score([record])
    assert score == {"bugs": 1, "bugs_caught": 1, "variants": 0, "variants_passed": 0,
                     "missed": []}


class FakeMutant(Mutant):
    """A mutant whose 'check' behaves as told, to test the harness itself."""

    def run(self, seed: int, alpha: float = 1e-3) -> CheckResult:
        behaviour = self.implementation()
        if behaviour == "type-error":
            raise TypeError("harness bug")
        if behaviour == "value-error":
            raise ValueError("weights_fn returned NaN")
        return CheckResult(name="fake", passed=behaviour == "pass", verdict=behaviour,
                           alpha=alpha)


def _fake(name: str, must: str, behaviour: str) -> Mutant:
    return FakeMutant(name, "a fake", "bellman", must, "check_nothing",  # type: ignore[arg-type]
                      lambda: behaviour)


@pytest.mark.parametrize(
    ("must", "behaviour", "status", "caught"),
    [("catch", "fail", "failed", True), ("catch", "pass", "passed", False),
     ("catch", "value-error", "raised", True), ("catch", "type-error", "error", False),
     ("pass", "pass", "passed", True), ("pass", "fail", "failed", False),
     ("pass", "value-error", "raised", False)],
)
def test_caught_means_the_verdict_matched_must(must: str, behaviour: str, status: str,
                                               caught: bool) -> None:
    record = run_mutant(_fake("fake", must, behaviour))
    assert record["status"] == status and record["caught"] is caught


def test_an_escaped_bug_lowers_the_score() -> None:
    records = [run_mutant(_fake("a", "catch", "pass")), run_mutant(_fake("b", "pass", "pass"))]
    score = mutation_score(records)
    assert score["bugs_caught"] == 0 and score["missed"] == ["a"]
    assert score["variants_passed"] == 1


def test_bad_mutants_are_refused() -> None:
    with pytest.raises(ValueError, match="must is 'catch' or 'pass'"):
        Mutant("x", "d", "bellman", "maybe", "check_x", lambda: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown area"):
        Mutant("x", "d", "nowhere", "catch", "check_x", lambda: None)
    with pytest.raises(ValueError, match="unknown sampler bug"):
        collect_by_hand(None, "CartPole-v1", 10, 0, bug="typo")  # type: ignore[arg-type]


def test_reward_to_go_helpers_match_their_equations() -> None:
    rng = np.random.default_rng(0)
    r, g = rng.standard_normal((3, 5)), 0.7
    restart = reward_to_go_by_hand(r, g, restart=True)
    absolute = reward_to_go_by_hand(r, g, restart=False)
    for t in range(5):
        assert np.allclose(restart[:, t], sum(g ** (k - t) * r[:, k] for k in range(t, 5)),
                           atol=1e-12)
        assert np.allclose(absolute[:, t], g**t * restart[:, t], atol=1e-12)
    # gamma = 0 keeps only the current reward, without 0 ** negative warnings
    assert np.array_equal(reward_to_go_by_hand(r, 0.0, restart=True), r)


def test_correct_by_hand_implementations_agree_with_references() -> None:
    from rlcheck.bellman import optimality_backup

    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(4), size=(4, 3))
    R, V = rng.standard_normal((4, 3)), rng.standard_normal(4)
    expected = optimality_backup(P, R, 0.9, V)
    for backup in (backup_correct, backup_loops, backup_shifted):
        assert np.allclose(backup(P, R, 0.9, V), expected, atol=1e-12)
