"""Job runners (:mod:`rlcheck.jobs`): overhead per job and speedup of a grid, local and Ray.

* **Overhead per job**: a grid of no-op jobs is run twice, with ``n`` and ``2 n`` jobs, on one
  worker; ``(wall(2n) - wall(n)) / n`` is what each job costs beyond its own work (shipping it,
  starting it, returning and decoding its JSON), with the workers' start-up cancelled out.
* **Speedup**: a grid of CPU-bound jobs (``burn``, a fixed amount of float64 arithmetic) run on
  1 and on 2 workers; ``speedup = wall(1) / wall(2)`` (start-up included: what a user waits for).
  On a machine shared with other work the speedup is below 2 by the share others take.

Ray is measured when it is installed (``rlcheck[ray]``), on a local Ray started here with as
many CPUs as the runner being measured.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rlcheck.jobs import Job, LocalRunner, RayRunner, Runner, import_ray, init_ray, run_jobs
from rlcheck.progress import status


def noop(index: int) -> int:
    """A job that does nothing: returns its index."""
    return index


def burn(seed: int, rounds: int) -> float:
    """A CPU-bound job: ``rounds`` products of a seeded 64 x 64 matrix with a vector, renormalised
    (power iteration); returns the final estimate of the top eigenvalue's modulus."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((64, 64))
    v = np.ones(64)
    norm = 1.0
    for _ in range(rounds):
        w = a @ v
        norm = float(np.linalg.norm(w))
        v = w / norm
    return norm


def grid_seconds(jobs: list[Job], runner: Runner) -> float:
    """Wall time of running ``jobs`` (no store) on ``runner``."""
    start = time.perf_counter()
    run_jobs(jobs, runner=runner, desc="bench")
    return time.perf_counter() - start


def overhead_per_job(make_runner: Any, n: int) -> float:
    """Seconds per no-op job beyond start-up: ``(wall(2n) - wall(n)) / n`` on one worker (after
    a warm-up grid, for runners whose workers outlive a grid, as Ray's do)."""
    grid_seconds([Job("noop/warm-up", noop, (0,))], make_runner())
    small = grid_seconds([Job(f"noop/{i}", noop, (i,)) for i in range(n)], make_runner())
    large = grid_seconds([Job(f"noop/{i}", noop, (i,)) for i in range(2 * n)], make_runner())
    return max(large - small, 0.0) / n


def speedup(make_runner: Any, jobs: int, rounds: int) -> dict[str, float]:
    """Wall time of ``jobs`` burn jobs on 1 and on 2 workers, and their ratio."""
    grid = [Job(f"burn/{s}", burn, (s, rounds)) for s in range(jobs)]
    one = grid_seconds(grid, make_runner(1))
    two = grid_seconds(grid, make_runner(2))
    return {"wall_1_worker_s": one, "wall_2_workers_s": two, "speedup_2_vs_1": one / two}


def measure(full: bool = False) -> dict[str, Any]:
    """Overhead per job and 1 -> 2 worker speedup of the local runner, and of Ray if installed."""
    n, jobs, rounds = (200, 16, 140_000) if full else (50, 8, 70_000)
    results: dict[str, Any] = {"noop_jobs": n, "burn_jobs": jobs, "burn_rounds": rounds}
    status(f"runners: local processes ({n} no-op jobs; {jobs} burn jobs on 1 and 2 workers)")
    results["local"] = {"overhead_per_job_s": overhead_per_job(lambda: LocalRunner(1), n),
                        **speedup(LocalRunner, jobs, rounds)}
    try:
        ray = import_ray()
    except ImportError as exc:
        results["ray"] = {"skipped": str(exc)}
        return results
    status("runners: Ray (local, 1 then 2 CPUs)")
    out: dict[str, Any] = {}
    for cpus in (1, 2):
        init_ray(num_cpus=cpus)
        try:
            if cpus == 1:
                out["overhead_per_job_s"] = overhead_per_job(RayRunner, n)
            grid = [Job(f"burn/{s}", burn, (s, rounds)) for s in range(jobs)]
            grid_seconds(grid[:cpus], RayRunner())  # start the workers
            out[f"wall_{cpus}_worker{'s' if cpus > 1 else ''}_s"] = grid_seconds(grid, RayRunner())
        finally:
            ray.shutdown()
    out["speedup_2_vs_1"] = out["wall_1_worker_s"] / out["wall_2_workers_s"]
    results["ray"] = out
    return results


def summarise(results: dict[str, Any]) -> str:
    """One line per runner: overhead per job and the 1 -> 2 worker speedup."""
    lines = []
    for name in ("local", "ray"):
        r = results.get(name, {})
        if "skipped" in r:
            lines.append(f"    {name}: skipped ({r['skipped']})")
        elif r:
            lines.append(f"    {name}: {1e3 * r['overhead_per_job_s']:.1f} ms overhead per job; "
                         f"{results['burn_jobs']} CPU-bound jobs {r['wall_1_worker_s']:.1f} s on 1 "
                         f"worker, {r['wall_2_workers_s']:.1f} s on 2 "
                         f"(speedup {r['speedup_2_vs_1']:.2f})")
    return "\n".join(lines)
