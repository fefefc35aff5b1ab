"""Generate the report's Markdown pages from the data under ``reports/``.

The Sphinx configuration (``docs/conf.py``) calls :func:`generate` before every build, so the
site always shows the data on disk and nothing is recomputed: for each claim (and the trust
meta-analysis) it reads ``reports/<id>/<tier>/outcome.json`` and ``provenance.json``, preferring
the committed ``full`` tier over a local ``quick`` run, draws the analysis' figures from those
files with its ``figures(data_dir, fig_dir)`` function, and writes ``docs/claims/<id>.md`` plus an
index. A claim without data is shown as pending, and says so.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlcheck.claims import ALL_CLAIMS, CLAIMS, TRUST, Claim
from rlcheck.paths import ANALYSES, REPORTS, load_analysis, out_dir_for

BADGES = {"confirmed": "✅ confirmed", "refuted": "❌ refuted", "qualified": "⚖️ qualified",
          "pending": "⏳ pending", "error": "💥 error"}
MAX_TABLE_ROWS = 80


def read_run(claim_id: str, tier: str, reports_dir: Path = REPORTS) -> dict[str, Any] | None:
    """The outcome and provenance of one tier's run, or ``None`` if it has not been run."""
    out = out_dir_for(claim_id, tier, reports_dir)
    outcome = out / "outcome.json"
    if not outcome.exists():
        return None
    prov = out / "provenance.json"
    return {"tier": tier, "dir": out, "outcome": _read_json(outcome, corrupt_outcome(outcome)),
            "provenance": _read_json(prov, {}) if prov.exists() else {}}


def _read_json(path: Path, if_corrupt: dict[str, Any]) -> dict[str, Any]:
    """``path`` parsed as a JSON object, or ``if_corrupt`` when it is empty, truncated or not
    an object (a writer killed mid-write), so that one bad file cannot break the docs build."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return if_corrupt
    return value if isinstance(value, dict) else if_corrupt


def corrupt_outcome(path: Path) -> dict[str, Any]:
    """The outcome shown for an unreadable ``outcome.json``: verdict ``error``, naming it."""
    return {"verdict": "error", "summary": f"{path.name} in {path.parent} is empty or corrupt "
            "(was its writer interrupted?); rerun the analysis to regenerate it"}


def best_run(claim_id: str, reports_dir: Path = REPORTS) -> dict[str, Any] | None:
    """The run the report shows: the full tier when present, else the quick tier."""
    return read_run(claim_id, "full", reports_dir) or read_run(claim_id, "quick", reports_dir)


def format_cell(value: str) -> str:
    """Format a CSV cell for a Markdown table: numbers to 4 significant digits, pipes escaped."""
    try:
        number = float(value)
    except ValueError:
        return value.replace("|", "\\|")
    if value.strip().lstrip("-").isdigit():
        return value.strip()
    if math.isnan(number) or math.isinf(number):
        return value
    return f"{number:.4g}"


def markdown_table(rows: Sequence[Sequence[str]], max_rows: int = MAX_TABLE_ROWS) -> str:
    """A GitHub-style Markdown table from rows (the first row is the header)."""
    if not rows:
        return "*(empty table)*"
    header, body = list(rows[0]), [list(r) for r in rows[1:]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in body[:max_rows]:
        lines.append("| " + " | ".join(format_cell(c) for c in row) + " |")
    if len(body) > max_rows:
        lines.append(f"\n*{len(body) - max_rows} more rows in the CSV file.*")
    return "\n".join(lines)


def csv_table(path: Path) -> str:
    """Render a CSV file as a Markdown table (a note if the file is missing)."""
    if not path.exists():
        return f"*(missing data file `{path.name}`)*"
    with path.open(newline="") as handle:
        return markdown_table(list(csv.reader(handle)))


def draw_figures(claim: Claim, data_dir: Path, fig_dir: Path,
                 analyses_dir: Path = ANALYSES) -> tuple[list[dict[str, str]], str]:
    """Call the analysis' ``figures`` on the data; return the figures and an error text if any."""
    try:
        module = load_analysis(claim, analyses_dir)
        if module is None or not callable(getattr(module, "figures", None)):
            return [], ""
        import matplotlib

        matplotlib.use("Agg")
        fig_dir.mkdir(parents=True, exist_ok=True)
        figures = module.figures(data_dir, fig_dir)
        import matplotlib.pyplot as plt

        plt.close("all")
    except Exception as exc:  # shown on the page instead of breaking the whole site
        traceback.print_exc(file=sys.stderr)
        return [], f"{type(exc).__name__}: {exc}"
    drawn = []
    for fig in figures:
        path = Path(fig.path)
        path = path if path.is_absolute() else fig_dir / path
        drawn.append({"path": str(path), "caption": fig.caption})
    return drawn, ""


def reproduce_commands(claim: Claim) -> str:
    """The commands that regenerate a claim's data, for the page."""
    return (f"```bash\npython analyses/{claim.analysis}.py --tier quick   # minutes\n"
            f"python analyses/{claim.analysis}.py --tier full    # the data shown here\n"
            f"nox -s verify -- --only {claim.id}               # and rebuild this site\n```")


