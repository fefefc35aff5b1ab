"""Run the analyses that settle each claim, record their verdicts and compare with the registry.

``verify`` is the project's main job (``nox -s verify``, ``rlcheck verify``). For every claim in
:data:`rlcheck.claims.CLAIMS`, and for the meta-analysis :data:`rlcheck.claims.TRUST` (do the
checks catch planted bugs and hold their alpha?), it

1. imports ``analyses/<analysis>.py`` and calls ``run(tier, out_dir)`` with
   ``out_dir = reports/<id>/<tier>/``;
2. writes the returned :class:`~rlcheck.claims.Outcome` to ``out_dir/outcome.json`` and the
   provenance (rlcheck version, git commit, date, seed, tier, library versions, duration) to
   ``out_dir/provenance.json``;
3. writes ``reports/verdicts.json``, keyed by claim id, with the statement, measured verdict,
   one-line summary, evidence path, tier and commit;
4. writes ``reports/last-run.json``: the state of this run per claim (matched, mismatched,
   error, could not run), with the reason in words, the fix, and the path of the traceback,
   which the report shows beside the recorded verdicts;
5. returns an exit status that separates a changed result from a run that could not happen:

   ===  =====================================================================================
   0    every verdict matches the recorded one
   1    the science changed: a verdict differs from the recorded one (or is still pending)
   3    could not run: a resource is missing (no route to the expert files, a missing file);
        nothing that ran disagreed. The last lines name each claim, the reason and the fix.
   4    an analysis raised an error (a bug, not a result): see its traceback file
   ===  =====================================================================================

   When several apply, the first in the order 1, 4, 3 wins.

A claim whose analysis file does not exist yet is reported as ``"pending"``, honestly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import traceback
import urllib.error
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from rlcheck.claims import ALL_CLAIMS, CLAIMS, TIERS, Claim, Outcome, get_claim
from rlcheck.errors import ResourceUnavailable
from rlcheck.progress import Stopwatch, status

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (where ``analyses/``, ``reports/`` and ``docs/`` live)."""

REPORTS = ROOT / "reports"
ANALYSES = ROOT / "analyses"

LAST_RUN = "last-run.json"
"""File under ``reports/`` holding the state of the last local run of each claim."""

EXIT_OK, EXIT_MISMATCH, EXIT_UNAVAILABLE, EXIT_ERROR = 0, 1, 3, 4
"""Exit statuses of ``verify`` (see the module docstring)."""

EXPERTS_FIX = ("set RLCHECK_EXPERTS_MIRROR to a folder holding the CS285 expert files, or run "
               "where the expert URLs are reachable")
"""The fix for a network failure that was not already wrapped in :class:`ResourceUnavailable`."""

LIBRARIES = ("numpy", "scipy", "torch", "gymnasium", "mujoco", "hypothesis")


@dataclass(frozen=True)
class Record:
    """One line of ``verdicts.json``: what a run of one analysis decided."""

    claim: str
    statement: str
    recorded: str
    verdict: str
    summary: str
    evidence: str | None
    tier: str
    commit: str
    seconds: float
    fix: str = ""
    traceback: str | None = None

    @property
    def matches(self) -> bool:
        """Whether the measured verdict equals the recorded one."""
        return self.verdict == self.recorded

    @property
    def status(self) -> str:
        """``matched``, ``mismatched``, ``pending``, ``error`` or ``could not run``."""
        if self.verdict == "unavailable":
            return "could not run"
        if self.verdict in ("error", "pending"):
            return self.verdict
        return "matched" if self.matches else "mismatched"

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (``verdicts.json`` and ``last-run.json``)."""
        return {"statement": self.statement, "verdict": self.verdict,
                "recorded": self.recorded, "matches": self.matches, "status": self.status,
                "summary": self.summary, "fix": self.fix, "traceback": self.traceback,
                "evidence": self.evidence, "tier": self.tier, "commit": self.commit,
                "seconds": round(self.seconds, 2)}


def git_commit(root: Path = ROOT) -> str:
    """The current commit hash, suffixed ``-dirty`` when tracked files differ; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, check=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def provenance(tier: str, seed: int | None, seconds: float, root: Path = ROOT) -> dict[str, Any]:
    """Where a result came from: versions, commit, date, machine, seed, tier and duration."""
    from rlcheck import __version__

    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "rlcheck": __version__,
        "commit": git_commit(root),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tier": tier,
        "seed": seed,
        "seconds": round(seconds, 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "libraries": versions,
    }


def analysis_path(claim: Claim, analyses_dir: Path = ANALYSES) -> Path:
    """The analysis script of a claim, ``analyses/<analysis>.py``."""
    return analyses_dir / f"{claim.analysis}.py"


def load_analysis(claim: Claim, analyses_dir: Path = ANALYSES) -> ModuleType | None:
    """Import a claim's analysis script, or return ``None`` if it does not exist yet."""
    path = analysis_path(claim, analyses_dir)
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"rlcheck_analyses.{claim.analysis}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import analysis {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    if getattr(module, "CLAIM_ID", None) != claim.id:
        raise ValueError(f"{path} declares CLAIM_ID={getattr(module, 'CLAIM_ID', None)!r}, "
                         f"expected {claim.id!r}")
    if not callable(getattr(module, "run", None)):
        raise ValueError(f"{path} has no run(tier, out_dir) function")
    return module


