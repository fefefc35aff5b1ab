"""Where a measured result came from: versions, commit, date, machine, seed, tier and duration.

Written next to every analysis's data (``provenance.json``) by :mod:`rlcheck.verify` and into the
benchmark results by :mod:`rlcheck.bench`.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from rlcheck.paths import ROOT

LIBRARIES = ("numpy", "scipy", "torch", "gymnasium", "mujoco", "hypothesis")
"""Libraries whose installed versions every provenance record lists."""


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
