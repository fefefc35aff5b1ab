"""Power of rlcheck's checks: detection rate against the size of a planted bias.

Each :class:`PowerFamily` plants a bias of adjustable size in a correct implementation (size 0
is the correct one) and :func:`power_curve` measures the fraction of seeds on which the check
fails, with Clopper-Pearson intervals. The families reuse the correct implementations of the
planted-bug catalogue (:mod:`rlcheck.trust.bugs`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlcheck import stats
from rlcheck.checks import (
    check_bc_loss,
    check_bellman_backup,
    check_dagger,
    check_fitted_q_iteration,
    check_pg_weights,
    check_sampler,
    check_td_targets,
)
from rlcheck.episodes import sample
from rlcheck.progress import track
from rlcheck.result import CheckResult
from rlcheck.stats import rate_interval
from rlcheck.trust.bugs.bc import loss_nll
from rlcheck.trust.bugs.bellman import backup_correct, linear_fqi
from rlcheck.trust.bugs.pg import rtg_absolute
from rlcheck.trust.bugs.sampling import collect_by_hand
from rlcheck.trust.bugs.td import dqn_target


@dataclass(frozen=True)
class PowerFamily:
    """A planted bias of adjustable size for one check: ``run(seed, size) -> CheckResult``.

    ``size = 0`` is the correct implementation; the detection rate at ``size`` is the fraction of
    seeds on which the check fails."""

    name: str
    check: str
    size_name: str
    sizes: tuple[float, ...]
    run: Callable[[int, float], CheckResult]
    slow: bool = False
    """Seconds per call rather than tenths: left out of the quick tier."""


def _pg_power(seed: int, size: float) -> CheckResult:
    """Reward-to-go plus ``size * gamma^t 1[a_t = 1]``: an action-dependent term whose bias is
    ``size * sum_t gamma^t E[grad log pi(a_t|s_t) 1[a_t = 1]]``."""
    def weights(batch: Any) -> np.ndarray:
        return rtg_absolute(batch) + size * batch.discounts() * (batch.actions == 1)
    return check_pg_weights(weights, seed=seed)


def _bc_power(seed: int, size: float) -> CheckResult:
    """NLL fitted to expert actions shifted by ``size`` in every dimension (a biased target)."""
    def loss(dist: Any, actions: Any) -> Any:
        return loss_nll(dist, actions + size)
    return check_bc_loss(loss, seed=seed)


def _bellman_power(seed: int, size: float) -> CheckResult:
    """The correct backup plus a constant ``size`` (a tiny systematic error)."""
    def backup(P: np.ndarray, R: np.ndarray, gamma: float, V: np.ndarray) -> np.ndarray:
        return backup_correct(P, R, gamma, V) + size
    return check_bellman_backup(backup, seed=seed)


def _fqi_power(seed: int, size: float) -> CheckResult:
    """Correct linear FQI whose returned weights are perturbed by ``size``."""
    def fqi_fn(*args: Any) -> np.ndarray:
        return linear_fqi(*args) + size
    return check_fitted_q_iteration(fqi_fn, seed=seed)


def _dagger_power(seed: int, size: float) -> CheckResult:
    """DAgger whose rollouts mix the expert in with probability ``size`` at every step
    (``beta = size`` never decayed)."""

    def dagger_fn(mdp: Any, expert: np.ndarray, fit: Callable[..., np.ndarray], *,
                  n_iterations: int, n_trajectories: int, rng: np.random.Generator) -> np.ndarray:
        labels = expert.argmax(axis=1)
        states = sample(mdp, expert, n_trajectories, rng).states
        data = states
        policy = fit(data, labels[data])
        for _ in range(n_iterations - 1):
            states = sample(mdp, size * expert + (1 - size) * policy, n_trajectories, rng).states
            data = np.concatenate([data, states])
            policy = fit(data, labels[data])
        return policy
    return check_dagger(dagger_fn, seed=seed)


def _sampler_power(seed: int, size: float) -> CheckResult:
    """A collector that takes the greedy action instead of sampling with probability ``size``."""
    def collect_fn(policy: Any, env_id: str, n_steps: int, seed: int) -> Any:
        rng = np.random.default_rng([seed, 99])

        def mixed(obs: np.ndarray, policy_rng: np.random.Generator) -> np.ndarray:
            sampled = policy(obs, policy_rng)
            greedy = policy.probabilities(obs).argmax(axis=1)
            return np.where(rng.random(len(obs)) < size, greedy, sampled)
        mixed.probabilities = policy.probabilities  # type: ignore[attr-defined]
        return collect_by_hand(mixed, env_id, n_steps, seed)
    return check_sampler(collect_fn, seed=seed)


def stats_power(test_name: str) -> Callable[[int, float], CheckResult]:
    """``run(seed, size)`` for the t test (``test_name="t_test"``) or Hotelling's test (any other
    name): null samples shifted by ``size`` times the test's own stated detectable effect."""
    def run(seed: int, size: float) -> CheckResult:
        rng = np.random.default_rng([seed, 7002])
        if test_name == "t_test":
            x = rng.standard_normal(100)
            d = stats.t_test(x, 0.0, alpha=1e-3).detectable_effect
            return stats.t_test(x + size * d, 0.0, alpha=1e-3)
        x = rng.standard_normal((200, 4))
        d = stats.hotelling_test(x, np.zeros(4), alpha=1e-3).detectable_effect
        return stats.hotelling_test(x + size * d / 2.0, np.zeros(4), alpha=1e-3)
    return run


