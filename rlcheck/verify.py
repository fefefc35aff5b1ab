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
4. returns a non-zero exit status when any verdict differs from the one recorded in the registry
   (or an analysis raised, which is recorded as the verdict ``"error"``).

A claim whose analysis file does not exist yet is reported as ``"pending"``, honestly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlcheck import jobs
from rlcheck.atomic import write_text_atomic
from rlcheck.claims import ALL_CLAIMS, CLAIMS, TIERS, Claim, Outcome, get_claim
from rlcheck.paths import ANALYSES, REPORTS, analysis_path, load_analysis, out_dir_for
from rlcheck.progress import Stopwatch, status
from rlcheck.provenance import git_commit, provenance


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

    @property
    def matches(self) -> bool:
        """Whether the measured verdict equals the recorded one."""
        return self.verdict == self.recorded

    def to_dict(self) -> dict[str, Any]:
        return {"statement": self.statement, "verdict": self.verdict,
                "recorded": self.recorded, "matches": self.matches, "summary": self.summary,
                "evidence": self.evidence, "tier": self.tier, "commit": self.commit,
                "seconds": round(self.seconds, 2)}


def run_analysis(claim: Claim, tier: str, *, reports_dir: Path = REPORTS,
                 analyses_dir: Path = ANALYSES) -> Record:
    """Run one claim's analysis in ``tier`` and write ``outcome.json`` and ``provenance.json``.

    An analysis that raises is recorded with verdict ``"error"`` and the exception as summary
    (the traceback goes to ``error.txt``); ``KeyboardInterrupt`` propagates so Ctrl-C stops.
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
            return Record(claim.id, claim.statement, claim.recorded, "error",
                          f"{type(exc).__name__}: {exc}", _relative(out, reports_dir), tier,
                          commit, 0.0)
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
        mark = "ok" if record.matches else "MISMATCH"
        status(f"    -> {record.verdict} (recorded {record.recorded}, {mark}, "
               f"{record.seconds:.0f} s): {record.summary}")
        records.append(record)
    claim_ids = {c.id for c in CLAIMS}
    write_verdicts([r for r in records if r.claim in claim_ids],
                   reports_dir / ("verdicts.json" if only is None else "verdicts-partial.json"))
    return records


def exit_status(records: Sequence[Record]) -> int:
    """0 when every verdict matches the recorded one, 1 otherwise."""
    return 0 if all(r.matches for r in records) else 1


def summary_table(records: Sequence[Record]) -> str:
    """A plain-text table of the records for the terminal."""
    width = max(len(r.claim) for r in records)
    lines = [f"{'claim'.ljust(width)}  {'verdict':10} {'recorded':10} match"]
    for r in records:
        lines.append(f"{r.claim.ljust(width)}  {r.verdict:10} {r.recorded:10} "
                     f"{'yes' if r.matches else 'NO'}")
    return "\n".join(lines)


def analysis_main(claim_id: str, argv: Sequence[str] | None = None) -> None:
    """Command line of one analysis script: ``python analyses/<name>.py [--tier quick|full]``."""
    claim = get_claim(claim_id)
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
    print(f"{record.claim}: {record.verdict} (recorded {record.recorded}) - {record.summary}")
    if record.verdict == "error":
        print((out_dir_for(claim.id, args.tier, args.reports) / "error.txt").read_text(),
              file=sys.stderr)
    raise SystemExit(0 if record.matches else 1)


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
    start = time.perf_counter()
    try:
        with job_runner(args.ray, args.workers):
            records = verify("full" if args.full else "quick", only=args.only)
    except ImportError as exc:  # --ray without Ray installed (analyses' errors are recorded)
        status(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        status("interrupted: verdicts.json not written")
        return 130
    print(summary_table(records))
    print(f"{time.perf_counter() - start:.0f} s")
    return exit_status(records)


if __name__ == "__main__":
    raise SystemExit(main())
