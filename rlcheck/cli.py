"""The ``rlcheck`` command: ``list``, ``verify``, ``report`` and ``bench``, mirroring nox.

``rlcheck verify`` runs in the current environment (no virtualenv is made), shows progress bars,
and exits 1 when a verdict differs from the recorded one, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

from rlcheck.claims import ALL_CLAIMS
from rlcheck.paths import ROOT


def cmd_list(args: argparse.Namespace) -> int:
    """Print every claim with its recorded verdict and analysis script."""
    for claim in ALL_CLAIMS:
        print(f"{claim.id:18} {claim.recorded:10} analyses/{claim.analysis}.py (issue "
              f"{claim.issue})")
        if args.verbose:
            print(f"{'':18} {claim.statement}")
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


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the performance benchmarks (ratios in one run)."""
    from rlcheck.bench import run as bench

    return bench.main(args.rest)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rlcheck`` console command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="rlcheck", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the claims and their recorded verdicts")
    p.add_argument("-v", "--verbose", action="store_true", help="also print the statements")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("verify", help="run the analyses and compare verdicts")
    p.add_argument("--full", action="store_true", help="full tier (slow)")
    p.add_argument("--only", nargs="+", metavar="ID", help="only these claim ids")
    p.add_argument("--no-report", action="store_true", help="do not build the report")
    p.add_argument("--ray", nargs="?", const=True, default=None, metavar="ADDRESS",
                   help="run the jobs on Ray: a new local Ray, or the cluster at ADDRESS")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("report", help="build the report from existing data")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("bench", help="performance benchmarks")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for rlcheck.bench")
    p.set_defaults(func=cmd_bench)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