def _td_power(seed: int, size: float) -> CheckResult:
    """The correct DQN target plus a constant ``size`` (a tiny systematic error)."""
    return check_td_targets(lambda b: dqn_target(b) + size, kind="dqn", seed=seed)


def power_families() -> list[PowerFamily]:
    """One planted-bias family per check (and for the t and Hotelling tests)."""
    return [
        PowerFamily("t_test: mean shifted by size x stated detectable effect", "stats.t_test",
                    "shift / detectable effect", (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
                    stats_power("t_test")),
        PowerFamily("hotelling_test: mean shifted by size x stated detectable distance",
                    "stats.hotelling_test", "shift / detectable effect",
                    (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5), stats_power("hotelling")),
        PowerFamily("check_pg_weights: reward-to-go + size * gamma^t 1[a_t = 1]",
                    "check_pg_weights", "size of the action-dependent term",
                    (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12), _pg_power),
        PowerFamily("check_bc_loss: NLL against expert actions shifted by size",
                    "check_bc_loss", "shift of the expert actions",
                    (0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.12), _bc_power),
        PowerFamily("check_bellman_backup: correct backup + size", "check_bellman_backup",
                    "constant error added", (0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6), _bellman_power),
        PowerFamily("check_fitted_q_iteration: weights + size", "check_fitted_q_iteration",
                    "constant error added to the weights",
                    (0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6), _fqi_power),
        PowerFamily("check_td_targets: DQN target + size", "check_td_targets",
                    "constant error added", (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2), _td_power),
        PowerFamily("check_dagger: rollouts mix in the expert with probability size",
                    "check_dagger", "beta (expert share of the rollout policy)",
                    (0.0, 0.005, 0.01, 0.02, 0.03, 0.05), _dagger_power),
        PowerFamily("check_sampler: greedy action instead of a sample with probability size",
                    "check_sampler", "probability of the greedy action",
                    (0.0, 0.05, 0.1, 0.15, 0.2, 0.3), _sampler_power, slow=True),
    ]


def power_curve(family: PowerFamily, seeds: Sequence[int]) -> list[dict[str, Any]]:
    """Detection rate (fraction of seeds failing) at each planted size, with Clopper-Pearson
    95% intervals; one row per size."""
    rows = []
    for size in family.sizes:
        results = [family.run(int(s), float(size)) for s in seeds]
        k = sum(not r.passed for r in results)
        low, high = rate_interval(k, len(results), 0.05)
        rows.append({"family": family.name, "check": family.check, "size_name": family.size_name,
                     "size": float(size), "n_seeds": len(results), "detections": k,
                     "rate": k / len(results), "ci_low": low, "ci_high": high,
                     "samples_per_run": int(results[0].n)})
    return rows


def run_power(n_seeds: int, *, first_seed: int = 2000, include_slow: bool = True,
              progress: bool | None = None) -> list[dict[str, Any]]:
    """:func:`power_curve` of every family (``include_slow=False``: the fast ones) on
    ``n_seeds`` seeds."""

    seeds = range(first_seed, first_seed + n_seeds)
    rows: list[dict[str, Any]] = []
    disable = None if progress is None else not progress
    families = [f for f in power_families() if include_slow or not f.slow]
    for family in track(families, desc="power", disable=disable):
        rows.extend(power_curve(family, seeds))
    return rows
