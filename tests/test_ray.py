"""The Ray runner against a real local Ray (2 CPUs, no dashboard), compared with local processes.

Skipped only where Ray cannot be imported (``pip install 'rlcheck[ray]'``). One Ray is started
for the module and shut down at its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from rlcheck import claims, jobs, stats, verify
from rlcheck.bench.runners import burn
from rlcheck.jobs import Job, JobsFailed, LocalRunner, RayRunner, run_jobs

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'rlcheck[ray]')")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray for this module: 2 CPUs, no dashboard, workers importing this checkout."""
    if ray.is_initialized():
        ray.shutdown()
    jobs.init_ray(num_cpus=2)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def baselines() -> ModuleType:
    module = verify.load_analysis(claims.get_claim("baselines"))
    assert module is not None
    return module


def grid(baselines: ModuleType) -> list[Job]:
    """A small grid of an analysis's jobs: two negative controls x 3 blocks of 2 seeds."""
    return [Job(f"{name}/seeds={s}-{s + 1}", baselines.negative_controls, (name, s, s + 2))
            for name in ("own return", "action-dependent 0.2 a_t") for s in (0, 2, 4)]


def light_grid(seeds: int = 6) -> list[Job]:
    """Seeded numpy jobs (``rlcheck.bench.runners.burn``) for resume and failure handling."""
    return [Job(f"burn/seed={s}", burn, (s, 3_000)) for s in range(seeds)]


class CountingRayRunner(RayRunner):
    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[str] = []

    def submit(self, key: str, payload: bytes) -> None:
        self.submitted.append(key)
        super().submit(key, payload)


def test_ray_gives_the_local_runner_results_bit_for_bit(local_ray: None, baselines: ModuleType,
                                                        tmp_path: Path) -> None:
    job_list = grid(baselines)
    on_ray = run_jobs(job_list, tmp_path / "ray", runner=RayRunner())
    local = run_jobs(job_list, tmp_path / "local", runner=LocalRunner(2))
    assert on_ray == local
    for job in job_list:  # the stored results too (all but the compute time)
        ray_record = (tmp_path / "ray" / jobs.JobStore(tmp_path).path(job.key).name).read_text()
        local_record = (tmp_path / "local" / jobs.JobStore(tmp_path).path(job.key).name).read_text()
        assert ray_record.split('"result"')[1] == local_record.split('"result"')[1]
    assert ray.is_initialized()  # the runner leaves the caller's Ray running


def test_ray_resumes_from_a_store_written_by_local_processes(local_ray: None,
                                                             tmp_path: Path) -> None:
    job_list = light_grid()
    expected = run_jobs(job_list[:4], tmp_path, runner=LocalRunner(2))
    runner = CountingRayRunner()
    results = run_jobs(job_list, tmp_path, runner=runner)
    assert sorted(runner.submitted) == sorted(j.key for j in job_list[4:])
    assert {k: results[k] for k in expected} == expected


def test_a_job_that_raises_on_ray_is_named_with_its_traceback(local_ray: None,
                                                              tmp_path: Path) -> None:
    good = light_grid(2)
    with pytest.raises(JobsFailed) as info:
        run_jobs([*good, Job("bad k", stats.bonferroni, (0.05, 0))], tmp_path,
                 runner=RayRunner(), retries=1)
    (failure,) = info.value.failures
    assert failure.key == "bad k" and failure.attempts == 2
    assert "ValueError: k must be >= 1" in failure.traceback
    assert run_jobs(good, tmp_path, runner=CountingRayRunner()).keys() == {j.key for j in good}


def test_a_ray_worker_that_dies_fails_only_its_job(local_ray: None, tmp_path: Path) -> None:
    good = light_grid(2)
    with pytest.raises(JobsFailed) as info:
        run_jobs([Job("dies", os._exit, (7,)), *good], tmp_path, runner=RayRunner(), retries=1)
    (failure,) = info.value.failures
    assert failure.key == "dies" and failure.attempts == 2
    assert "Worker" in failure.traceback or "worker" in failure.traceback
    runner = CountingRayRunner()
    run_jobs(good, tmp_path, runner=runner)
    assert runner.submitted == []  # the others finished and were stored


def test_verify_ray_option_runs_the_analyses_jobs_on_ray(local_ray: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jobs.RAY_ADDRESS_ENV, raising=False)
    with verify.job_runner(True):
        assert isinstance(jobs.default_runner(), RayRunner)
    assert ray.is_initialized()  # it used the running Ray and left it running