def out_dir_for(claim_id: str, tier: str, reports_dir: Path = REPORTS) -> Path:
    """Where an analysis writes its data: ``reports/<id>/<tier>/``."""
    return reports_dir / claim_id / tier


def could_not_run(exc: BaseException) -> tuple[str, str] | None:
    """``(reason, fix)`` when ``exc`` means a resource was unreachable, else ``None``.

    A :class:`~rlcheck.errors.ResourceUnavailable` carries its own fix; a network error
    (``URLError``, a refused or timed-out connection) is taken as the expert fetch failing.
    The exception's causes are searched too.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ResourceUnavailable):
            return current.reason, current.fix
        if isinstance(current, urllib.error.URLError | ConnectionError | TimeoutError):
            return f"network failure ({type(current).__name__}: {current})", EXPERTS_FIX
        current = current.__cause__ or current.__context__
    return None


def run_analysis(claim: Claim, tier: str, *, reports_dir: Path = REPORTS,
                 analyses_dir: Path = ANALYSES) -> Record:
    """Run one claim's analysis in ``tier`` and write ``outcome.json`` and ``provenance.json``.

    An analysis that raises is recorded with verdict ``"error"`` and the exception as summary
    (the traceback goes to ``error.txt``), or ``"unavailable"`` with the reason and its fix when
    the exception means a resource could not be reached (:func:`could_not_run`);
    ``KeyboardInterrupt`` propagates so Ctrl-C stops.
    """
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}, got {tier!r}")
    out = out_dir_for(claim.id, tier, reports_dir)
    commit = git_commit(analyses_dir.parent)
    module = load_analysis(claim, analyses_dir)
    if module is None:
        return Record(claim.id, claim.statement, claim.recorded, "pending",
                      f"analysis {analysis_path(claim, analyses_dir).name} not written yet",
                      None, tier, commit, 0.0)
    out.mkdir(parents=True, exist_ok=True)
    (out / "error.txt").unlink(missing_ok=True)
    with Stopwatch() as sw:
        try:
            outcome = module.run(tier, out)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"run() returned {type(outcome).__name__}, expected Outcome")
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # recorded, shown in the report, and fails verify
            (out / "error.txt").write_text(traceback.format_exc())
            trace = _relative(out / "error.txt", reports_dir)
            unavailable = could_not_run(exc)
            if unavailable is not None:
                return Record(claim.id, claim.statement, claim.recorded, "unavailable",
                              unavailable[0], _relative(out, reports_dir), tier, commit,
                              sw.elapsed(), fix=unavailable[1], traceback=trace)
            return Record(claim.id, claim.statement, claim.recorded, "error",
                          f"{type(exc).__name__}: {exc}", _relative(out, reports_dir), tier,
                          commit, sw.elapsed(), traceback=trace)
    (out / "outcome.json").write_text(json.dumps(outcome.to_dict(), indent=2) + "\n")
    prov = provenance(tier, outcome.seed, sw.seconds, analyses_dir.parent)
    (out / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
    return Record(claim.id, claim.statement, claim.recorded, outcome.verdict, outcome.summary,
                  _relative(out, reports_dir), tier, prov["commit"], sw.seconds)


def _relative(path: Path, reports_dir: Path) -> str:
    return str(Path("reports") / path.relative_to(reports_dir))


def write_verdicts(records: Sequence[Record], path: Path) -> None:
    """Write ``verdicts.json``: an object keyed by claim id (see :class:`Record`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({r.claim: r.to_dict() for r in records}, indent=2) + "\n")


def write_last_run(records: Sequence[Record], reports_dir: Path = REPORTS) -> Path:
    """Merge ``records`` into ``reports/last-run.json`` (one entry per claim, with the date)."""
    path = reports_dir / LAST_RUN
    state = read_last_run(reports_dir)
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for record in records:
        state[record.claim] = {**record.to_dict(), "date": date}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")
    return path


def read_last_run(reports_dir: Path = REPORTS) -> dict[str, dict[str, Any]]:
    """The state of the last local run per claim id (empty when nothing ran here)."""
    path = reports_dir / LAST_RUN
    if not path.exists():
        return {}
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}
    return state if isinstance(state, dict) else {}


def verify(tier: str = "quick", *, only: Sequence[str] | None = None,
           reports_dir: Path = REPORTS, analyses_dir: Path = ANALYSES) -> list[Record]:
    """Run every analysis (or those in ``only``) and write ``reports/verdicts.json``.

    Returns the records; :func:`exit_status` turns them into the process exit code.
    """
    claims = [get_claim(c) for c in only] if only else list(ALL_CLAIMS)
    records = []
    for i, claim in enumerate(claims, 1):
        status(f"[{i}/{len(claims)}] {claim.id}: running analyses/{claim.analysis}.py ({tier})")
        record = run_analysis(claim, tier, reports_dir=reports_dir, analyses_dir=analyses_dir)
        status(f"    -> {record.status}: {record.verdict} (recorded {record.recorded}, "
               f"{record.seconds:.0f} s): {record.summary}")
        records.append(record)
        write_last_run([record], reports_dir)
    claim_ids = {c.id for c in CLAIMS}
    write_verdicts([r for r in records if r.claim in claim_ids],
                   reports_dir / ("verdicts.json" if only is None else "verdicts-partial.json"))
    return records


