"""Nox sessions: ``tests``, ``verify`` (the main job), ``docs``, ``bench``, ``lint``.

Environments are reused between runs (``reuse_venv``) and torch is pinned to the 2.13.0 CPU wheel
so that no session downloads a multi-GB CUDA build. Run ``nox -s verify -- --full`` for the
full tier (``-- --full --ray`` on a local Ray, ``-- --full --ray ADDRESS`` on a cluster);
``nox -s tests -- -k causality`` passes arguments on to pytest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = False

ROOT = Path(__file__).resolve().parent
TORCH = "torch==2.13.0"
SHARED_EXPERTS = ROOT.parent / "shared" / "experts"


def install(session: nox.Session, extras: str) -> None:
    """Install torch (pinned CPU wheel) first, then rlcheck in editable mode with ``extras``."""
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


def environment() -> dict[str, str]:
    """Point the expert fetch at the local mirror when it exists (tests and CI)."""
    env = {"PYTHONHASHSEED": "0", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "disable")}
    if "RLCHECK_EXPERTS_MIRROR" not in os.environ and SHARED_EXPERTS.is_dir():
        env["RLCHECK_EXPERTS_MIRROR"] = str(SHARED_EXPERTS)
    return env


def build_docs(session: nox.Session) -> None:
    session.run("sphinx-build", "-W", "--keep-going", "-q", "-b", "html", "docs",
                "docs/_build/html", env=environment())


@nox.session
def tests(session: nox.Session) -> None:
    """The whole pytest suite (unit, property, statistical; the job runners against a real local
    Ray) and a docs build with -W."""
    install(session, "test,docs,ray")
    # The site first: tests/test_browser.py and tests/test_docs.py read it instead of building
    # it again; a failed build is reported after the suite has run.
    try:
        build_docs(session)
        docs_failed = False
    except nox.command.CommandFailed:
        docs_failed = True
    session.run("pytest", "-n", "2", "--dist", "loadfile", *session.posargs,
                env=environment())
    if docs_failed:
        session.error("the docs build failed (sphinx-build -W): see its warnings above")


def last_run_problems(path: Path) -> tuple[list[str], list[str]]:
    """From ``reports/last-run.json`` at ``path``: lines for claims that could not run (reason
    and fix), and lines for claims whose verdict changed or whose analysis raised."""
    state = json.loads(path.read_text()) if path.exists() else {}
    unavailable, changed = [], []
    for claim, entry in state.items():
        status = entry.get("status")
        if status == "could not run":
            unavailable.append(f"could not run: {claim}: {entry.get('summary')}. "
                               f"Fix: {entry.get('fix')}.")
        elif status == "error":
            changed.append(f"error: {claim}: {entry.get('summary')} "
                           f"(traceback: {entry.get('traceback')})")
        elif status in ("mismatched", "pending"):
            changed.append(f"verdict changed: {claim}: {entry.get('verdict')}, recorded "
                           f"{entry.get('recorded')}")
    return unavailable, changed


@nox.session
def verify(session: nox.Session) -> None:
    """Run every analysis (quick tier; ``-- --full`` for the full tier), then build the report.

    The report is built either way, so that the state of the run can be read there. Exit status:
    1 when a verdict differs from the one recorded in ``rlcheck/claims.py`` or an analysis
    raised (the science changed, or a bug); 3 when claims only *could not run* (no route to the
    expert files, a missing file), after one line per such claim with its reason and its fix.
    """
    # test: the trust analysis collects the test suite; ray only for `-- --ray [ADDRESS]`
    wants_ray = "--ray" in session.posargs or bool(os.environ.get("RAY_ADDRESS"))
    install(session, "test,docs,bench" + (",ray" if wants_ray else ""))
    env = {**environment(), "RLCHECK_PROGRESS": os.environ.get("RLCHECK_PROGRESS", "1")}
    failed = False
    try:
        session.run("python", "-m", "rlcheck.verify", *session.posargs, env=env)
    except nox.command.CommandFailed:
        failed = True
    build_docs(session)
    session.log(f"report: {ROOT / 'docs/_build/html/index.html'}")
    if not failed:
        return
    unavailable, changed = last_run_problems(ROOT / "reports" / "last-run.json")
    if changed:
        for line in unavailable + changed:
            session.log(line)
        session.error("the science changed or an analysis failed: see the lines above and the "
                      "report's overview page")
    # Only missing resources: not a changed result, so not nox's failure status 1. The output
    # ends with one line per claim that could not run, its reason and its fix.
    session.log("exit status 3: some claims could not run; no verdict that ran differs from the "
                "recorded one:")
    for line in unavailable:
        session.log(line)
    raise SystemExit(3)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the report from the data already under reports/ (sphinx-build -W)."""
    install(session, "docs")
    build_docs(session)


@nox.session
def bench(session: nox.Session) -> None:
    """Performance benchmarks, reported as ratios measured in one run."""
    install(session, "bench,ray")  # ray: the job-runner benchmark measures Ray too
    # envpool is an optional peer (measured in the same run when it installs; not a dependency)
    session.run("python", "-m", "pip", "install", "-q", "envpool>=0.8", success_codes=[0, 1])
    session.run("python", "-m", "rlcheck.bench", *session.posargs,
                env={**environment(), "RLCHECK_PROGRESS": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the package, analyses, tests and this file; mypy on the package (configured in
    pyproject.toml). mypy reads the types of numpy, torch, gymnasium and pytest, so the package
    and those extras are installed first; both must report 0 errors."""
    install(session, "lint,test,report,bench")
    session.run("ruff", "check", "rlcheck", "analyses", "tests", "noxfile.py", "docs/conf.py")
    session.run("mypy")
