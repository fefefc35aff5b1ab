"""The ``rlcheck`` command: ``list``, ``verify``, ``report`` and ``bench``, mirroring nox.

``rlcheck verify`` runs in the current environment (no virtualenv is made), shows progress
(a bar on a terminal, plain lines in a log), and exits 0 when every verdict matches the recorded
one, 1 when one changed, 3 when a claim could not run (a missing resource: the last lines say
which and how to fix it), 4 when an analysis raised, 2 on a usage error and 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from collections.abc import Sequence

from rlcheck.claims import ALL_CLAIMS
from rlcheck.paths import ROOT
from rlcheck.verify import claim_or_exit, read_last_run

DESCRIPTION = """\
rlcheck settles what people believe about deep-RL algorithms with statistical checks, and
renders the evidence as a report.

examples:
  rlcheck list                      the claims, their recorded verdicts and your last run
  rlcheck verify                    run every analysis (quick tier), then build the report
  rlcheck verify --only causality   one claim
  rlcheck verify --full             the full tier (hours)
  rlcheck report                    build the report from the data already under reports/
  rlcheck bench --help              the performance benchmarks and their options

exit status of verify: 0 all verdicts match, 1 a verdict changed, 3 a claim could not run
(missing resource; the last lines say how to fix it), 4 an analysis raised, 130 interrupted.
"""

VERIFY_EPILOG = """\
examples:
  rlcheck verify --only causality baselines
  RLCHECK_EXPERTS_MIRROR=/path/to/experts rlcheck verify --only dagger-vs-bc
  rlcheck verify --full --no-report
  rlcheck verify --full --ray            the full tier's jobs on a new local Ray
"""


def cmd_list(args: argparse.Namespace) -> int:
    """Print every claim with its recorded verdict, the state of its last local run and its
    analysis script (with ``--verbose``, the statement too)."""
    last = read_last_run()
    rows = [("CLAIM", "RECORDED", "LAST RUN", "ANALYSIS")]
    for claim in ALL_CLAIMS:
        entry = last.get(claim.id)
        state = (f"{entry.get('status')} ({entry.get('verdict')}, {entry.get('tier')})"
                 if entry else "not run here")
        rows.append((claim.id, claim.recorded, state, f"analyses/{claim.analysis}.py"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
              + "  " + row[3])
        listed = next((c for c in ALL_CLAIMS if c.id == row[0]), None)
        if args.verbose and listed is not None:
            print(f"{'':{widths[0]}}  {listed.statement}")
    print("\nLAST RUN is your latest `rlcheck verify` here (reports/last-run.json); "
          "`rlcheck list -v` adds the statements.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Build the Sphinx report from the data under reports/."""
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               str(ROOT / "docs"), str(ROOT / "docs" / "_build" / "html")]
    code = subprocess.call(command)
    if code == 0:
        print(f"report: {ROOT / 'docs' / '_build' / 'html' / 'index.html'}")
    return code


def cmd_verify(args: argparse.Namespace) -> int:
    """Run the analyses, write verdicts, and (unless --no-report) build the report."""
    from rlcheck import verify

    for claim_id in args.only or ():
        claim_or_exit(claim_id)
    os.environ.setdefault("RLCHECK_PROGRESS", "1")
    argv = (["--full"] if args.full else []) + (["--only", *args.only] if args.only else [])
    if args.ray is not None:
        argv += ["--ray"] if args.ray is True else ["--ray", args.ray]
    if args.workers is not None:
        argv += ["--workers", str(args.workers)]
    code = verify.main(argv)
    if code == 130:
        return code
    if not args.no_report:
        report_code = cmd_report(args)
        code = code or report_code
    return code


def cmd_bench(argv: Sequence[str]) -> int:
    """Run the performance benchmarks, passing every option on (``rlcheck bench --help``)."""
    bench = importlib.import_module("rlcheck.bench.run")
    return int(bench.main(list(argv)) or 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``rlcheck`` (plain-text help with examples)."""
    parser = argparse.ArgumentParser(prog="rlcheck", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("list", help="the claims, their recorded verdicts and your last run",
                       description="List the claims, their recorded verdicts and the state of "
                                   "your last local run.")
    p.add_argument("-v", "--verbose", action="store_true", help="also print the statements")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("verify", help="run the analyses and compare verdicts",
                       description="Run the analyses (quick tier unless --full), compare each "
                                   "verdict with the recorded one, then build the report.",
                       epilog=VERIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="full tier (slow)")
    p.add_argument("--only", nargs="+", metavar="ID",
                   help=f"only these claim ids ({', '.join(c.id for c in ALL_CLAIMS)})")
    p.add_argument("--no-report", action="store_true", help="do not build the report")
    p.add_argument("--ray", nargs="?", const=True, default=None, metavar="ADDRESS",
                   help="run the jobs on Ray: a new local Ray, or the cluster at ADDRESS")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("report", help="build the report from existing data",
                       description="Build the HTML report from the data under reports/.")
    p.set_defaults(func=cmd_report)
    sub.add_parser("bench", help="performance benchmarks (options: rlcheck bench --help)",
                   add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rlcheck`` console command; returns the exit status."""
    from rlcheck.v4_notice import explain_v4_once

    argv = list(sys.argv[1:] if argv is None else argv)
    explain_v4_once()
    try:
        if argv[:1] == ["bench"]:
            return cmd_bench(argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse and unknown claim ids exit with a one-line message
        return exc.code if isinstance(exc.code, int) else 2


if __name__ == "__main__":
    raise SystemExit(main())
