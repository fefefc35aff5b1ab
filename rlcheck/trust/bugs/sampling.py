"""Planted bugs in trajectory collectors, for :func:`rlcheck.checks.check_sampler`.

A collector maps ``(policy, env_id, n_steps, seed)`` to exactly ``n_steps`` transitions with the
fields of :class:`rlcheck.sampling.Rollouts`; the check replays them in CartPole-v1 (and collects
again in ``rlcheck/CartPole-short-v1``, a 20-step time limit, to test truncation).
:func:`collect_by_hand` is a plain gymnasium loop with one bug planted on request.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from rlcheck.checks import sampling as checked
from rlcheck.sampling import collect
from rlcheck.trust.bugs import Must, Mutant

SAMPLER_BUGS = ("drop-final-step", "budget-cut-terminal", "no-reset", "next-obs-is-obs",
                "action-lag", "reset-seed-every-episode", "same-seed-every-env", "greedy-actions",
                "drop-incomplete-episode", "time-limit-terminal", "reward-lag")


def collect_by_hand(policy: Callable[..., np.ndarray], env_id: str, n_steps: int, seed: int, *,
                    n_envs: int = 1, bug: str | None = None) -> Any:
    """A plain gymnasium loop over ``n_envs`` environments stepped in turn (``bug=None``:
    correct), with one of :data:`SAMPLER_BUGS` planted on request.

    Environment ``i`` is seeded ``seed + i`` once, at its first reset; the policy draws from
    ``default_rng(seed)``; the last episode of each environment is cut by the step budget
    (``truncated``). Returns a namespace with the fields of :class:`rlcheck.sampling.Rollouts`.
    """
    import gymnasium as gym

    if bug is not None and bug not in SAMPLER_BUGS:
        raise ValueError(f"unknown sampler bug {bug!r}; known: {SAMPLER_BUGS}")
    rng = np.random.default_rng(seed)
    envs = [gym.make(env_id) for _ in range(n_envs)]
    budgets = [n_steps // n_envs + (i < n_steps % n_envs) for i in range(n_envs)]
    rows: list[list[tuple[Any, ...]]] = [[] for _ in range(n_envs)]
    try:
        with warnings.catch_warnings():  # stepping a finished episode ("no-reset") warns
            warnings.simplefilter("ignore")
            _step_by_hand(envs, budgets, rows, policy, rng, seed, bug)
    finally:
        for env in envs:
            env.close()
    if bug == "drop-incomplete-episode":  # each environment's budget-cut last episode discarded
        rows = [[row for row in env_rows if env_rows[-1][4] or row[6] != env_rows[-1][6]]
                for env_rows in rows]
    return _as_namespace(rows)


def _step_by_hand(envs: list[Any], budgets: list[int], rows: list[list[tuple[Any, ...]]],
                  policy: Callable[..., np.ndarray], rng: np.random.Generator, seed: int,
                  bug: str | None) -> None:
    """Step the environments in turn until each has its budget; rows are
    ``(s, a, r, s', terminated, truncated, episode)``."""
    n_envs = len(envs)
    first_seed = [seed if bug == "same-seed-every-env" else seed + i for i in range(n_envs)]
    obs = [env.reset(seed=first_seed[i])[0] for i, env in enumerate(envs)]
    episode, next_episode = list(range(n_envs)), n_envs
    previous_action: list[int | None] = [None] * n_envs
    previous_reward = [0.0] * n_envs
    while any(len(rows[i]) < budgets[i] for i in range(n_envs)):
        for i, env in enumerate(envs):
            if len(rows[i]) >= budgets[i]:
                continue
            if bug == "greedy-actions":
                softmax_policy: Any = policy  # a LinearSoftmaxPolicy, which has probabilities()
                action = int(np.argmax(softmax_policy.probabilities(obs[i][None])[0]))
            else:
                action = int(np.asarray(policy(obs[i][None], rng))[0])
            nxt, reward, terminated, truncated, _ = env.step(action)
            done = bool(terminated or truncated)
            cut = len(rows[i]) == budgets[i] - 1 and not done
            recorded = action
            if bug == "action-lag":
                lagged = previous_action[i]
                recorded = action if lagged is None else lagged
                previous_action[i] = action
            recorded_reward = float(reward)
            if bug == "reward-lag":  # the reward list is appended one step late
                recorded_reward, previous_reward[i] = previous_reward[i], float(reward)
            time_limit = bug == "time-limit-terminal" and bool(truncated)
            row = (obs[i], recorded, recorded_reward,
                   obs[i] if bug == "next-obs-is-obs" else nxt,
                   bool(terminated) or time_limit or (cut and bug == "budget-cut-terminal"),
                   (bool(truncated) and not time_limit) or (cut and bug != "budget-cut-terminal"),
                   episode[i])
            if not (done and bug == "drop-final-step"):
                rows[i].append(row)
            if done and bug != "no-reset":
                again = seed + i if bug == "reset-seed-every-episode" else None
                obs[i] = env.reset(seed=again)[0]
                episode[i], next_episode = next_episode, next_episode + 1
            else:
                obs[i] = nxt


def _as_namespace(rows: list[list[tuple[Any, ...]]]) -> Any:
    """Concatenate per-environment rows (environment 0 first) into Rollouts-like arrays, with
    episodes renumbered 0, 1, ... in order of appearance."""
    flat = [row for env_rows in rows for row in env_rows]
    columns = list(zip(*flat, strict=True))
    ids: dict[int, int] = {}
    for e in columns[6]:
        ids.setdefault(e, len(ids))
    return SimpleNamespace(
        observations=np.asarray(columns[0], dtype=np.float32),
        actions=np.asarray(columns[1], dtype=np.int64),
        rewards=np.asarray(columns[2], dtype=np.float64),
        next_observations=np.asarray(columns[3], dtype=np.float32),
        terminated=np.asarray(columns[4], dtype=bool),
        truncated=np.asarray(columns[5], dtype=bool),
        episode=np.asarray([ids[e] for e in columns[6]], dtype=np.int64),
        env_index=np.repeat(np.arange(len(rows)), [len(r) for r in rows]).astype(np.int64))


def _collect_with_rlcheck(policy: Callable[..., np.ndarray], env_id: str, n_steps: int,
                          seed: int) -> Any:
    """rlcheck's own serial sampler (the reference implementation)."""
    return collect(policy, env_id, n_steps, seed)


def _sampler(name: str, description: str, must: Must, bug: str | None = None,
             n_envs: int = 1, collect_fn: Callable[..., Any] | None = None) -> Mutant:
    def by_hand(policy: Callable[..., np.ndarray], env_id: str, n_steps: int, seed: int) -> Any:
        return collect_by_hand(policy, env_id, n_steps, seed, n_envs=n_envs, bug=bug)

    fn = collect_fn if collect_fn is not None else by_hand

    def manifests(seed: int) -> bool:
        """Whether the bug changes what the check's own call would collect with this seed."""
        n_steps = inspect.signature(checked.check_sampler).parameters["n_steps"].default
        policy = checked.reference_policy()
        for env_id, steps in ((checked.ENV_ID, n_steps),  # the check's two collections
                              (checked.SHORT_CARTPOLE_ID, checked.TIME_LIMIT_STEPS)):
            got = collect_by_hand(policy, env_id, steps, seed, n_envs=n_envs, bug=bug)
            ref = collect_by_hand(policy, env_id, steps, seed, n_envs=n_envs)
            if any(np.shape(getattr(got, f)) != np.shape(getattr(ref, f))
                   or not np.array_equal(getattr(got, f), getattr(ref, f)) for f in vars(ref)):
                return True
        return False
    return Mutant(name, description, "sampling", must, "check_sampler", fn,
                  manifests=manifests if bug is not None and must == "catch" else None)


def mutants() -> list[Mutant]:
    """The trajectory-collector mutants (area ``sampling``)."""
    return [
        _sampler("sampler-drops-final-step", "`if done: reset; continue` before appending: the "
                 "last transition of every episode is lost", "catch", "drop-final-step"),
        _sampler("sampler-budget-cut-terminal", "the step-budget cut stored as terminated "
                 "(truncation treated as termination)", "catch", "budget-cut-terminal"),
        _sampler("sampler-no-reset", "the environment is never reset after an episode ends",
                 "catch", "no-reset"),
        _sampler("sampler-next-obs-is-obs", "obs overwritten before storing: next_obs == obs",
                 "catch", "next-obs-is-obs"),
        _sampler("sampler-action-lag", "actions appended one step late: a_{t-1} paired with s_t",
                 "catch", "action-lag"),
        _sampler("sampler-reset-seed-every-episode", "env.reset(seed=seed) at every episode: "
                 "every episode starts in the same state", "catch", "reset-seed-every-episode"),
        _sampler("sampler-same-seed-every-env", "every parallel environment seeded with the same "
                 "seed: duplicated trajectories", "catch", "same-seed-every-env", n_envs=2),
        _sampler("sampler-greedy-actions", "data collected with the greedy (argmax) action "
                 "instead of sampling from the policy", "catch", "greedy-actions"),
        _sampler("sampler-drops-incomplete-episode", "the budget-cut last episode discarded: "
                 "fewer transitions than requested", "catch", "drop-incomplete-episode"),
        _sampler("sampler-time-limit-terminal", "time-limit truncation stored as terminated "
                 "(done = terminated or truncated)", "catch", "time-limit-terminal"),
        _sampler("sampler-reward-lag", "rewards appended one step late: r_{t-1} paired with "
                 "(s_t, a_t)", "catch", "reward-lag"),
        _sampler("sampler-by-hand", "a plain gymnasium loop", "pass"),
        _sampler("sampler-two-envs-round-robin", "two environments stepped in turn, seeds "
                 "seed and seed+1, with env_index", "pass", n_envs=2),
        _sampler("sampler-rlcheck-serial", "rlcheck.sampling.collect (serial)", "pass",
                 collect_fn=_collect_with_rlcheck),
    ]