def exit_status(records: Sequence[Record]) -> int:
    """0 when every verdict matches; 1 when one changed (or is pending); else 4 when an analysis
    raised; else 3 when one could not run (a missing resource, not a changed result)."""
    states = {r.status for r in records}
    if states & {"mismatched", "pending"}:
        return EXIT_MISMATCH
    if "error" in states:
        return EXIT_ERROR
    if "could not run" in states:
        return EXIT_UNAVAILABLE
    return EXIT_OK


def summary_table(records: Sequence[Record]) -> str:
    """A plain-text table of the records for the terminal."""
    width = max(len("claim"), *(len(r.claim) for r in records))
    lines = [f"{'claim'.ljust(width)}  {'verdict':11} {'recorded':10} state"]
    for r in records:
        lines.append(f"{r.claim.ljust(width)}  {r.verdict:11} {r.recorded:10} {r.status}")
    return "\n".join(lines)


def closing_lines(records: Sequence[Record]) -> list[str]:
    """The last lines of a run: one per claim that did not match, then what the exit status means.

    A claim that could not run gets its reason and its fix; an error gets its traceback file;
    a changed verdict says so. The final line counts each state and names the exit status.
    """
    lines = []
    for r in records:
        if r.status == "could not run":
            lines.append(f"could not run: {r.claim}: {r.summary}. Fix: {r.fix}.")
        elif r.status == "error":
            lines.append(f"error: {r.claim}: {r.summary} (traceback: {r.traceback})")
        elif r.status in ("mismatched", "pending"):
            lines.append(f"verdict changed: {r.claim}: {r.verdict}, recorded {r.recorded}: "
                         f"{r.summary}")
    code = exit_status(records)
    counts = {s: sum(r.status == s for r in records)
              for s in ("matched", "mismatched", "pending", "error", "could not run")}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    meaning = {EXIT_OK: "every verdict matches the recorded one",
               EXIT_MISMATCH: "the science changed: a verdict differs from the recorded one",
               EXIT_ERROR: "an analysis raised an error (see its traceback)",
               EXIT_UNAVAILABLE: "some claims could not run (a missing resource, see the fix "
                                 "above); no verdict that ran differs"}[code]
    lines.append(f"{tally}. Exit status {code}: {meaning}.")
    return lines


def analysis_main(claim_id: str, argv: Sequence[str] | None = None) -> None:
    """Command line of one analysis script: ``python analyses/<name>.py [--tier quick|full]``."""
    claim = claim_or_exit(claim_id)
    parser = argparse.ArgumentParser(description=f"Run the analysis for claim {claim_id!r}.")
    parser.add_argument("--tier", choices=TIERS, default="quick")
    parser.add_argument("--reports", type=Path, default=REPORTS,
                        help="reports folder (default: the repository's reports/)")
    args = parser.parse_args(argv)
    try:
        record = run_analysis(claim, args.tier, reports_dir=args.reports)
    except KeyboardInterrupt:
        status("interrupted")
        raise SystemExit(130) from None
    write_last_run([record], args.reports)
    print(f"{record.claim}: {record.verdict} (recorded {record.recorded}) - {record.summary}")
    if record.verdict == "error":
        print((out_dir_for(claim.id, args.tier, args.reports) / "error.txt").read_text(),
              file=sys.stderr)
    print("\n".join(closing_lines([record])))
    raise SystemExit(exit_status([record]))


def claim_or_exit(claim_id: str) -> Claim:
    """The claim with this id, or exit with status 2 and one line naming the valid ids."""
    try:
        return get_claim(claim_id)
    except KeyError:
        valid = ", ".join(c.id for c in ALL_CLAIMS)
        print(f"rlcheck: unknown claim id {claim_id!r}; valid ids: {valid}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rlcheck.verify [--full] [--only ID ...]``: run, then print the verdict table."""
    parser = argparse.ArgumentParser(description="Run rlcheck's analyses and compare verdicts.")
    parser.add_argument("--full", action="store_true", help="run the full tier (slow)")
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these claim ids")
    args = parser.parse_args(argv)
    for claim_id in args.only or ():
        claim_or_exit(claim_id)
    start = time.perf_counter()
    try:
        records = verify("full" if args.full else "quick", only=args.only)
    except KeyboardInterrupt:
        status("interrupted: verdicts.json not written")
        return 130
    print(summary_table(records))
    print(f"{time.perf_counter() - start:.0f} s")
    print("\n".join(closing_lines(records)))
    return exit_status(records)


if __name__ == "__main__":
    raise SystemExit(main())
