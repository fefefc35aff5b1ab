"""What every sampler shares: seeding, step budgets, and stepping a group of environments.

The data a sampler returns is a function of ``(policy, env_id, n_steps, seed, n_envs)`` alone,
where ``n_envs = workers * envs_per_worker``:

* environment ``i`` is reset once with the seed ``env_seed(seed, i)`` and its policy noise comes
  from its own generator ``policy_rng(seed, i)`` (both from ``numpy.random.SeedSequence(seed,
  spawn_key=(i, k))``); later episodes continue the environment's own random stream;
* environment ``i`` collects exactly ``budget_i`` transitions, with ``budget_i = n_steps // n_envs
  + (i < n_steps % n_envs)``, so ``sum_i budget_i = n_steps``; its last episode is marked
  ``truncated`` where the budget cuts it.

How the environments are spread over threads, processes or vector environments changes only
how many observations go into one policy call, hence at most the floating-point details of
batched inference.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlcheck.sampling.policies import act_batch
from rlcheck.sampling.rollouts import Rollouts, concatenate


def env_seed(seed: int, index: int) -> int:
    """Reset seed of environment ``index``: 32 bits from ``SeedSequence(seed, spawn_key=(i, 0))``."""
    return int(np.random.SeedSequence(seed, spawn_key=(index, 0)).generate_state(1)[0])


def policy_rng(seed: int, index: int) -> np.random.Generator:
    """Policy-noise generator of environment ``index``: ``SeedSequence(seed, spawn_key=(i, 1))``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, 1)))


def budgets(n_steps: int, n_envs: int) -> np.ndarray:
    """Steps per environment: ``n_steps // n_envs`` each, the remainder to the first ones."""
    if n_envs < 1:
        raise ValueError(f"need at least one environment, got n_envs={n_envs}")
    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    base, extra = divmod(n_steps, n_envs)
    return base + (np.arange(n_envs) < extra).astype(np.int64)


SHORT_CARTPOLE_ID = "rlcheck/CartPole-short-v1"
"""CartPole-v1 with a time limit of :data:`SHORT_CARTPOLE_LIMIT` steps instead of 500, so that
a collector's handling of time-limit truncation can be exercised in a few episodes
(:func:`rlcheck.checks.check_sampler` uses it). Registered with gymnasium when this module is
imported, which every rlcheck sampler and worker process does."""
SHORT_CARTPOLE_LIMIT = 20


def register_envs() -> None:
    """Register rlcheck's environment ids with gymnasium (idempotent):
    :data:`SHORT_CARTPOLE_ID` = ``CartPole-v1`` with ``max_episode_steps =``
    :data:`SHORT_CARTPOLE_LIMIT`, and ``rlcheck/Faulty-v0``
    (:class:`rlcheck.sampling.faults.FaultyCartPole`, for fault-injection tests)."""
    import gymnasium as gym

    if "rlcheck/Faulty-v0" not in gym.registry:
        gym.register(id="rlcheck/Faulty-v0",
                     entry_point="rlcheck.sampling.faults:FaultyCartPole",
                     max_episode_steps=500)

    if SHORT_CARTPOLE_ID not in gym.registry:
        gym.register(id=SHORT_CARTPOLE_ID,
                     entry_point="gymnasium.envs.classic_control.cartpole:CartPoleEnv",
                     max_episode_steps=SHORT_CARTPOLE_LIMIT,
                     reward_threshold=float(SHORT_CARTPOLE_LIMIT))


def validate_env_id(env_id: str) -> None:
    """``ValueError`` naming the id unless gymnasium knows it."""
    import gymnasium as gym

    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a gymnasium id string, got {type(env_id).__name__}")
    if env_id not in gym.registry:
        close = [k for k in gym.registry if k.split("-")[0].lower() == env_id.split("-")[0].lower()]
        hint = f"; did you mean one of {close}?" if close else ""
        raise ValueError(f"unknown environment id {env_id!r} (env_id){hint}")


def validate_layout(workers: int, envs_per_worker: int, timeout: float,
                    worker_threads: int | None, env_kwargs: dict[str, Any] | None
                    ) -> tuple[int, int, float, int | None]:
    """The sampler arguments every sampler shares, checked with errors naming them; returns
    ``(workers, envs_per_worker, timeout, worker_threads)`` as ``int, int, float, int | None``."""
    from rlcheck.validation import validate_positive_int, validate_positive_number

    workers = validate_positive_int(workers, "workers")
    envs_per_worker = validate_positive_int(envs_per_worker, "envs_per_worker")
    timeout = validate_positive_number(timeout, "timeout")
    if worker_threads is not None:
        worker_threads = validate_positive_int(worker_threads, "worker_threads")
    if env_kwargs is not None and not isinstance(env_kwargs, dict):
        raise TypeError(f"env_kwargs must be a dict or None, got {type(env_kwargs).__name__}")
    return workers, envs_per_worker, timeout, worker_threads


def validate_collection(n_steps: int, seed: int, n_envs: int) -> tuple[int, int]:
    """``n_steps`` (an integer >= the ``n_envs`` environments) and ``seed`` (an integer >= 0),
    checked with errors naming them."""
    from rlcheck.validation import validate_positive_int, validate_seed

    return validate_positive_int(n_steps, "n_steps", minimum=n_envs), validate_seed(seed)


def make_env(env_id: str, env_kwargs: dict[str, Any] | None = None) -> Any:
    """``gymnasium.make(env_id, **env_kwargs)``."""
    import gymnasium as gym

    return gym.make(env_id, **(env_kwargs or {}))


