"""Shared pytest configuration.

* ``--run-expensive`` enables tests marked ``expensive`` (off by default: long trainings).
* Tests marked ``mujoco`` are skipped when MuJoCo environments cannot be created.
* ``@pytest.mark.statistical(alpha=...)`` declares a seeded statistical test's false-failure
  probability; ``rlcheck.trust.flakiness.flakiness_budget`` sums these over the collected suite, and
  collection fails if a statistical test forgets to declare its alpha.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

EXPERTS_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "experts"


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread per test process: the suite runs one process per core (pytest -n 2),
    and tiny networks with intra-op threads on a busy machine run tens of times slower."""
    import torch

    torch.set_num_threads(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-expensive", action="store_true", default=False,
                     help="run tests marked expensive (long trainings and sweeps)")


def _mujoco_available() -> bool:
    try:
        import gymnasium as gym

        env = gym.make("InvertedPendulum-v5")
        env.close()
        return True
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_expensive = config.getoption("--run-expensive")
    skip_expensive = pytest.mark.skip(reason="expensive: run with --run-expensive")
    mujoco_ok: bool | None = None
    for item in items:
        marker = item.get_closest_marker("statistical")
        if marker is not None and "alpha" not in marker.kwargs:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.statistical needs alpha=...")
        if "expensive" in item.keywords and not run_expensive:
            item.add_marker(skip_expensive)
        if "mujoco" in item.keywords:
            if mujoco_ok is None:
                mujoco_ok = _mujoco_available()
            if not mujoco_ok:
                item.add_marker(pytest.mark.skip(reason="MuJoCo environments unavailable"))


@pytest.fixture(scope="session")
def experts_mirror() -> Path:
    """A folder holding the CS285 expert files: ``RLCHECK_EXPERTS_MIRROR`` or ``../shared/experts``."""
    env = os.environ.get("RLCHECK_EXPERTS_MIRROR")
    path = Path(env) if env and not env.startswith(("http://", "https://")) else EXPERTS_SHARED
    if not (path / "Ant.pkl").exists():
        pytest.skip(f"CS285 expert files not found in {path}")
    return path