def provenance_table(run: dict[str, Any]) -> str:
    """Provenance of a run as a two-column table."""
    prov = run["provenance"]
    libs = prov.get("libraries") or {}
    rows = [["field", "value"],
            ["tier", str(prov.get("tier", run["tier"]))],
            ["rlcheck", str(prov.get("rlcheck"))],
            ["git commit", f"`{prov.get('commit')}`"],
            ["date (UTC)", str(prov.get("date"))],
            ["seed", str(prov.get("seed"))],
            ["run time (s)", str(prov.get("seconds"))],
            ["machine", f"{prov.get('platform')}, {prov.get('cpu_count')} CPUs, Python "
                        f"{prov.get('python')}"],
            ["libraries", ", ".join(f"{k} {v}" for k, v in libs.items() if v)]]
    return markdown_table(rows)


def claim_page(claim: Claim, reports_dir: Path, docs_dir: Path,
               analyses_dir: Path = ANALYSES) -> str:
    """The Markdown page of one claim."""
    title = "How much to trust these checks" if claim is TRUST else f"`{claim.id}`"
    lines = [f"# {title}", "", f"> {claim.statement}", ""]
    run = best_run(claim.id, reports_dir)
    error = out_dir_for(claim.id, "quick", reports_dir) / "error.txt"
    if run is None:
        lines += [f"**Verdict: {BADGES['pending']}.** No data yet: the analysis "
                  f"`analyses/{claim.analysis}.py` has not been run"
                  + (" (its last quick run raised an error, see below)." if error.exists()
                     else ".") + "", ""]
        if error.exists():
            lines += ["```text", error.read_text()[-3000:], "```", ""]
        lines += ["## Reproduce", "", reproduce_commands(claim), ""]
        return "\n".join(lines)
    outcome = run["outcome"]
    verdict = outcome["verdict"]
    lines += [f"**Verdict: {BADGES.get(verdict, verdict)}** (recorded: {claim.recorded}; "
              f"{run['tier']} tier). {outcome['summary']}", ""]
    other = read_run(claim.id, "quick" if run["tier"] == "full" else "full", reports_dir)
    if other is not None:
        lines += [f"The {other['tier']} tier (commit `{other['provenance'].get('commit')}`) "
                  f"gave **{other['outcome']['verdict']}**: {other['outcome']['summary']}", ""]
    if outcome.get("subclaims"):
        rows = [["part", "statement", "verdict", "evidence"]]
        rows += [[s["id"], s["statement"], BADGES.get(s["verdict"], s["verdict"]), s["summary"]]
                 for s in outcome["subclaims"]]
        lines += ["## Parts of the claim", "", markdown_table(rows), ""]
    lines += ["## Method", "", outcome.get("method", ""), ""]
    for table in outcome.get("tables") or []:
        lines += [f"### {table['title']}", ""]
        if table.get("caption"):
            lines += [table["caption"], ""]
        lines += [csv_table(run["dir"] / table["csv"]), "",
                  f"Data: `{Path('reports') / run['dir'].relative_to(reports_dir) / table['csv']}`",
                  ""]
    fig_dir = docs_dir / "claims" / "_figures" / claim.id
    figures, fig_error = draw_figures(claim, run["dir"], fig_dir, analyses_dir)
    if figures or fig_error:
        lines += ["## Figures", ""]
    for fig in figures:
        rel = Path(fig["path"]).resolve().relative_to((docs_dir / "claims").resolve())
        lines += [f"```{{figure}} {rel.as_posix()}", ":width: 90%", "", fig["caption"], "```", ""]
    if fig_error:
        lines += ["```{warning}", f"Drawing the figures failed: {fig_error}", "```", ""]
    if outcome.get("details"):
        lines += ["## Details", "", "```json", json.dumps(outcome["details"], indent=2)[:6000],
                  "```", ""]
    lines += ["## Reproduce", "", reproduce_commands(claim), "", "## Provenance", "",
              provenance_table(run), ""]
    return "\n".join(lines)


def index_page(reports_dir: Path) -> str:
    """The claims overview: one row per claim with its verdict and deciding numbers."""
    rows = [["claim", "verdict", "tier", "summary"]]
    for claim in CLAIMS:
        run = best_run(claim.id, reports_dir)
        verdict = run["outcome"]["verdict"] if run else "pending"
        summary = run["outcome"]["summary"] if run else "no data yet"
        rows.append([f"[`{claim.id}`]({claim.id}.md)", BADGES.get(verdict, verdict),
                     run["tier"] if run else "-", summary])
    toc = "\n".join(f"{c.id}" for c in ALL_CLAIMS)
    return "\n".join([
        "# The claims", "",
        "Each belief from the CS285 course notes, the verdict the evidence gives, and the numbers "
        "that decide it. Pages show the committed full-tier data when it exists, otherwise the "
        "last local quick run.", "", markdown_table(rows), "",
        "```{toctree}", ":hidden:", "", toc, "```", ""])


def generate(docs_dir: Path, reports_dir: Path = REPORTS,
             analyses_dir: Path = ANALYSES) -> list[Path]:
    """Write ``docs/claims/index.md`` and one page per claim; return the written paths."""
    claims_dir = docs_dir / "claims"
    claims_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for claim in ALL_CLAIMS:
        path = claims_dir / f"{claim.id}.md"
        path.write_text(claim_page(claim, reports_dir, docs_dir, analyses_dir))
        written.append(path)
    index = claims_dir / "index.md"
    index.write_text(index_page(reports_dir))
    written.append(index)
    return written
