"""``collect``: one interface over serial, threaded, process and gymnasium-vector sampling.

All samplers return the same data for the same ``(policy, env_id, n_steps, seed, workers *
envs_per_worker)``, up to the floating-point details of batched inference (see
:mod:`rlcheck.sampling.core` for the seeding and budget rules).

==================  ==========================================================================
``sampler``         what runs
==================  ==========================================================================
``serial``          one environment after another in this process, policy batch 1
``threads``         ``workers`` threads, each stepping ``envs_per_worker`` environments
``spawn``           persistent worker processes (:class:`~rlcheck.sampling.workers.WorkerPool`)
``forkserver``      the same, started by the forkserver
``fork``            the same, forked (refused once CUDA is initialised here)
``sync_vector``     ``gymnasium.vector.SyncVectorEnv``, one batched policy call per step
``async_vector``    ``gymnasium.vector.AsyncVectorEnv`` (one process per environment)
==================  ==========================================================================

Longer than 400 lines because the seven samplers share one seeding and budget contract; side by
side, a reader can check that they return the same data.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from rlcheck.sampling import reuse
from rlcheck.sampling.core import (
    Segment,
    Stopped,
    assemble,
    budgets,
    env_seed,
    limit_threads,
    make_env,
    policy_rng,
    run_envs,
    validate_collection,
    validate_env_id,
    validate_layout,
)
from rlcheck.sampling.policies import act_batch
from rlcheck.sampling.rollouts import Rollouts
from rlcheck.sampling.workers import START_METHODS, WorkerError, WorkerPool, check_start_method

SAMPLERS = ("serial", "threads", *START_METHODS, "sync_vector", "async_vector")
"""Names accepted by :func:`collect`."""


def collect(policy: Callable[..., np.ndarray], env_id: str, n_steps: int, seed: int, *,
            sampler: str = "serial", workers: int = 1, envs_per_worker: int = 1,
            env_kwargs: dict[str, Any] | None = None, timeout: float = 60.0,
            worker_threads: int | None = 1, reuse: bool = True,
            progress: Callable[[int], None] | None = None) -> Rollouts:
    """Collect exactly ``n_steps`` transitions of ``policy`` in ``workers * envs_per_worker``
    environments.

    Args:
        policy: ``policy(obs[B, obs_dim], rng) -> actions[B, ...]``; see
            :mod:`rlcheck.sampling.policies` for batch-independent noise.
        env_id: a gymnasium id, e.g. ``"Ant-v5"``.
        n_steps: number of transitions returned (at least the number of environments).
        seed: root seed; environment ``i`` is seeded from ``(seed, i)``.
        sampler: one of :data:`SAMPLERS`.
        workers: threads or processes (vector samplers: multiplies ``envs_per_worker``).
        envs_per_worker: environments stepped together with one batched policy call.
        env_kwargs: keyword arguments for ``gymnasium.make``.
        timeout: seconds a worker may stay silent before it counts as hung.
        worker_threads: torch / BLAS threads in each worker process or thread-sampler thread
            (``None`` keeps the defaults); the serial sampler leaves threads alone.
        reuse: keep the worker processes of a process sampler (``spawn``, ``forkserver``,
            ``fork``, ``async_vector``) for the next call with the same configuration
            (:mod:`rlcheck.sampling.reuse`); ``False`` starts and closes them in this call.
        progress: called with counts of newly collected transitions.

    Returns:
        :class:`~rlcheck.sampling.rollouts.Rollouts` with exactly ``n_steps`` rows.
    """
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {SAMPLERS}")
    if not callable(policy):
        raise TypeError(f"policy must be callable, got {type(policy).__name__}")
    workers, envs_per_worker, timeout, worker_threads = validate_layout(
        workers, envs_per_worker, timeout, worker_threads, env_kwargs)
    n_envs = workers * envs_per_worker
    n_steps, seed = validate_collection(n_steps, seed, n_envs)
    validate_env_id(env_id)
    n_steps = int(n_steps)
    if sampler == "serial":
        return collect_serial(policy, env_id, n_steps, seed, n_envs=n_envs,
                              env_kwargs=env_kwargs, progress=progress)
    if sampler == "threads":
        return collect_threads(policy, env_id, n_steps, seed, workers=workers,
                               envs_per_worker=envs_per_worker, env_kwargs=env_kwargs,
                               timeout=timeout, worker_threads=worker_threads,
                               progress=progress)
    if sampler in START_METHODS:
        check_start_method(sampler)

        def make_pool() -> WorkerPool:
            return WorkerPool(env_id, workers, envs_per_worker, start_method=sampler,
                              env_kwargs=env_kwargs, worker_threads=worker_threads,
                              timeout=timeout)

        key: tuple[Any, ...] = (sampler, env_id, workers, envs_per_worker, repr(env_kwargs),
                                worker_threads, float(timeout))
        return _collect_with(make_pool, key if reuse else None, policy, n_steps, seed, progress)
    if sampler == "async_vector":

        def make_vector() -> VectorSampler:
            return VectorSampler(env_id, n_envs, asynchronous=True, env_kwargs=env_kwargs,
                                 timeout=timeout)

        vector_key = (sampler, env_id, n_envs, repr(env_kwargs), float(timeout))
        return _collect_with(make_vector, vector_key if reuse else None, policy, n_steps, seed,
                             progress)
    return collect_vector(policy, env_id, n_steps, seed, n_envs=n_envs, asynchronous=False,
                          env_kwargs=env_kwargs, timeout=timeout, progress=progress)


def _collect_with(make: Callable[[], Any], key: tuple[Any, ...] | None,
                  policy: Callable[..., np.ndarray], n_steps: int, seed: int,
                  progress: Callable[[int], None] | None) -> Rollouts:
    """Collect with a process sampler: the cached one for ``key`` (``None``: a fresh one,
    closed afterwards). A failed call closes the sampler and drops it from the cache."""
    if key is None:
        with make() as fresh:
            return fresh.collect(policy, n_steps, seed, progress=progress)
    sampler: Any = reuse.cached_sampler(key, make)
    try:
        return sampler.collect(policy, n_steps, seed, progress=progress)
    except BaseException:
        reuse.discard(sampler)
        raise


def collect_serial(policy: Callable[..., np.ndarray], env_id: str, n_steps: int, seed: int, *,
                   n_envs: int = 1, env_kwargs: dict[str, Any] | None = None,
                   progress: Callable[[int], None] | None = None) -> Rollouts:
    """The reference: environments one after another, one policy call (batch 1) per step."""
    steps = budgets(n_steps, n_envs)
    segments: list[Segment] = []
    env = make_env(env_id, env_kwargs)
    try:
        for i in range(n_envs):
            segments += run_envs([env], policy, [i], seed, [int(steps[i])], progress=progress)
    finally:
        env.close()
    return assemble(segments, n_steps)


def collect_threads(policy: Callable[..., np.ndarray], env_id: str, n_steps: int, seed: int,
                    *, workers: int, envs_per_worker: int = 1,
                    env_kwargs: dict[str, Any] | None = None, timeout: float = 60.0,
                    worker_threads: int | None = 1, switch_interval: float | None = None,
                    progress: Callable[[int], None] | None = None) -> Rollouts:
    """``workers`` threads, each stepping ``envs_per_worker`` environments in lockstep.

    ``switch_interval`` (seconds) temporarily replaces ``sys.getswitchinterval()`` (5 ms):
    a thread that released the GIL inside MuJoCo waits up to that long to take it back from a
    thread running Python (the convoy effect), so a shorter interval helps threads overlap.

    The policy object is shared; torch inference under ``no_grad`` is thread-safe. Threads
    cannot be killed: on an error, a timeout or ``KeyboardInterrupt`` the others are asked to
    stop at their next progress report, and the exception propagates. ``worker_threads`` sets
    torch's process-wide intra-op thread count for the duration of the call.
    """
    import torch

    steps = budgets(n_steps, workers * envs_per_worker)
    stop = threading.Event()
    lock = threading.Lock()
    results: dict[int, list[Segment]] = {}
    errors: dict[int, BaseException] = {}
    heard = [time.monotonic()] * workers

    def work(w: int) -> None:
        indices = list(range(w * envs_per_worker, (w + 1) * envs_per_worker))
        envs = []
        try:
            envs = [make_env(env_id, env_kwargs) for _ in indices]

            def report(k: int) -> None:
                heard[w] = time.monotonic()
                if progress is not None:
                    with lock:
                        progress(k)

            results[w] = run_envs(envs, policy, indices, seed, [int(steps[i]) for i in indices],
                                  progress=report, should_stop=stop.is_set)
        except Stopped:
            pass
        except BaseException as exc:
            errors[w] = exc
            stop.set()
        finally:
            for env in envs:
                env.close()

    old_threads, old_switch = torch.get_num_threads(), sys.getswitchinterval()
    if worker_threads is not None:
        torch.set_num_threads(worker_threads)
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    threads = [threading.Thread(target=work, args=(w,), daemon=True,
                                name=f"rlcheck-sampler-{w}") for w in range(workers)]
    try:
        for t in threads:
            t.start()
        for w, t in enumerate(threads):
            while t.is_alive():
                t.join(0.1)
                if errors:
                    break
                if time.monotonic() - heard[w] > timeout:
                    raise WorkerError(f"thread {w} reported nothing for {timeout:.1f} s: hung")
            if errors:
                break
    except BaseException:
        stop.set()
        raise
    finally:
        if worker_threads is not None:
            torch.set_num_threads(old_threads)
        sys.setswitchinterval(old_switch)
    if errors:
        w, exc = next(iter(sorted(errors.items())))
        raise WorkerError(f"thread {w} failed: {exc!r}") from exc
    return assemble([s for w in range(workers) for s in results[w]], n_steps)


def collect_vector(policy: Callable[..., np.ndarray], env_id: str, n_steps: int, seed: int, *,
                   n_envs: int, asynchronous: bool = False,
                   env_kwargs: dict[str, Any] | None = None, timeout: float = 60.0,
                   progress: Callable[[int], None] | None = None) -> Rollouts:
    """One collection with a fresh :class:`VectorSampler` (closed afterwards)."""
    with VectorSampler(env_id, n_envs, asynchronous=asynchronous, env_kwargs=env_kwargs,
                       timeout=timeout) as sampler:
        return sampler.collect(policy, n_steps, seed, progress=progress)


class VectorSampler:
    """A persistent gymnasium ``SyncVectorEnv`` / ``AsyncVectorEnv`` with batched inference.

    Uses same-step autoreset, so ``infos["final_obs"]`` holds the true final states. Each
    :meth:`collect` resets every environment with its seed; all environments then step
    ``max_i budget_i`` times together and environment ``i`` keeps its first ``budget_i``
    transitions (a surplus of at most one step per environment is discarded by design, so the
    data equal the serial sampler's). ``AsyncVectorEnv`` runs one process per environment,
    started by the forkserver; each ``reset`` and ``step`` waits at most ``timeout`` seconds,
    and an environment process that hangs or dies (a segfault) is a :class:`WorkerError`
    naming the environment, its process and the cause.
    """

    def __init__(self, env_id: str, n_envs: int, *, asynchronous: bool = False,
                 env_kwargs: dict[str, Any] | None = None, timeout: float = 60.0) -> None:
        import gymnasium as gym

        n_envs, _, timeout, _ = validate_layout(n_envs, 1, timeout, None, env_kwargs)
        validate_env_id(env_id)
        self.env_id = env_id
        self.n_envs = n_envs
        self.asynchronous = asynchronous
        self.timeout = timeout
        fns = [_EnvFactory(env_id, env_kwargs) for _ in range(n_envs)]
        mode = gym.vector.AutoresetMode.SAME_STEP
        self.venv: Any = (_bounded_async_vector_env(fns, mode, timeout, env_id) if asynchronous
                          else gym.vector.SyncVectorEnv(fns, autoreset_mode=mode))

    def collect(self, policy: Callable[..., np.ndarray], n_steps: int, seed: int, *,
                progress: Callable[[int], None] | None = None) -> Rollouts:
        """Collect exactly ``n_steps`` transitions (see the class docstring)."""
        n_envs, venv = self.n_envs, self.venv
        if venv is None:
            raise RuntimeError("this VectorSampler is closed")
        n_steps, seed = validate_collection(n_steps, seed, n_envs)
        steps = budgets(n_steps, n_envs)
        rngs = [policy_rng(seed, i) for i in range(n_envs)]
        seeds = [env_seed(seed, i) for i in range(n_envs)]
        try:
            if self.asynchronous:
                obs, _ = self._wait("reset", lambda: venv.reset_async(seed=seeds),
                                    venv.reset_wait)
            else:
                obs, _ = venv.reset(seed=seeds)
            rec: list[list[np.ndarray]] = [[] for _ in range(6)]
            for t in range(int(steps.max())):
                actions = act_batch(policy, np.asarray(obs), rngs)
                if self.asynchronous:
                    nxt, rew, term, trunc, info = self._wait(
                        "step", partial(venv.step_async, actions), venv.step_wait)
                else:
                    nxt, rew, term, trunc, info = venv.step(actions)
                true_next = np.array(nxt, copy=True)
                if "_final_obs" in info:
                    for i in np.flatnonzero(info["_final_obs"]):
                        true_next[i] = info["final_obs"][i]
                for store, value in zip(rec, (np.array(obs, copy=True), np.asarray(actions),
                                              np.asarray(rew, dtype=np.float64),
                                              np.asarray(term, dtype=bool),
                                              np.asarray(trunc, dtype=bool), true_next),
                                        strict=True):
                    store.append(value)
                obs = nxt
                if progress is not None:
                    progress(int((steps > t).sum()))
        except BaseException:
            self.close()
            raise
        stacked = [np.stack(a, axis=1) for a in rec]
        segments = [_vector_segment(i, int(steps[i]), *(a[i] for a in stacked))
                    for i in range(n_envs)]
        return assemble(segments, n_steps)

    def _wait(self, call: str, start: Callable[[], None], finish: Callable[..., Any]) -> Any:
        """``start()`` then ``finish(timeout=...)`` of an ``AsyncVectorEnv`` call, with a hang
        or a dead environment process turned into a :class:`WorkerError` naming it."""
        begun = time.monotonic()
        try:
            start()
            return finish(timeout=self.timeout)
        except mp.TimeoutError as exc:
            raise WorkerError(self._describe_failure(
                call, f"did not return within {time.monotonic() - begun:.1f} s (timeout "
                f"{self.timeout:g} s): hung")) from exc
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerError(self._describe_failure(
                call, f"lost its environment process ({type(exc).__name__})")) from exc

    def _describe_failure(self, call: str, what: str) -> str:
        processes = list(getattr(self.venv, "processes", []))
        return f"async_vector {call} on {self.env_id}: {what}; {_dead_processes(processes)}"

    def close(self) -> None:
        """Close the vector environment (terminating its processes if asynchronous)."""
        venv, self.venv = getattr(self, "venv", None), None
        if venv is None:
            return
        if not self.asynchronous:
            venv.close()
            return
        try:
            with warnings.catch_warnings():  # "close while waiting for a pending call": known
                warnings.simplefilter("ignore")
                venv.close(terminate=True)
        except Exception:  # a pending call on a dead pipe: terminate the processes ourselves
            for proc in venv.processes:
                if proc.is_alive():
                    proc.terminate()
            for proc in venv.processes:
                proc.join(2.0)
                if proc.is_alive():  # pragma: no cover - ignores SIGTERM
                    proc.kill()
                    proc.join(1.0)
            venv.closed = True

    def __enter__(self) -> VectorSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bounded_async_vector_env(fns: list[Any], mode: Any, timeout: float, env_id: str) -> Any:
    """``gymnasium.vector.AsyncVectorEnv(fns)`` (forkserver) whose start-up waits at most
    ``timeout`` seconds for its environments to be made: gymnasium's own start-up check waits
    forever, so an environment whose constructor hangs or crashes would hang the caller or
    surface as a bare ``EOFError``. Either is a :class:`WorkerError` naming the environment."""
    import gymnasium as gym

    class BoundedAsyncVectorEnv(gym.vector.AsyncVectorEnv):
        def _check_spaces(self) -> None:
            # gymnasium 1.x's check, with a bounded wait between the request and the replies
            # (each worker answers once its environment is made)
            needed = ("parent_pipes", "observation_mode", "_poll_pipe_envs", "_raise_if_errors")
            if not all(hasattr(self, name) for name in needed):  # pragma: no cover - other gym
                return super()._check_spaces()
            begun = time.monotonic()
            try:
                for pipe in self.parent_pipes:
                    pipe.send(("_check_spaces", (self.observation_mode,
                                                 self.single_observation_space,
                                                 self.single_action_space)))
                if not self._poll_pipe_envs(timeout):
                    raise WorkerError(
                        f"async_vector start-up on {env_id}: the environments were not made "
                        f"within {time.monotonic() - begun:.1f} s (timeout {timeout:g} s): hung; "
                        + _dead_processes(self.processes))
                _, successes = zip(*[pipe.recv() for pipe in self.parent_pipes], strict=True)
                self._raise_if_errors(successes)
            except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
                self._terminate()
                raise WorkerError(f"async_vector start-up on {env_id}: lost an environment "
                                  f"process ({type(exc).__name__}); "
                                  + _dead_processes(self.processes)) from exc
            except WorkerError:
                self._terminate()
                raise

        def _terminate(self) -> None:
            for proc in self.processes:
                if proc.is_alive():
                    proc.terminate()
            for proc in self.processes:
                proc.join(2.0)
            self.closed = True

    return BoundedAsyncVectorEnv(fns, autoreset_mode=mode, context="forkserver")


def _dead_processes(processes: list[Any]) -> str:
    """Which environment processes died and how (exit code, signal), for an error message."""
    for proc in processes:
        proc.join(0.5 / max(len(processes), 1))
    names = []
    for i, proc in enumerate(processes):
        code = proc.exitcode
        if code is None:
            continue
        cause = f"exit code {code}"
        if code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            cause += f", {sig}" + (": a segmentation fault" if sig == "SIGSEGV" else "")
        names.append(f"environment {i} (pid {proc.pid}) died with {cause}")
    return "; ".join(names) or "no environment process died (one is stuck in its call)"


class _EnvFactory:
    """Picklable ``() -> gymnasium.make(env_id, **env_kwargs)`` for vector environments."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None) -> None:
        self.env_id = env_id
        self.env_kwargs = env_kwargs

    def __call__(self) -> Any:
        limit_threads(None)
        return make_env(self.env_id, self.env_kwargs)


def _vector_segment(index: int, budget: int, obs: np.ndarray, act: np.ndarray, rew: np.ndarray,
                    term: np.ndarray, trunc: np.ndarray, nxt: np.ndarray) -> Segment:
    obs, act, rew, term, nxt = obs[:budget], act[:budget], rew[:budget], term[:budget], \
        nxt[:budget]
    trunc = trunc[:budget].copy()
    trunc[-1] |= not term[-1]
    ends = term | trunc
    episode = np.r_[0, np.cumsum(ends[:-1])].astype(np.int64)
    return Segment(index, obs, act, rew, term, trunc, episode, nxt[ends])