def limit_threads(n_threads: int | None) -> None:
    """Limit torch intra-op and BLAS/OpenMP threads of this process to ``n_threads``.

    ``None`` leaves the defaults. The environment variables in :data:`THREAD_ENV_VARS` take
    effect in libraries loaded afterwards (torch reads ``OMP_NUM_THREADS`` at import); torch, if
    already imported, is set directly, and ``threadpoolctl`` (if installed) limits loaded BLAS
    libraries. Idempotent, so workers call it again after unpickling a policy.
    """
    if n_threads is None:
        return
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1 or None, got {n_threads}")
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n_threads)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n_threads)


THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
"""Variables that cap BLAS / OpenMP thread pools when set before the library loads."""


@dataclass
class Segment:
    """Transitions of one environment, with ``next_obs`` stored only where an episode ends.

    Within an episode ``s_{t+1}`` is the next row's ``s_t``; storing the final states alone halves
    what workers send back.
    """

    env_index: int
    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    episode: np.ndarray
    final_obs: np.ndarray  # [n_episodes, obs_dim], the s_{t+1} of each episode's last step

    def to_rollouts(self) -> Rollouts:
        n = len(self.rewards)
        nxt = np.empty_like(self.observations)
        nxt[:-1] = self.observations[1:]
        last = np.r_[np.flatnonzero(np.diff(self.episode)), n - 1]
        if len(last) != len(self.final_obs):
            raise RuntimeError(
                f"environment {self.env_index}: {len(last)} episodes but "
                f"{len(self.final_obs)} final observations (corrupt segment)"
            )
        nxt[last] = self.final_obs
        return Rollouts(self.observations, self.actions, self.rewards, nxt, self.terminated,
                        self.truncated, self.episode.astype(np.int64),
                        np.full(n, self.env_index, dtype=np.int64))


def assemble(segments: Sequence[Segment], n_steps: int) -> Rollouts:
    """Concatenate segments in environment order; check nothing was lost."""
    segments = sorted(segments, key=lambda s: s.env_index)
    indices = [s.env_index for s in segments]
    if indices != list(range(len(segments))):
        raise RuntimeError(f"segments for environments {indices} received; some are missing")
    out = concatenate([s.to_rollouts() for s in segments])
    if out.n_steps != n_steps:
        raise RuntimeError(f"collected {out.n_steps} transitions, expected exactly {n_steps}")
    return out


class Stopped(Exception):
    """Raised inside a stepping loop when the caller asked it to stop."""


def run_envs(envs: Sequence[Any], policy: Callable[..., np.ndarray], indices: Sequence[int],
             seed: int, n_steps_per_env: Sequence[int], *,
             progress: Callable[[int], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             progress_every: int = 256) -> list[Segment]:
    """Step ``envs`` in lockstep, one batched policy call per step, until each spent its budget.

    Environment ``envs[k]`` plays the role of global environment ``indices[k]`` (seeding and
    noise), collects ``n_steps_per_env[k]`` transitions, and resets itself when an episode ends.
    Environments that finish their budget leave the batch.

    Args:
        progress: called with the number of new transitions every ``progress_every`` steps.
        should_stop: polled with ``progress``; returning ``True`` raises :class:`Stopped`.
    """
    k_envs = len(envs)
    rngs = [policy_rng(seed, i) for i in indices]
    budget = np.asarray(n_steps_per_env, dtype=np.int64)
    obs = [np.asarray(env.reset(seed=env_seed(seed, i))[0]) for env, i in zip(envs, indices,
                                                                                  strict=True)]
    logs: list[dict[str, list[Any]]] = [
        {"obs": [], "act": [], "rew": [], "term": [], "trunc": [], "ep": [], "final": []}
        for _ in range(k_envs)
    ]
    episode = [0] * k_envs
    done_steps = np.zeros(k_envs, dtype=np.int64)
    active = [k for k in range(k_envs) if budget[k] > 0]
    since = 0
    while active:
        batch = np.stack([obs[k] for k in active])
        actions = act_batch(policy, batch, [rngs[k] for k in active])
        still = []
        for row, k in enumerate(active):
            action = actions[row]
            nxt, reward, term, trunc, _ = envs[k].step(action)
            log = logs[k]
            log["obs"].append(obs[k])
            log["act"].append(action)
            log["rew"].append(float(reward))
            log["ep"].append(episode[k])
            done_steps[k] += 1
            cut = done_steps[k] == budget[k]
            log["term"].append(bool(term))
            log["trunc"].append(bool(trunc) or (cut and not term))
            if term or trunc or cut:
                log["final"].append(np.asarray(nxt))
                episode[k] += 1
                if not cut:
                    nxt = envs[k].reset()[0]
            obs[k] = np.asarray(nxt)
            if not cut:
                still.append(k)
        active = still
        since += len(batch)
        if since >= progress_every:
            if progress is not None:
                progress(since)
            since = 0
            if should_stop is not None and should_stop():
                raise Stopped
    if progress is not None and since:
        progress(since)
    return [_segment(indices[k], logs[k]) for k in range(k_envs)]


def _segment(index: int, log: dict[str, list[Any]]) -> Segment:
    return Segment(
        env_index=index,
        observations=np.asarray(log["obs"]),
        actions=np.asarray(log["act"]),
        rewards=np.asarray(log["rew"], dtype=np.float64),
        terminated=np.asarray(log["term"], dtype=bool),
        truncated=np.asarray(log["trunc"], dtype=bool),
        episode=np.asarray(log["ep"], dtype=np.int64),
        final_obs=np.asarray(log["final"]),
    )


register_envs()  # at import: every sampler and spawned worker imports this module
