"""Stress catalogue: do the checks hold their alpha where users stand, and catch bugs over seeds?

rlcheck's checks are calibrated on their own default problems; users bring others. This module
holds **stress families** of user problems for :func:`~rlcheck.checks.check_pg_weights`, each a
map ``seed -> (TabularMDP, logits)`` (a fresh problem per seed):

* peaked softmax policies, logits ``c N(0, 1)`` with ``c`` in 1, 2, 3, 5 (a policy part-way
  through training: some actions have probability 1e-3 or less);
* a rarely visited state (about 25 of 5000 episodes) with a near-deterministic policy there;
* a rare (probability 0.002 per step) transition to a state paying 1000: heavy-tailed returns;
* a long horizon (T = 50, gamma = 0.99); many actions (A = 10);
* gamma in {0.5, 0.9, 0.99, 1}.

Each family is run under each **correct variant** (reward-to-go for the discounted target,
the restarted reward-to-go for the causal target, batch-normalised advantages in
``mode="direction"``): the false-failure rate at the declared ``alpha`` and at coarser levels
(where a few hundred seeds resolve a rate) with Clopper-Pearson intervals
(:func:`false_failure_rates`). The number of seeds a tier needs to see a check whose real rate
is ``10 alpha`` with 90% power comes from :func:`rlcheck.stats.seeds_to_detect_rate`.

Power: :func:`detection_rates` runs every planted bug of the shared catalogue
(:mod:`rlcheck.trust.bugs`) over many seeds at the check's default settings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlcheck import pg
from rlcheck.checks.pg import Mode, check_pg_weights
from rlcheck.exact import Target
from rlcheck.mdp import TabularMDP, TrajectoryBatch, random_mdp
from rlcheck.progress import status
from rlcheck.result import CheckResult
from rlcheck.stats import rate_detection_power, rate_interval, seeds_to_detect_rate

ALPHA = 1e-3
"""The declared false-failure rate at which the stress families run (``check_pg_weights``'s
default)."""

LEVELS = (1e-3, 1e-2, 5e-2)
"""Levels at which false failures are counted (from each run's p-value): the declared alpha
and two coarser levels that a few hundred seeds resolve."""

CONFIDENCE_ALPHA = 0.01
"""Clopper-Pearson intervals are at level ``1 - 0.01``."""

MAX_RATE_FACTOR = 2.0
"""No family may show a false-failure rate above ``2 x`` its level."""

MIN_DETECTION_RATE = 0.99
"""Every planted bug must be caught in at least this fraction of seeds at the defaults."""

MISCALIBRATION_FACTOR = 10.0
DETECTION_POWER = 0.9
"""Seed counts are sized to flag a check whose real rate is ``10 x`` its level with 90% power."""

Problem = tuple[TabularMDP, np.ndarray]


@dataclass(frozen=True)
class StressFamily:
    """A family of user problems: ``make(seed)`` builds one ``(mdp, logits)`` per seed."""

    name: str
    description: str
    make: Callable[[int], Problem]


@dataclass(frozen=True)
class CorrectVariant:
    """A correct implementation and the settings under which ``check_pg_weights`` must pass it."""

    name: str
    weights_fn: Callable[[TrajectoryBatch], Any]
    target: Target
    mode: Mode


# ----------------------------------------------------------------------------- families

def _rng(seed: int, family: int) -> np.random.Generator:
    return np.random.default_rng([seed, 12, family])


def _peaked(scale: float) -> Callable[[int], Problem]:
    def make(seed: int) -> Problem:
        rng = _rng(seed, int(10 * scale))
        mdp = random_mdp(6, 4, 5, 0.9, rng)
        return mdp, scale * rng.standard_normal((6, 4))
    return make


def _rare_state(seed: int) -> Problem:
    """State 1 starts 1 episode in 200 and is left at once; pi there is 0.9/0.05/0.05 (a random
    permutation); state 0 loops under a random policy, state 2 absorbs; random rewards."""
    rng = _rng(seed, 101)
    P = np.zeros((3, 3, 3))
    P[0, :, 0], P[1, :, 2], P[2, :, 2] = 1.0, 1.0, 1.0
    R = rng.standard_normal((3, 3))
    R[2] = 0.0
    peaked = np.log(rng.permutation([0.9, 0.05, 0.05]))
    logits = np.stack([rng.standard_normal(3), peaked, np.zeros(3)])
    return TabularMDP(P, R, np.array([0.995, 0.005, 0.0]), 0.9, 4), logits


def _rare_jackpot(seed: int) -> Problem:
    """A random 4-state MDP in which every step moves with probability 0.002 to a fifth,
    absorbing state that pays 1000 on entry: rare, huge rewards."""
    rng = _rng(seed, 102)
    base = random_mdp(4, 3, 5, 0.9, rng)
    P = np.zeros((5, 3, 5))
    P[:4, :, :4] = 0.998 * base.P
    P[:4, :, 4] = 0.002
    P[4, :, 0] = 1.0  # paid once, then back to the start
    R = np.zeros((5, 3))
    R[:4] = base.R
    R[4] = 1000.0
    init = np.append(base.init, 0.0)
    return TabularMDP(P, R, init, 0.9, 5), rng.standard_normal((5, 3))


def _sized(n_states: int, n_actions: int, horizon: int, gamma: float, scale: float,
           family: int) -> Callable[[int], Problem]:
    def make(seed: int) -> Problem:
        rng = _rng(seed, family)
        mdp = random_mdp(n_states, n_actions, horizon, gamma, rng)
        return mdp, scale * rng.standard_normal((n_states, n_actions))
    return make


def stress_families() -> tuple[StressFamily, ...]:
    """The stress catalogue of user problems (one fresh problem per seed)."""
    peaked = tuple(StressFamily(f"logit scale {c:g}", f"random_mdp(6, 4, T=5, gamma=0.9), "
                                f"logits = {c:g} x N(0, 1)", _peaked(c)) for c in (1, 2, 3, 5))
    gammas = tuple(StressFamily(f"gamma {g:g}", f"random_mdp(5, 3, T=10, gamma={g:g}), logits "
                                f"= 2 x N(0, 1)", _sized(5, 3, 10, g, 2.0, 200 + i))
                   for i, g in enumerate((0.5, 0.9, 0.99, 1.0)))
    return peaked + (
        StressFamily("rare state", "a state visited by ~25 of 5000 episodes, pi = 0.9/0.05/0.05 "
                     "there (T=4, gamma=0.9)", _rare_state),
        StressFamily("rare jackpot", "a 0.002-per-step transition to a state paying 1000 "
                     "(5 states, 3 actions, T=5, gamma=0.9)", _rare_jackpot),
        StressFamily("long horizon", "random_mdp(4, 3, T=50, gamma=0.99), logits = N(0, 1)",
                     _sized(4, 3, 50, 0.99, 1.0, 300)),
        StressFamily("many actions", "random_mdp(4, 10, T=5, gamma=0.9), logits = 2 x N(0, 1)",
                     _sized(4, 10, 5, 0.9, 2.0, 301)),
    ) + gammas


# ----------------------------------------------------------------------------- variants

def _rtg_absolute(b: TrajectoryBatch) -> np.ndarray:
    return pg.reward_to_go(b.rewards, b.gamma, restart=False)


def _rtg_restart(b: TrajectoryBatch) -> np.ndarray:
    return pg.reward_to_go(b.rewards, b.gamma)


def _normalised_rtg(b: TrajectoryBatch) -> np.ndarray:
    return pg.normalise_advantages(pg.reward_to_go(b.rewards, b.gamma))


def correct_variants() -> tuple[CorrectVariant, ...]:
    """Correct implementations with the settings under which they must pass."""
    return (
        CorrectVariant("reward-to-go, discounted target", _rtg_absolute, "discounted", "unbiased"),
        CorrectVariant("restarted reward-to-go, causal target", _rtg_restart, "causal",
                       "unbiased"),
        CorrectVariant("normalised advantages, direction mode", _normalised_rtg, "causal",
                       "direction"),
    )


# ----------------------------------------------------------------------------- false failures

def run_family(family: StressFamily, variant: CorrectVariant, seeds: Iterable[int], *,
               alpha: float = ALPHA) -> np.ndarray:
    """The p-value of ``check_pg_weights`` (one MDP, so the check's own p-value) per seed;
    ``nan`` where the problem has nothing testable at the default sample size (the check then
    raises, asking for more episodes: no verdict, so neither a pass nor a false failure)."""
    out = []
    for seed in seeds:
        mdp, logits = family.make(seed)
        try:
            result = check_pg_weights(variant.weights_fn, mdps=[(mdp, logits)], seed=seed,
                                      alpha=alpha, target=variant.target, mode=variant.mode)
        except ValueError as error:
            if "use n_episodes >=" not in str(error):
                raise
            out.append(math.nan)
            continue
        if (result.p_value <= alpha) == result.passed:
            raise AssertionError(f"{family.name}: p-value {result.p_value} disagrees with the "
                                 f"decision at alpha {alpha}")
        out.append(result.p_value)
    return np.asarray(out, dtype=np.float64)


def rate_record(failures: int, n: int, level: float, *,
                confidence_alpha: float = CONFIDENCE_ALPHA,
                family_rows: int = 1) -> dict[str, Any]:
    """A false-failure rate ``failures / n`` at ``level`` with its Clopper-Pearson interval and
    a status: ``exceeds`` (the interval lies above ``level``), ``holds`` (its upper end is at
    most :data:`MAX_RATE_FACTOR` ``x level``) or ``unresolved`` (consistent with ``level`` but
    too few seeds to bound it below ``2 x level``)."""
    low, high = rate_interval(failures, n, alpha=confidence_alpha)
    # "exceeds" is decided over all rows of the report at once: Bonferroni over family_rows
    family_low, _ = rate_interval(failures, n, alpha=confidence_alpha / family_rows)
    if family_low > level:
        verdict = "exceeds"
    elif high <= MAX_RATE_FACTOR * level:
        verdict = "holds"
    else:
        verdict = "unresolved"
    return {"level": level, "failures": int(failures), "n": int(n), "rate": failures / n,
            "ci_low": low, "ci_high": high, "family_ci_low": family_low, "status": verdict,
            "seeds_to_see_10x": seeds_to_detect_rate(level, MISCALIBRATION_FACTOR,
                                                     power=DETECTION_POWER,
                                                     confidence_alpha=confidence_alpha)}


def seeds_table(n_seeds: int, *, confidence_alpha: float = CONFIDENCE_ALPHA) -> list[dict[str, Any]]:
    """Per level of :data:`LEVELS`: the seeds needed to flag a ``10 x level`` rate with 90%
    power (:func:`rlcheck.stats.seeds_to_detect_rate`) and the power ``n_seeds`` have."""
    rows = []
    for level in LEVELS:
        need = seeds_to_detect_rate(level, MISCALIBRATION_FACTOR, power=DETECTION_POWER,
                                    confidence_alpha=confidence_alpha)
        have = rate_detection_power(n_seeds, level, MISCALIBRATION_FACTOR * level,
                                    confidence_alpha=confidence_alpha)
        rows.append({"level": level, "true_rate": MISCALIBRATION_FACTOR * level,
                     "seeds_needed_for_90pct": need, "seeds_used": n_seeds,
                     "power_of_seeds_used": have, "resolves_10x": have >= DETECTION_POWER})
    return rows


def false_failure_rates(n_seeds: int, *, first_seed: int = 0,
                        families: Sequence[StressFamily] | None = None,
                        variants: Sequence[CorrectVariant] | None = None) -> list[dict[str, Any]]:
    """For every variant x family: false failures over ``n_seeds`` seeds at each of
    :data:`LEVELS`, one record per (variant, family, level)."""
    families = stress_families() if families is None else families
    variants = correct_variants() if variants is None else variants
    seeds = range(first_seed, first_seed + n_seeds)
    family_rows = len(variants) * len(families) * len(LEVELS)
    rows = []
    for v in variants:
        for f in families:
            start = time.perf_counter()
            p = run_family(f, v, seeds)
            seconds = time.perf_counter() - start
            tested = p[np.isfinite(p)]
            status(f"stress: {v.name} / {f.name}: {int((tested <= ALPHA).sum())}/{len(tested)} "
                   f"at {ALPHA:g} ({seconds:.0f}s)")
            for level in LEVELS:
                rows.append({"check": "check_pg_weights", "variant": v.name, "family": f.name,
                             "description": f.description, "alpha": ALPHA,
                             **rate_record(int((tested <= level).sum()), len(tested), level,
                                           family_rows=family_rows),
                             "untestable_at_defaults": int(len(p) - len(tested)),
                             "seconds_per_call": seconds / n_seeds})
    return rows


# ----------------------------------------------------------------------------- power

@dataclass(frozen=True)
class PlantedBug:
    """A bug and how to run its check on one seed at the check's defaults."""

    name: str
    description: str
    check: str
    run: Callable[[int], CheckResult]


def catalogue_bugs(check: str | None = "check_pg_weights") -> tuple[PlantedBug, ...]:
    """The planted bugs of the shared catalogue (``must="catch"``) for ``check`` (all checks
    for ``None``)."""
    from rlcheck.trust.catalogue import catalogue

    return tuple(PlantedBug(m.name, m.description, m.check, m.run) for m in catalogue()
                 if m.must == "catch" and (check is None or m.check == check))


def detection_rates(bugs: Sequence[PlantedBug], n_seeds: int, *,
                    first_seed: int = 5000) -> list[dict[str, Any]]:
    """Detection rate of each bug over ``n_seeds`` seeds at the check's defaults, with its
    Clopper-Pearson interval and the largest p-value seen."""
    rows = []
    for bug in bugs:
        start = time.perf_counter()
        results = [bug.run(s) for s in range(first_seed, first_seed + n_seeds)]
        caught = sum(not r.passed for r in results)
        low, high = rate_interval(caught, n_seeds, alpha=CONFIDENCE_ALPHA)
        worst = max((r.p_value for r in results if math.isfinite(r.p_value)), default=math.nan)
        rows.append({"bug": bug.name, "description": bug.description, "check": bug.check,
                     "caught": caught, "n": n_seeds, "rate": caught / n_seeds, "ci_low": low,
                     "ci_high": high, "largest_p_value": worst,
                     "seconds_per_call": (time.perf_counter() - start) / n_seeds})
        status(f"stress: bug {bug.name}: caught {caught}/{n_seeds}")
    return rows


def per_call_seconds(repeats: int = 20) -> float:
    """Median wall time of ``check_pg_weights(reward-to-go)`` at the default settings (after
    one warm-up call)."""
    check_pg_weights(_rtg_absolute, seed=0)
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        check_pg_weights(_rtg_absolute, seed=seed)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
