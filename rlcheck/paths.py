"""Where things live in a checkout, and how an analysis script is loaded: one place for both.

``verify`` (runs the analyses), ``report`` (renders their data), ``bench`` (writes benchmark
results) and ``trust.flakiness`` (collects the test suite) read these paths; ``ROOT`` is defined
here only.

Layout::

    ROOT/analyses/<analysis>.py     one thin script per claim (CLAIM_ID, run, figures)
    ROOT/reports/<id>/<tier>/       what an analysis wrote (data, outcome.json, provenance.json)
    ROOT/docs/                      the Sphinx sources of the report
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Protocol

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (where ``analyses/``, ``reports/`` and ``docs/`` live)."""

REPORTS = ROOT / "reports"
"""Data written by the analyses and benchmarks: ``reports/<id>/<tier>/``."""

ANALYSES = ROOT / "analyses"
"""One script per claim: ``analyses/<analysis>.py``."""

DOCS = ROOT / "docs"
"""The Sphinx sources of the report."""

ANALYSES_PACKAGE = "rlcheck_analyses"
"""The package name under which analysis scripts are imported (``rlcheck_analyses.<name>``), so
that worker processes (:mod:`rlcheck.jobs`) can import them again by name."""


class Claim(Protocol):
    """What the loader needs of a claim (:class:`rlcheck.claims.Claim` has it): its ``id`` and
    the name of its analysis script. A protocol, so that this floor does not import the
    registry above it."""

    @property
    def id(self) -> str: ...

    @property
    def analysis(self) -> str: ...


def out_dir_for(claim_id: str, tier: str, reports_dir: Path = REPORTS) -> Path:
    """Where an analysis writes its data: ``reports/<id>/<tier>/``."""
    return reports_dir / claim_id / tier


def analysis_path(claim: Claim, analyses_dir: Path = ANALYSES) -> Path:
    """The analysis script of a claim, ``analyses/<analysis>.py``."""
    return analyses_dir / f"{claim.analysis}.py"


def load_analysis(claim: Claim, analyses_dir: Path = ANALYSES) -> ModuleType | None:
    """Import a claim's analysis script, or return ``None`` if it does not exist yet.

    Raises ``ValueError`` when the script declares another ``CLAIM_ID`` or has no ``run``.
    """
    path = analysis_path(claim, analyses_dir)
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"{ANALYSES_PACKAGE}.{claim.analysis}", path)
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
