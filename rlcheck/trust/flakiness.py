"""The flakiness budget of the test suite, as a pytest plugin: declared alphas and re-seeding.

Every seeded statistical test in the suite declares its false-failure probability with
``@pytest.mark.statistical(alpha=...)``. With the seeds fixed, CI is deterministic; the budget
is the probability that a fresh choice of seeds would make some test fail falsely, bounded by
the union bound ``sum_i alpha_i`` over the tests that run (:func:`flakiness_budget`, collected
with pytest itself). rlcheck aims below :data:`~rlcheck.trust.levels.BUDGET_TARGET`.
:func:`reseeded_runs` reruns the statistical tests with other seeds to show that no test passes
only because of its seed.

This module is a pytest plugin (``-p rlcheck.trust.flakiness``) with three parts:

* :class:`StatisticalCollector` records, at the end of collection, every test carrying the
  ``statistical`` marker with its alpha and whether it is skipped by default;
* :class:`OutcomeRecorder` records each test's outcome;
* :class:`Reseeder`: with ``RLCHECK_RESEED=<k>`` (``k != 0``) set, the hooks
  :func:`pytest_configure` and :func:`pytest_runtest_setup` mix ``k`` into every seed the tests
  pass to ``numpy.random.default_rng`` and ``torch.manual_seed``. The tests seed their
  generators with literals (``default_rng(0)``), so the only way to give them other seeds
  without editing them is to wrap these two functions for the duration of the session; the
  wrapper is installed only when ``k != 0``, only inside a pytest process that loaded this
  plugin, and removed again in :func:`pytest_unconfigure`. Generators built directly
  (``np.random.Generator(PCG64(s))``), hypothesis' derandomised examples and torch generators
  seeded through ``torch.Generator().manual_seed`` are not re-seeded.

:func:`collect_statistical_tests` and :func:`reseeded_run` run pytest in a subprocess
(``python -m rlcheck.trust.flakiness collect-into|run-into FILE ...``) so that the suite is
collected exactly as CI collects it, in a fresh interpreter. ``python -m
rlcheck.trust.flakiness budget`` prints the budget; ``... reseed 1 2 3`` reruns the statistical
tests with re-mixed seeds.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlcheck.paths import ROOT
from rlcheck.trust.levels import BUDGET_TARGET

RESEED_ENV = "RLCHECK_RESEED"
"""Environment variable read by the re-seeding hooks of this plugin."""

TORCH_SEED_STRIDE = 1_000_003
"""``torch.manual_seed(s)`` becomes ``torch.manual_seed(s + TORCH_SEED_STRIDE * k)``."""


# ============================================================================ the plugin's parts

class StatisticalCollector:
    """Pytest plugin object: the statistical tests of a collection, with alpha and skip state.

    Reads the items in ``pytest_collection_finish``, after every ``pytest_collection_modifyitems``
    (the project's ``conftest.py`` marks ``expensive`` and ``mujoco`` skips there) has run.
    Parametrised tests count once per case, each case being an independent chance to fail.
    """

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def pytest_collection_finish(self, session: Any) -> None:
        """Pytest hook: record ``nodeid``, ``alpha`` and ``skipped`` of each statistical test."""
        for item in session.items:
            marker = item.get_closest_marker("statistical")
            if marker is None:
                continue
            skipped = item.get_closest_marker("skip") is not None or any(
                m.args and m.args[0] is True for m in item.iter_markers("skipif"))
            self.items.append({"nodeid": item.nodeid,
                               "alpha": float(marker.kwargs.get("alpha", "nan")),
                               "skipped": skipped})


class OutcomeRecorder:
    """Pytest plugin object: the outcome (passed, failed, error, skipped) of every test run."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        """Pytest hook: fold the setup, call and teardown reports of a test into one row."""
        row = self.rows.setdefault(report.nodeid, {"nodeid": report.nodeid, "outcome": "passed"})
        if report.failed:
            row["outcome"] = "failed" if report.when == "call" else "error"
            row["message"] = str(report.longrepr)[-1500:]
        elif report.skipped and row["outcome"] == "passed":
            row["outcome"] = "skipped"


def mix_seed(offset: int, seed: Any) -> Any:
    """Seed entropy with ``offset`` mixed in: ``[*seed, 0x5EED, offset]``; generators, bit
    generators, seed sequences and ``None`` are returned untouched."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.BitGenerator,
                                         np.random.SeedSequence)):
        return seed
    entropy = np.atleast_1d(np.asarray(seed)).astype(np.int64).ravel().tolist()
    return [*entropy, 0x5EED, offset]


