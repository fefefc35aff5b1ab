"""The verify pipeline, the report generator and the command line, on a planted analysis."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from rlcheck import claims, paths, report, verify
from rlcheck.cli import main as cli_main

ANALYSIS = '''
import csv
from rlcheck.claims import Figure, Outcome, SubClaim, Table

CLAIM_ID = "causality"

def run(tier, out_dir):
    with open(out_dir / "numbers.csv", "w", newline="") as f:
        csv.writer(f).writerows([["estimator", "bias"], ["rtg", 0.00123456], ["full", -1e-9]])
    return Outcome(verdict=VERDICT, summary="bias 0.001 (CI -0.01..0.01)",
                   method="$E[\\\\nabla \\\\log \\\\pi \\\\, r] = 0$",
                   subclaims=(SubClaim("a", "part a", "confirmed", "n=10"),),
                   tables=(Table("Bias", "numbers.csv", "per estimator"),), seed=7,
                   details={"alpha": 1e-3})

def figures(data_dir, fig_dir):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(fig_dir / "line.png")
    return [Figure("line.png", "a line")]
'''


def plant(tmp_path: Path, verdict: str, body: str = ANALYSIS) -> Path:
    analyses = tmp_path / "analyses"
    analyses.mkdir(exist_ok=True)
    (analyses / "causality.py").write_text(f"VERDICT = {verdict!r}\n" + textwrap.dedent(body))
    return analyses


def test_verify_writes_outcome_provenance_and_verdicts(tmp_path: Path) -> None:
    analyses = plant(tmp_path, claims.get_claim("causality").recorded)
    reports = tmp_path / "reports"
    records = verify.verify("quick", reports_dir=reports, analyses_dir=analyses)
    by_id = {r.claim: r for r in records}
    assert by_id["causality"].matches and by_id["causality"].evidence == "reports/causality/quick"
    assert by_id["bc-loss"].verdict == "pending" and "not written yet" in by_id["bc-loss"].summary
    outcome = json.loads((reports / "causality/quick/outcome.json").read_text())
    assert outcome["seed"] == 7 and outcome["subclaims"][0]["id"] == "a"
    prov = json.loads((reports / "causality/quick/provenance.json").read_text())
    assert {"rlcheck", "commit", "date", "seed", "tier", "libraries"} <= prov.keys()
    assert prov["tier"] == "quick" and prov["seed"] == 7
    table = json.loads((reports / "verdicts.json").read_text())
    assert set(table) == {c.id for c in claims.CLAIMS}
    for key in ("statement", "verdict", "summary", "evidence", "tier", "commit"):
        assert key in table["causality"]
    # trust has no analysis here, so it is pending while recorded confirmed: verify fails.
    assert verify.exit_status(records) == 1
    assert verify.exit_status([by_id["causality"]]) == 0


def test_verify_fails_on_a_changed_verdict(tmp_path: Path) -> None:
    recorded = claims.get_claim("causality").recorded
    other = "refuted" if recorded != "refuted" else "confirmed"
    analyses = plant(tmp_path, other)
    records = verify.verify("quick", only=["causality"], reports_dir=tmp_path / "r",
                            analyses_dir=analyses)
    assert not records[0].matches and verify.exit_status(records) == 1


def test_an_analysis_that_raises_is_an_error_with_its_traceback(tmp_path: Path) -> None:
    analyses = plant(tmp_path, "confirmed", "CLAIM_ID = 'causality'\n"
                     "def run(tier, out_dir):\n    raise RuntimeError('boom')\n")
    record = verify.run_analysis(claims.get_claim("causality"), "quick",
                                 reports_dir=tmp_path / "r", analyses_dir=analyses)
    assert record.verdict == "error" and "boom" in record.summary
    assert "RuntimeError" in (tmp_path / "r/causality/quick/error.txt").read_text()


def test_wrong_claim_id_and_bad_tier_are_refused(tmp_path: Path) -> None:
    analyses = plant(tmp_path, "confirmed", "CLAIM_ID = 'baselines'\ndef run(t, o): pass\n")
    with pytest.raises(ValueError, match="CLAIM_ID='baselines'"):
        paths.load_analysis(claims.get_claim("causality"), analyses)
    with pytest.raises(ValueError, match="tier must be one of"):
        verify.run_analysis(claims.get_claim("causality"), "medium")
    with pytest.raises(KeyError, match="unknown claim id 'nope'"):
        claims.get_claim("nope")


def test_ctrl_c_propagates(tmp_path: Path) -> None:
    analyses = plant(tmp_path, "confirmed", "CLAIM_ID = 'causality'\n"
                     "def run(tier, out_dir):\n    raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        verify.run_analysis(claims.get_claim("causality"), "quick",
                            reports_dir=tmp_path / "r", analyses_dir=analyses)


def test_report_pages_render_data_figures_and_provenance(tmp_path: Path) -> None:
    analyses = plant(tmp_path, "confirmed")
    reports = tmp_path / "reports"
    verify.run_analysis(claims.get_claim("causality"), "quick", reports_dir=reports,
                        analyses_dir=analyses)
    docs = tmp_path / "docs"
    report.generate(docs, reports, analyses)
    page = (docs / "claims/causality.md").read_text()
    assert "**Verdict: ✔ confirmed**" in page and "bias 0.001" in page
    assert "| rtg | 0.001235 |" in page  # numbers to 4 significant digits
    assert "_figures/causality/line.png" in page and (docs / "claims/_figures/causality/line.png").exists()
    assert "python analyses/causality.py --tier full" in page and "git commit" in page
    assert "… pending" in (docs / "claims/bc-loss.md").read_text()
    index = (docs / "claims/index.md").read_text()
    assert "[causality](causality.md)" in index and "[trust](trust.md)" in index


def test_report_prefers_full_tier_and_mentions_quick(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    for tier, verdict in (("quick", "qualified"), ("full", "confirmed")):
        analyses = plant(tmp_path, verdict)
        verify.run_analysis(claims.get_claim("causality"), tier, reports_dir=reports,
                            analyses_dir=analyses)
    run = report.best_run("causality", reports)
    assert run is not None and run["tier"] == "full"
    page = report.claim_page(claims.get_claim("causality"), reports, tmp_path / "docs", analyses)
    assert "full tier" in page and "The quick tier" in page and "**qualified**" in page


def test_markdown_table_formats_and_truncates() -> None:
    rows = [["a", "b"], *[[str(i), "x|y"] for i in range(5)]]
    table = report.markdown_table(rows, max_rows=3)
    assert "x\\|y" in table and "2 more rows" in table


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["list"]) == 0
    out = capsys.readouterr().out
    for claim in claims.ALL_CLAIMS:
        assert claim.id in out


# --------------------------------------------------------------- could not run vs. science changed

FETCH = '''
CLAIM_ID = "causality"

def run(tier, out_dir):
    from rlcheck.experts.download import fetch
    fetch("Ant.pkl", timeout=5)
'''


def test_offline_expert_fetch_is_could_not_run_with_its_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing listens on port 9: the fetch fails as it does without a network route.
    monkeypatch.setenv("RLCHECK_EXPERTS_MIRROR", "http://127.0.0.1:9/")
    monkeypatch.setenv("RLCHECK_CACHE_DIR", str(tmp_path / "cache"))
    analyses = plant(tmp_path, "confirmed", FETCH)
    reports = tmp_path / "r"
    records = verify.verify("quick", only=["causality"], reports_dir=reports,
                            analyses_dir=analyses)
    record = records[0]
    assert record.status == "could not run" and "RLCHECK_EXPERTS_MIRROR" in record.fix
    assert record.traceback == "reports/causality/quick/error.txt"
    assert verify.exit_status(records) == verify.EXIT_UNAVAILABLE == 3
    lines = verify.closing_lines(records)
    assert "Exit status 3" in lines[0] and "no verdict that ran differs" in lines[0]
    assert lines[-1].startswith("could not run: causality: ")
    assert "Fix: set RLCHECK_EXPERTS_MIRROR" in lines[-1]
    state = verify.read_last_run(reports)["causality"]
    assert state["status"] == "could not run" and state["fix"] == record.fix


def test_a_changed_verdict_outranks_could_not_run_and_errors(tmp_path: Path) -> None:
    def record(verdict: str, recorded: str = "qualified") -> verify.Record:
        return verify.Record("c", "s", recorded, verdict, "why", None, "quick", "x", 0.0)

    unavailable, error, changed = record("unavailable"), record("error"), record("refuted")
    assert verify.exit_status([record("qualified")]) == 0
    assert verify.exit_status([unavailable]) == 3
    assert verify.exit_status([unavailable, error]) == 4
    assert verify.exit_status([unavailable, error, changed]) == 1
    assert verify.could_not_run(RuntimeError("boom")) is None
    import urllib.error

    reason, fix = verify.could_not_run(urllib.error.URLError("Name or service not known"))
    assert "network failure" in reason and "RLCHECK_EXPERTS_MIRROR" in fix


def test_verify_main_names_unknown_ids_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["verify", "--only", "nonsense", "--no-report"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown claim id 'nonsense'" in err[0] and "causality" in err[0]
    assert "Traceback" not in err[0]


def test_report_shows_the_last_run_beside_the_recorded_verdict(tmp_path: Path) -> None:
    analyses = plant(tmp_path, "confirmed", "CLAIM_ID = 'causality'\n"
                     "def run(tier, out_dir):\n    raise RuntimeError('boom')\n")
    reports = tmp_path / "reports"
    verify.verify("quick", only=["causality"], reports_dir=reports, analyses_dir=analyses)
    docs = tmp_path / "docs"
    report.generate(docs, reports, analyses)
    page = (docs / "claims/causality.md").read_text()
    assert "**Your run**" in page and "⚠ error" in page and "RuntimeError: boom" in page
    assert "error.txt" in page
    index = (docs / "claims/index.md").read_text()
    assert "your last run" in index and "⚠ error (quick)" in index and "not run here" in index


# --------------------------------------------------------------- the page's parts


def test_compact_tables_fit_eight_columns_and_fifteen_rows() -> None:
    header = ["a", "iqm", "iqm_low", "iqm_high", *[f"c{i}" for i in range(10)], "const"]
    rows = [header, *[[str(r), f"{r}.5", f"{r}", f"{r + 1}", *[str(r * i) for i in range(10)],
                       "7"] for r in range(40)]]
    shown, notes = report.compact_rows("nope", "x.csv", rows)
    assert len(shown[0]) <= report.MAX_COLUMNS and len(shown) - 1 <= report.MAX_ROWS
    assert shown[0][1] == "iqm [CI]" and shown[2][1] == "1.5 [1, 2]"
    assert any("const = 7" in n and "c0 = 0" in n for n in notes)
    assert any("first 15 of 40" in n for n in notes)
    assert any("more columns" in n for n in notes)


def test_large_tables_are_summarised_for_the_reader(tmp_path: Path) -> None:
    rows = [["rewards", "kind", "mahalanobis", "rejected", "detectable"],
            *[["centred", "past", "0.01", "False", "0.02"]] * 30,
            *[["centred", "current", "1.0", "True", "0.02"]] * 30]
    shown, notes = report.compact_rows("causality", "past_rewards.csv", rows)
    assert len(shown) == 3 and "summary of 60 rows" in notes
    # constant columns are stated once in the notes instead of in every row
    assert shown[0] == ["kind", "rejected", "median distance"]
    assert shown[2] == ["current", "30/30", "1"]
    assert any("rewards = centred" in n and "pairs = 30" in n for n in notes)


def test_math_broken_over_a_line_starting_with_minus_is_joined() -> None:
    text = "density $\\sum_k \\big[-\\frac{x}{2}\n- \\log\\sigma_k\\big]$, and\n- a real item"
    fixed = report.protect_math(text)
    assert "\n- \\log" not in fixed and "- \\log\\sigma_k" in fixed
    assert fixed.endswith("\n- a real item")


def test_cli_help_is_plain_text_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "rlcheck verify --only causality" in out
    assert "``" not in out and ":func:" not in out


def test_cli_bench_passes_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage:" in out and "--skip-sampling" in out  # bench's own options


def test_cli_list_has_headers_and_the_last_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["CLAIM", "RECORDED", "LAST", "RUN", "ANALYSIS"]
    assert "(issue" not in out


def test_nox_verify_exits_3_when_claims_only_could_not_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nox = pytest.importorskip("nox")
    import importlib.util

    spec = importlib.util.spec_from_file_location("rlcheck_noxfile", paths.ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    monkeypatch.setattr(noxfile, "ROOT", tmp_path)
    (tmp_path / "reports").mkdir()

    class Session:
        def __init__(self) -> None:
            self.posargs: list[str] = []
            self.logs: list[str] = []

        def install(self, *args: object, **kwargs: object) -> None:
            pass

        def run(self, *args: object, **kwargs: object) -> None:
            if "rlcheck.verify" in args:
                raise nox.command.CommandFailed("verify failed")

        def log(self, message: str) -> None:
            self.logs.append(message)

        def error(self, message: str) -> None:
            raise RuntimeError(message)

    def last_run(**states: dict[str, str]) -> None:
        (tmp_path / "reports" / "last-run.json").write_text(json.dumps(states))

    offline = {"status": "could not run", "summary": "cannot fetch Ant.pkl",
               "fix": "set RLCHECK_EXPERTS_MIRROR"}
    last_run(**{"dagger-vs-bc": offline, "causality": {"status": "matched"}})
    session = Session()
    with pytest.raises(SystemExit) as stopped:
        noxfile.verify(session)
    assert stopped.value.code == 3
    assert session.logs[-1] == ("could not run: dagger-vs-bc: cannot fetch Ant.pkl. "
                                "Fix: set RLCHECK_EXPERTS_MIRROR.")
    last_run(**{"dagger-vs-bc": offline, "causality": {"status": "mismatched",
                                                        "verdict": "refuted",
                                                        "recorded": "qualified"}})
    with pytest.raises(RuntimeError, match="the science changed"):
        noxfile.verify(Session())
