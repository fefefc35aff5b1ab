"""Per-call time of the public checks at their default settings.

``check_pg_weights`` must stay under :data:`TARGET_SECONDS` per call at its defaults (five MDPs,
5000 episodes each) so that users can run it in their test suites. Measured as the median of
repeats after a warm-up call, beside the time of sampling the same episodes alone (the ratio is
what the check adds on top of sampling: the user's weights, the scores and the tests).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rlcheck.checks.pg import N_EPISODES, check_pg_weights, default_problems
from rlcheck.episodes import sample
from rlcheck.exact import softmax
from rlcheck.pg import reward_to_go

TARGET_SECONDS = 1.0
"""Largest acceptable median time of one ``check_pg_weights`` call at its defaults."""


def median_seconds(work: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``work()`` over ``repeats`` calls, after one warm-up call."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pg_weights_timing(repeats: int = 10) -> dict[str, Any]:
    """Median seconds of ``check_pg_weights(reward-to-go)`` at the defaults and of sampling its
    episodes alone; their ratio, and whether the call meets :data:`TARGET_SECONDS`."""
    problems = default_problems()

    def rtg(batch: Any) -> np.ndarray:
        return reward_to_go(batch.rewards, batch.gamma, restart=False)

    def sample_only() -> None:
        rng = np.random.default_rng(0)
        for p in problems:
            sample(p.mdp, softmax(p.logits), N_EPISODES, rng)

    check = median_seconds(lambda: check_pg_weights(rtg, seed=0), repeats)
    sampling = median_seconds(sample_only, repeats)
    return {"mdps": len(problems), "episodes_per_mdp": N_EPISODES,
            "check_seconds_per_call": check, "sampling_seconds": sampling,
            "check_over_sampling": check / sampling, "target_seconds": TARGET_SECONDS,
            "meets_target": check < TARGET_SECONDS}