class Reseeder:
    """Wraps ``numpy.random.default_rng`` (and, once imported, ``torch.manual_seed``) so that
    every seed has ``offset`` mixed in; :meth:`remove` restores the originals."""

    def __init__(self, offset: int) -> None:
        self.offset = int(offset)
        self._numpy_default_rng: Callable[..., np.random.Generator] | None = None
        self._torch_manual_seed: Callable[[int], Any] | None = None

    def install_numpy(self) -> None:
        """Replace ``numpy.random.default_rng`` by a wrapper that mixes in the offset."""
        if self._numpy_default_rng is not None:
            return
        original = np.random.default_rng
        offset = self.offset

        def default_rng(seed: Any = None) -> np.random.Generator:
            return original(mix_seed(offset, seed))

        self._numpy_default_rng = original
        np.random.default_rng = default_rng

    def install_torch(self) -> None:
        """Once torch is imported (by a test module), shift ``torch.manual_seed(s)`` to
        ``s + TORCH_SEED_STRIDE * offset``; torch is not imported just for this."""
        torch: Any = sys.modules.get("torch")
        if torch is None or self._torch_manual_seed is not None:
            return
        original = torch.manual_seed
        offset = self.offset

        def manual_seed(seed: int) -> Any:
            return original((int(seed) + TORCH_SEED_STRIDE * offset) % (2**63))

        self._torch_manual_seed = original
        torch.manual_seed = manual_seed

    def remove(self) -> None:
        """Restore the original functions."""
        if self._numpy_default_rng is not None:
            np.random.default_rng = self._numpy_default_rng
            self._numpy_default_rng = None
        torch: Any = sys.modules.get("torch")
        if torch is not None and self._torch_manual_seed is not None:
            torch.manual_seed = self._torch_manual_seed
            self._torch_manual_seed = None


def reseed_offset() -> int:
    """The offset ``k`` of ``RLCHECK_RESEED`` (0 when unset or empty: seeds unchanged)."""
    return int(os.environ.get(RESEED_ENV, "0") or 0)


_RESEEDER: Reseeder | None = None


def pytest_configure(config: Any) -> None:
    """Pytest hook: with ``RLCHECK_RESEED=k`` (k != 0), start re-seeding ``default_rng``."""
    global _RESEEDER
    offset = reseed_offset()
    if offset != 0 and _RESEEDER is None:
        _RESEEDER = Reseeder(offset)
        _RESEEDER.install_numpy()


def pytest_runtest_setup(item: Any) -> None:
    """Pytest hook: re-seed ``torch.manual_seed`` too once a test module has imported torch."""
    if _RESEEDER is not None:
        _RESEEDER.install_torch()


def pytest_unconfigure(config: Any) -> None:
    """Pytest hook: restore ``default_rng`` and ``manual_seed``."""
    global _RESEEDER
    if _RESEEDER is not None:
        _RESEEDER.remove()
        _RESEEDER = None


# ============================================================================ running pytest

