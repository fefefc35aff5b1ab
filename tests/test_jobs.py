"""The job model (``rlcheck.jobs``) with the default runner, local processes.

Results are compared bit for bit on a grid of an analysis's real jobs (blocks of seeds of the
``baselines`` negative controls: ``check_pg_weights`` on a biased baseline); the runner's
mechanics (store, resume, retries, failures) use a light seeded numpy job so the file stays
fast. A job that raises is a real library call with bad input; a worker that dies runs
``os._exit``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from rlcheck import claims, jobs, stats, verify
from rlcheck.bench.runners import burn
from rlcheck.jobs import Job, JobsFailed, JobStore, LocalRunner, run_jobs


@pytest.fixture(scope="module")
def baselines() -> ModuleType:
    module = verify.load_analysis(claims.get_claim("baselines"))
    assert module is not None
    return module


def analysis_grid(baselines: ModuleType, seeds: int = 3) -> list[Job]:
    """A small grid of an analysis's jobs: two negative controls x ``seeds`` blocks of 2 seeds."""
    return [Job(f"{name}/seeds={s}-{s + 1}", baselines.negative_controls, (name, s, s + 2))
            for name in ("own return", "next-state V(s_{t+1})") for s in range(0, 2 * seeds, 2)]


def grid(seeds: int = 6) -> list[Job]:
    """A light grid for the runner's mechanics: ``rlcheck.bench.runners.burn`` (seeded power
    iteration, ~20 ms) per seed; workers import numpy, not the analyses."""
    return [Job(f"burn/seed={s}", burn, (s, 3_000)) for s in range(seeds)]


def in_process(job_list: list[Job]) -> dict[str, Any]:
    """The reference: every job called here, its result through JSON as the runners send it."""
    return {j.key: json.loads(json.dumps(j.fn(*j.args, **j.kwargs))) for j in job_list}


class CountingRunner(LocalRunner):
    """A local runner that records which jobs it was asked to run."""

    def __init__(self, workers: int = 2) -> None:
        super().__init__(workers)
        self.submitted: list[str] = []

    def submit(self, key: str, payload: bytes) -> None:
        self.submitted.append(key)
        super().submit(key, payload)


def test_local_processes_give_the_in_process_results_bit_for_bit(baselines: ModuleType) -> None:
    job_list = analysis_grid(baselines)
    results = run_jobs(job_list, runner=LocalRunner(2))
    assert list(results) == [j.key for j in job_list]
    assert results == in_process(job_list)
    assert any(not r["passed"] for rows in results.values() for r in rows)  # caught: real work
    assert run_jobs(grid(), runner=LocalRunner(2)) == in_process(grid())


def test_rerun_resumes_from_the_store_without_recomputing(tmp_path: Path) -> None:
    job_list = grid()
    first = CountingRunner()
    results = run_jobs(job_list, tmp_path / "jobs", runner=first)
    assert sorted(first.submitted) == sorted(j.key for j in job_list)
    assert len(list((tmp_path / "jobs").glob("*.json"))) == len(job_list)
    assert not list((tmp_path / "jobs").glob(".*.tmp"))  # written by rename, none left over
    summary = jobs.store_summary(tmp_path / "jobs")
    assert summary["count"] == len(job_list) and summary["untimed"] == 0
    assert summary["seconds"] > 0

    # "interrupted": one job's record is lost; the rerun computes that one alone
    JobStore(tmp_path / "jobs").path(job_list[2].key).unlink()
    second = CountingRunner()
    assert run_jobs(job_list, tmp_path / "jobs", runner=second) == results
    assert second.submitted == [job_list[2].key]

    third = CountingRunner()
    assert run_jobs(job_list, tmp_path / "jobs", runner=third) == results
    assert third.submitted == []


class InterruptedRunner(CountingRunner):
    """Ctrl-C (``KeyboardInterrupt``) in the driver once ``after`` jobs have finished."""

    def __init__(self, after: int) -> None:
        super().__init__(2)
        self.after = after
        self.finished = 0

    def poll(self, timeout: float) -> list[jobs.Finished]:
        if self.finished >= self.after:
            raise KeyboardInterrupt
        done = super().poll(timeout)
        self.finished += sum(f.ok for f in done)
        return done


def test_an_interrupted_grid_resumes_without_redoing_finished_jobs(tmp_path: Path) -> None:
    job_list = grid()
    interrupted = InterruptedRunner(after=2)
    with pytest.raises(KeyboardInterrupt):
        run_jobs(job_list, tmp_path, runner=interrupted)
    assert not interrupted._busy and not interrupted._idle  # its workers were stopped
    stored = {j.key for j in job_list if JobStore(tmp_path).load(j)[0]}
    assert 2 <= len(stored) < len(job_list)
    resumed = CountingRunner()
    assert run_jobs(job_list, tmp_path, runner=resumed) == in_process(job_list)
    assert sorted(resumed.submitted) == sorted({j.key for j in job_list} - stored)


