"""Performance benchmarks (``nox -s bench``, ``rlcheck bench``), reported as ratios in one run.

The machines are shared and noisy, so each figure is compared with a reference measured in the
same run, and the medians of repeats are reported:

* tabular sampling: :func:`rlcheck.episodes.sample` (vectorised over trajectories) in transitions
  per second at S=10, A=4, against a plain per-step Python loop over the same MDP (the issue
  asks for at least 2 million transitions per second on one core);
* ``check_pg_weights`` per call at its defaults (:mod:`rlcheck.bench.checks`), against sampling
  its episodes alone; it must stay under 1 s;
* job runners (:mod:`rlcheck.bench.runners`): overhead per job and the speedup of a grid on 1
  and 2 workers, local processes and Ray;
* trajectory sampling on MuJoCo tasks: :mod:`rlcheck.bench.throughput` (speedup of each sampler
  over a serial gymnasium loop), written to ``reports/sampling/throughput.csv``.

Results go to ``reports/bench/results.json`` (not committed: they describe one machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlcheck.episodes import sample
from rlcheck.exact import softmax
from rlcheck.mdp import TabularMDP, random_mdp
from rlcheck.paths import REPORTS
from rlcheck.progress import status, track
from rlcheck.provenance import provenance

TARGET_TRANSITIONS_PER_S = 2_000_000


def median_rate(work: Callable[[], int], repeats: int) -> float:
    """Median over ``repeats`` of (items returned by ``work()``) / (seconds it took)."""
    rates = []
    for _ in track(range(repeats), desc="repeats", leave=False):
        start = time.perf_counter()
        items = work()
        rates.append(items / (time.perf_counter() - start))
    return statistics.median(rates)


def loop_sample(mdp: TabularMDP, probs: np.ndarray, n: int, rng: np.random.Generator) -> int:
    """The naive reference: one Python iteration per transition (returns transitions made)."""
    S = mdp.n_states
    for _ in range(n):
        s = rng.choice(S, p=mdp.init)
        for _t in range(mdp.horizon):
            a = rng.choice(mdp.n_actions, p=probs[s])
            s = rng.choice(S, p=mdp.P[s, a])
    return n * mdp.horizon


def tabular_sampling(repeats: int = 5, n: int = 20_000, horizon: int = 50) -> dict[str, float]:
    """Transitions per second of :func:`rlcheck.episodes.sample` and of the loop, and their ratio."""
    rng = np.random.default_rng(0)
    mdp = random_mdp(10, 4, horizon, 0.99, rng)
    probs = softmax(rng.standard_normal((10, 4)))
    vectorised = median_rate(lambda: sample(mdp, probs, n, rng).states.size, repeats)
    looped = median_rate(lambda: loop_sample(mdp, probs, 200, rng), max(3, repeats // 2))
    return {"states": 10, "actions": 4, "horizon": horizon, "trajectories": n,
            "vectorised_transitions_per_s": vectorised, "loop_transitions_per_s": looped,
            "speedup_vs_loop": vectorised / looped,
            "meets_target": vectorised >= TARGET_TRANSITIONS_PER_S}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rlcheck.bench [--full] [--skip-runners] [--skip-sampling]``; exit 1 if a
    target is missed."""
    parser = argparse.ArgumentParser(prog="python -m rlcheck.bench",
                                     description="rlcheck performance benchmarks (ratios).")
    parser.add_argument("--full", action="store_true", help="larger batches, more repeats")
    parser.add_argument("--skip-sampling", action="store_true",
                        help="skip the MuJoCo trajectory-sampling benchmark")
    parser.add_argument("--skip-runners", action="store_true",
                        help="skip the job-runner benchmark (local processes and Ray)")
    parser.add_argument("--out", type=Path, default=REPORTS / "bench")
    args = parser.parse_args(argv)
    os.environ.setdefault("RLCHECK_PROGRESS", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: dict[str, Any] = {}
    try:
        status("tabular sampling: rlcheck.episodes.sample vs a per-step Python loop")
        tab = tabular_sampling(repeats=9 if args.full else 5)
        results["tabular_sampling"] = tab
        status(f"    {tab['vectorised_transitions_per_s'] / 1e6:.2f} M transitions/s "
               f"(target {TARGET_TRANSITIONS_PER_S / 1e6:.0f} M), "
               f"{tab['speedup_vs_loop']:.0f}x a Python loop")
        from rlcheck.bench import checks

        status("check_pg_weights per call at its defaults")
        pg_time = checks.pg_weights_timing(repeats=20 if args.full else 10)
        results["check_pg_weights"] = pg_time
        status(f"    {pg_time['check_seconds_per_call']:.3f} s per call (target < "
               f"{checks.TARGET_SECONDS:g} s), {pg_time['check_over_sampling']:.1f}x sampling "
               "its episodes alone")
        if not args.skip_runners:
            from rlcheck.bench import runners

            results["runners"] = runners.measure(full=args.full)
            status(runners.summarise(results["runners"]))
        if not args.skip_sampling:
            try:
                from rlcheck.bench import throughput
            except ImportError as exc:
                status(f"trajectory sampling benchmark unavailable: {exc}")
            else:
                csv = throughput.DEFAULT_CSV
                status(f"trajectory sampling benchmark -> {csv}")
                rows = throughput.run("full" if args.full else "quick", csv)
                status(throughput.summarise_ratios(rows))
                results["sampling_csv"] = str(csv)
    except KeyboardInterrupt:
        status("interrupted")
        return 130
    results["provenance"] = provenance("full" if args.full else "quick", 0,
                                       time.perf_counter() - start)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    status(f"wrote {args.out / 'results.json'}")
    return 0 if tab["meets_target"] and pg_time["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