def _subprocess_env(root: Path) -> dict[str, str]:
    """The environment of a pytest subprocess: rlcheck and ``root`` importable."""
    paths = [str(ROOT), str(root), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _run_pytest_subprocess(command: str, args: Sequence[str], *, root: Path, timeout: float,
                           env: dict[str, str]) -> dict[str, Any]:
    """``python -m rlcheck.trust.flakiness <command> OUT *args`` in ``root``; the JSON it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{command}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "rlcheck.trust.flakiness", command, str(out), *args],
            cwd=root, capture_output=True, text=True, timeout=timeout, env=env)
        if not out.exists():
            raise RuntimeError(f"pytest failed to run (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        data: dict[str, Any] = json.loads(out.read_text())
    data["stdout"], data["stderr"] = proc.stdout[-3000:], proc.stderr[-3000:]
    return data


def collect_statistical_tests(paths: Sequence[str] = ("tests",), *, root: Path = ROOT,
                              extra_args: Sequence[str] = (),
                              timeout: float = 600.0) -> list[dict[str, Any]]:
    """Every test collected by pytest under ``paths`` that carries
    ``@pytest.mark.statistical(alpha=...)``: ``nodeid``, ``alpha`` and ``skipped`` (skipped in a
    default run, e.g. ``expensive`` or ``mujoco`` without MuJoCo).

    Runs ``pytest --collect-only`` in a subprocess with :class:`StatisticalCollector`, so it sees
    exactly what CI collects.
    """
    missing = [m for m in ("pytest", "hypothesis") if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(f"the flakiness budget collects the test suite, which needs "
                           f"{' and '.join(missing)}: pip install -e '.[test]'")
    data = _run_pytest_subprocess("collect-into", [*paths, *extra_args], root=root,
                                  timeout=timeout, env=_subprocess_env(root))
    if data["exit_code"] not in (0, 5):  # 5: no tests collected
        raise RuntimeError(f"pytest collection failed (exit {data['exit_code']}):\n"
                           f"{data['stdout']}\n{data['stderr']}")
    items: list[dict[str, Any]] = data["items"]
    return items


def flakiness_budget(paths: Sequence[str] = ("tests",), *, root: Path = ROOT,
                     extra_args: Sequence[str] = (),
                     items: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The family-wise false-failure probability of one CI run of the statistical tests.

    ``budget = sum_i alpha_i`` over the statistical tests that run by default (union bound:
    ``P(any fails) <= sum_i P(test i fails)``, whatever their dependence); ``budget_all`` adds
    the tests skipped by default (``expensive``, ``mujoco`` without MuJoCo). With fixed seeds a
    CI run is deterministic: the budget is the chance that changing the seeds (or a harmless
    change in the order random numbers are drawn) turns a correct suite red.
    """
    items = list(collect_statistical_tests(paths, root=root, extra_args=extra_args)
                 if items is None else items)
    running = [i for i in items if not i["skipped"]]
    per_file: dict[str, float] = {}
    for i in running:
        key = i["nodeid"].split("::")[0]
        per_file[key] = per_file.get(key, 0.0) + i["alpha"]
    budget = float(sum(i["alpha"] for i in running))
    return {
        "budget": budget, "budget_all": float(sum(i["alpha"] for i in items)),
        "n_tests": len(running), "n_tests_all": len(items), "target": BUDGET_TARGET,
        "within_target": budget < BUDGET_TARGET, "per_file": per_file,
        "largest": sorted(running, key=lambda i: -i["alpha"])[:10], "tests": items,
    }


def reseeded_run(offset: int, paths: Sequence[str] = ("tests",), *, root: Path = ROOT,
                 extra_args: Sequence[str] = (), timeout: float = 1800.0) -> dict[str, Any]:
    """Run the statistical tests under ``paths`` once with every seed re-mixed with ``offset``
    (see :class:`Reseeder`); the outcome of each test."""
    data = _run_pytest_subprocess("run-into", [*paths, *extra_args], root=root, timeout=timeout,
                                  env={**_subprocess_env(root), RESEED_ENV: str(offset)})
    rows = data["rows"]
    return {"offset": offset, "exit_code": data["exit_code"], "n_tests": len(rows),
            "passed": sum(r["outcome"] == "passed" for r in rows),
            "failed": [r for r in rows if r["outcome"] in ("failed", "error")],
            "skipped": sum(r["outcome"] == "skipped" for r in rows)}


def reseeded_runs(offsets: Sequence[int] = (1, 2, 3), paths: Sequence[str] = ("tests",),
                  **kwargs: Any) -> list[dict[str, Any]]:
    """:func:`reseeded_run` for each offset."""
    return [reseeded_run(k, paths, **kwargs) for k in offsets]


def _collect_into(out: Path, args: Sequence[str]) -> int:
    """In this process: collect ``args`` with :class:`StatisticalCollector`; write JSON to ``out``."""
    import pytest

    collector = StatisticalCollector()
    code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *args],
                       plugins=[collector])
    out.write_text(json.dumps({"exit_code": int(code), "items": collector.items}))
    return 0


def _run_into(out: Path, args: Sequence[str]) -> int:
    """In this process: run the statistical tests of ``args`` with this plugin loaded (so
    ``RLCHECK_RESEED`` applies) and :class:`OutcomeRecorder`; write JSON to ``out``."""
    import pytest

    recorder = OutcomeRecorder()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "rlcheck.trust.flakiness",
                        "-m", "statistical", *args], plugins=[recorder])
    out.write_text(json.dumps({"exit_code": int(code), "rows": list(recorder.rows.values())}))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rlcheck.trust.flakiness [budget | reseed K ...]``: print the flakiness budget, or
    rerun the statistical tests with re-mixed seeds."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("budget", help="sum the alphas of the statistical tests")
    reseed = sub.add_parser("reseed", help="rerun the statistical tests with other seeds")
    reseed.add_argument("offsets", type=int, nargs="+")
    for name in ("collect-into", "run-into"):  # used by this module's own subprocesses
        internal = sub.add_parser(name)
        internal.add_argument("out", type=Path)
        internal.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "collect-into":
        return _collect_into(args.out, args.pytest_args)
    if args.command == "run-into":
        return _run_into(args.out, args.pytest_args)
    if args.command == "budget":
        b = flakiness_budget()
        print(f"{b['n_tests']} statistical tests run by default, sum of alphas {b['budget']:.3g} "
              f"(target < {b['target']:g}); {b['n_tests_all']} in all, {b['budget_all']:.3g}")
        for path, total in sorted(b["per_file"].items(), key=lambda kv: -kv[1]):
            print(f"  {total:.3g}  {path}")
        return 0 if b["within_target"] else 1
    bad = 0
    for offset in args.offsets:
        run = reseeded_run(offset)
        print(f"offset {offset}: {run['passed']} passed, {len(run['failed'])} failed, "
              f"{run['skipped']} skipped")
        for row in run["failed"]:
            print(f"  FAILED {row['nodeid']}")
        bad += len(run["failed"])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