def test_a_stored_result_is_reused_only_with_the_same_arguments(tmp_path: Path) -> None:
    job = grid(seeds=1)[0]
    run_jobs([job], tmp_path, runner=LocalRunner(1))
    changed = Job(job.key, job.fn, (job.args[0], 4_000))
    assert changed.fingerprint != job.fingerprint
    runner = CountingRunner(1)
    result = run_jobs([changed], tmp_path, runner=runner)
    assert runner.submitted == [job.key]
    assert result[job.key] == in_process([changed])[job.key]


def test_a_corrupt_record_is_recomputed(tmp_path: Path) -> None:
    job = grid(seeds=1)[0]
    expected = run_jobs([job], tmp_path, runner=LocalRunner(1))
    JobStore(tmp_path).path(job.key).write_text('{"key": "own return/se')  # a torn write
    runner = CountingRunner(1)
    assert run_jobs([job], tmp_path, runner=runner) == expected
    assert runner.submitted == [job.key]


def test_a_job_that_raises_is_retried_then_named_with_its_traceback(tmp_path: Path) -> None:
    good = grid(seeds=2)
    bad = Job("bad alpha", stats.bonferroni, (1.5, 3))
    runner = CountingRunner()
    with pytest.raises(JobsFailed) as info:
        run_jobs([*good, bad], tmp_path, runner=runner, retries=2)
    assert runner.submitted.count("bad alpha") == 3  # 1 + 2 retries, then given up
    (failure,) = info.value.failures
    assert failure.key == "bad alpha" and failure.attempts == 3
    assert "ValueError" in failure.traceback and "alpha" in failure.traceback
    assert "job 'bad alpha'" in str(info.value)
    # the others finished and were stored: a rerun without the bad job runs nothing
    again = CountingRunner()
    assert run_jobs(good, tmp_path, runner=again) == in_process(good)
    assert again.submitted == []


def test_a_worker_that_dies_fails_only_its_job(tmp_path: Path) -> None:
    good = grid(seeds=2)
    dies = Job("dies", os._exit, (3,))
    with pytest.raises(JobsFailed) as info:
        run_jobs([dies, *good], tmp_path, runner=LocalRunner(2), retries=1)
    (failure,) = info.value.failures
    assert failure.key == "dies" and failure.attempts == 2
    assert "worker process died (exit code 3)" in failure.traceback
    assert run_jobs(good, tmp_path, runner=CountingRunner()) == in_process(good)


def test_jobs_are_checked_when_declared() -> None:
    with pytest.raises(ValueError, match="module-level"):
        Job("k", lambda: 1)
    with pytest.raises(ValueError, match="key"):
        Job("", stats.bonferroni, (0.1, 2))
    with pytest.raises(TypeError, match="JSON-describable"):
        _ = Job("k", stats.iqm, (np.arange(3.0),)).fingerprint
    with pytest.raises(ValueError, match="unique"):
        run_jobs([Job("k", stats.bonferroni, (0.1, 2))] * 2)
    with pytest.raises(ValueError, match="retries"):
        run_jobs([], retries=-1)
    with pytest.raises(ValueError, match="workers"):
        LocalRunner(0)


def test_a_result_that_is_not_json_is_a_failure_naming_the_job(tmp_path: Path) -> None:
    with pytest.raises(JobsFailed, match="JSON-describable"):
        run_jobs([Job("array", np.arange, (3,))], tmp_path, runner=LocalRunner(1), retries=0)


def test_the_default_runner_is_local_and_verify_can_choose_it(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.delenv(jobs.RAY_ADDRESS_ENV, raising=False)
    assert isinstance(jobs.default_runner(), LocalRunner)
    with verify.job_runner(None, workers=1):
        runner = jobs.default_runner()
        assert isinstance(runner, LocalRunner) and runner.workers == 1
    monkeypatch.setenv(jobs.RAY_ADDRESS_ENV, "ray://nowhere:10001")
    assert isinstance(jobs.make_runner(), jobs.RayRunner)
    assert jobs.make_runner().address == "ray://nowhere:10001"  # type: ignore[union-attr]


def test_verify_ray_without_ray_installed_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where it is missing
    assert verify.main(["--only", "death-state", "--ray"]) == verify.EXIT_UNAVAILABLE
    assert "pip install 'rlcheck[ray]'" in capsys.readouterr().err


def test_seed_blocks_cover_every_seed_once_in_order() -> None:
    blocks = jobs.seed_blocks(30_000, 53, 25)
    assert blocks == [(30_000, 30_025), (30_025, 30_050), (30_050, 30_053)]
    assert [s for a, b in blocks for s in range(a, b)] == list(range(30_000, 30_053))
    assert jobs.seed_blocks(0, 0, 5) == []
    with pytest.raises(ValueError, match="size"):
        jobs.seed_blocks(0, 10, 0)


def test_a_script_without_a_main_guard_gets_a_clear_error_not_retries(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text("from rlcheck import stats\nfrom rlcheck.jobs import Job, LocalRunner, "
                      "run_jobs\nrun_jobs([Job('k', stats.bonferroni, (0.1, 2))], "
                      "runner=LocalRunner(1))\n")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(root), "RLCHECK_PROGRESS": "0"})
    assert done.returncode != 0
    assert "WorkerStartError" in done.stderr and '__name__ == "__main__"' in done.stderr
    assert "retrying" not in done.stderr  # not retried
