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
import contextlib
import datetime as dt
import json
import os
import sys
import time
import traceback
import urllib.error
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlcheck import jobs
from rlcheck.atomic import write_text_atomic
from rlcheck.claims import ALL_CLAIMS, CLAIMS, TIERS, Claim, Outcome, get_claim
from rlcheck.errors import ResourceUnavailable
from rlcheck.paths import ANALYSES, REPORTS, analysis_path, load_analysis, out_dir_for
from rlcheck.progress import Stopwatch, status
from rlcheck.provenance import git_commit, provenance
from rlcheck.v4_notice import explain_v4_once

LAST_RUN = "last-run.json"
"""File under ``reports/`` holding the state of the last local run of each claim."""

EXIT_OK, EXIT_MISMATCH, EXIT_UNAVAILABLE, EXIT_ERROR = 0, 1, 3, 4
"""Exit statuses of ``verify`` (see the module docstring)."""

EXPERTS_FIX = ("set RLCHECK_EXPERTS_MIRROR to a folder holding the CS285 expert files, or run "
               "where the expert URLs are reachable")
"""The fix for a network failure that was not already wrapped in :class:`ResourceUnavailable`."""


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
    cpu_start = jobs.cpu_seconds()
    with Stopwatch() as sw:
        try:
            outcome = module.run(tier, out)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"run() returned {type(outcome).__name__}, expected Outcome")
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # recorded, shown in the report, and fails verify
            write_text_atomic(out / "error.txt", traceback.format_exc())
            trace = _relative(out / "error.txt", reports_dir)
            unavailable = could_not_run(exc)
            if unavailable is not None:
                return Record(claim.id, claim.statement, claim.recorded, "unavailable",
                              unavailable[0], _relative(out, reports_dir), tier, commit,
                              sw.elapsed(), fix=unavailable[1], traceback=trace)
            return Record(claim.id, claim.statement, claim.recorded, "error",
                          f"{type(exc).__name__}: {exc}", _relative(out, reports_dir), tier,
                          commit, sw.elapsed(), traceback=trace)
    write_text_atomic(out / "outcome.json", json.dumps(outcome.to_dict(), indent=2) + "\n")
    prov = {**provenance(tier, outcome.seed, sw.seconds, analyses_dir.parent),
            "cpu_seconds": round(jobs.cpu_seconds() - cpu_start, 2),  # with local workers
            "jobs": jobs.store_summary(out / "jobs")}
    write_text_atomic(out / "provenance.json", json.dumps(prov, indent=2) + "\n")
    return Record(claim.id, claim.statement, claim.recorded, outcome.verdict, outcome.summary,
                  _relative(out, reports_dir), tier, prov["commit"], sw.seconds)


def _relative(path: Path, reports_dir: Path) -> str:
    return str(Path("reports") / path.relative_to(reports_dir))


def write_verdicts(records: Sequence[Record], path: Path) -> None:
    """Write ``verdicts.json``: an object keyed by claim id (see :class:`Record`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({r.claim: r.to_dict() for r in records}, indent=2) + "\n")


def write_last_run(records: Sequence[Record], reports_dir: Path = REPORTS) -> Path:
    """Merge ``records`` into ``reports/last-run.json`` (one entry per claim, with the date)."""
    path = reports_dir / LAST_RUN
    state = read_last_run(reports_dir)
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for record in records:
        state[record.claim] = {**record.to_dict(), "date": date}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(state, indent=2) + "\n")
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
    """The last lines of a run: what the exit status means, then one line per claim that did
    not match.

    The first line counts each state and names the exit status; then a claim that could not run
    gets its reason and its fix, an error its traceback file, and a changed verdict says so.
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
                                 "below); no verdict that ran differs"}[code]
    return [f"{tally}. Exit status {code}: {meaning}.", *lines]


def analysis_main(claim_id: str, argv: Sequence[str] | None = None) -> None:
    """Command line of one analysis script: ``python analyses/<name>.py [--tier quick|full]``."""
    claim = claim_or_exit(claim_id)
    parser = argparse.ArgumentParser(description=f"Run the analysis for claim {claim_id!r}.")
    parser.add_argument("--tier", choices=TIERS, default="quick")
    parser.add_argument("--reports", type=Path, default=REPORTS,
                        help="reports folder (default: the repository's reports/)")
    args = parser.parse_args(argv)
    explain_v4_once()
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


@contextlib.contextmanager
def job_runner(ray: str | bool | None = None, workers: int | None = None) -> Iterator[None]:
    """Every analysis's jobs (:func:`rlcheck.jobs.run_jobs`) run on local processes, or on Ray
    when ``ray`` is ``True`` (one local Ray for the whole run) or an address (or
    ``$RAY_ADDRESS`` is set)."""
    if ray is None and os.environ.get(jobs.RAY_ADDRESS_ENV):
        ray = os.environ[jobs.RAY_ADDRESS_ENV]
    if not ray:
        with jobs.use_runner(lambda: jobs.LocalRunner(workers)):
            yield
        return
    address = None if ray is True else str(ray)
    with jobs.ray_session(address, workers), jobs.use_runner(jobs.RayRunner):
        status(f"jobs run on Ray ({'a new local Ray' if address is None else address})")
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rlcheck.verify [--full] [--only ID ...] [--ray [ADDRESS]] [--workers N]``:
    run, then print the verdict table."""
    parser = argparse.ArgumentParser(description="Run rlcheck's analyses and compare verdicts.")
    parser.add_argument("--full", action="store_true", help="run the full tier (slow)")
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these claim ids")
    parser.add_argument("--ray", nargs="?", const=True, default=None, metavar="ADDRESS",
                        help="run the analyses' jobs on Ray: a new local Ray without ADDRESS, "
                             "else the cluster at ADDRESS (also $RAY_ADDRESS); needs "
                             "rlcheck[ray]")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes (local runner) or CPUs of a new local Ray "
                             "(default: every core)")
    args = parser.parse_args(argv)
    for claim_id in args.only or ():
        claim_or_exit(claim_id)
    explain_v4_once()
    start = time.perf_counter()
    try:
        with job_runner(args.ray, args.workers):
            records = verify("full" if args.full else "quick", only=args.only)
    except (ImportError, ConnectionError) as exc:  # no Ray, or no cluster at the address
        status(f"error: the job runner could not start: {exc}")  # (analyses' errors are recorded)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        status("interrupted: verdicts.json not written")
        return 130
    print(summary_table(records))
    print(f"{time.perf_counter() - start:.0f} s")
    print("\n".join(closing_lines(records)))
    return exit_status(records)


if __name__ == "__main__":
    raise SystemExit(main())
