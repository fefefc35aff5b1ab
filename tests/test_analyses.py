"""Every analysis, in its quick tier, reproduces the verdict recorded for its claim.

This is what ``nox -s verify`` checks, run in the test suite so CI catches an analysis that
breaks (a changed default, a bad quick-tier setting) or whose verdict drifts. Each run writes
into a temporary ``reports`` folder. The seeds are fixed, so the verdicts are deterministic; the
sampling benchmark's ratios are not, but its verdict is ``qualified`` whatever they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rlcheck import claims, verify

NEEDS_EXPERTS = {"bc-loss", "dagger-vs-bc"}
"""Analyses that load the CS285 experts (skipped where the files are not at hand)."""


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", [c.id for c in claims.ALL_CLAIMS])
def test_quick_tier_reproduces_the_recorded_verdict(claim_id: str, tmp_path: Path,
                                                    request: pytest.FixtureRequest,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if claim_id in NEEDS_EXPERTS:
        mirror = request.getfixturevalue("experts_mirror")
        monkeypatch.setenv("RLCHECK_EXPERTS_MIRROR", str(mirror))
    monkeypatch.setenv("RLCHECK_PROGRESS", "0")
    claim = claims.get_claim(claim_id)
    record = verify.run_analysis(claim, "quick", reports_dir=tmp_path)
    error = tmp_path / claim_id / "quick" / "error.txt"
    assert record.verdict == claim.recorded, (
        f"{claim_id}: {record.verdict} (recorded {claim.recorded}): {record.summary}"
        + (f"\n{error.read_text()}" if error.exists() else ""))
    assert (tmp_path / claim_id / "quick" / "outcome.json").exists()
