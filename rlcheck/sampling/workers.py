"""Persistent worker processes, each stepping several environments with one batched policy call.

A :class:`WorkerPool` starts ``workers`` processes once (start method ``spawn``, ``forkserver``
or ``fork``); each builds ``envs_per_worker`` environments and keeps them across
:meth:`WorkerPool.collect` calls, so process start-up and imports are paid once. Per call the
parent sends the pickled policy and the seed; every worker steps its environments in lockstep
(:func:`rlcheck.sampling.core.run_envs`) and sends back its transitions.

Failure handling: a worker that raises sends its traceback, which is re-raised in the parent as
:class:`WorkerError`; a worker that dies (a segfault in an environment, a kill) is noticed
through its process sentinel, and the message names the worker, its environment and the exit
code or signal; a worker that sends nothing for ``timeout`` seconds (workers report progress
every few hundred steps, so a hang in ``reset`` or ``step`` counts) is declared hung, with the
time it was silent. In every case, and on ``KeyboardInterrupt``, the pool terminates all its
workers before the exception propagates. Workers ignore SIGINT so that Ctrl-C is handled once,
by the parent.

Workers never outlive their parent, under every start method: each watches its parent process
(a thread polling ``os.getppid()``, which changes when the parent dies and the worker is
re-parented) and exits when it is gone, even while blocked writing to a full pipe; on Linux a
pool created from the main thread also asks the kernel to kill its workers with the parent
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``). Forked workers close the parent's ends of the other
workers' pipes, which they would otherwise inherit and keep open.

``fork`` is refused once CUDA is initialised in the parent: a forked child inherits a CUDA
context it cannot use, and the first CUDA call in it fails ("Cannot re-initialize CUDA in forked
subprocess"), the crash in the notes.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

from rlcheck.sampling.core import (
    THREAD_ENV_VARS,
    Segment,
    Stopped,
    assemble,
    budgets,
    limit_threads,
    make_env,
    run_envs,
    validate_collection,
    validate_env_id,
    validate_layout,
)
from rlcheck.sampling.rollouts import Rollouts

START_METHODS = ("spawn", "forkserver", "fork")


class WorkerError(RuntimeError):
    """A sampler worker failed, died or hung; the message names the worker and the cause."""


def cuda_initialized() -> bool:
    """Whether this process has initialised CUDA through torch (``False`` without torch)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_initialized())


def check_start_method(start_method: str) -> None:
    """``ValueError`` for unknown methods; ``RuntimeError`` for ``fork`` after CUDA init."""
    if start_method not in START_METHODS:
        raise ValueError(f"start_method must be one of {START_METHODS}, got {start_method!r}")
    if start_method not in mp.get_all_start_methods():
        raise ValueError(f"start method {start_method!r} is not available on this platform")
    if start_method == "fork" and cuda_initialized():
        raise RuntimeError(
            "refusing to fork sampler workers: CUDA is already initialised in this process, and "
            "a forked child cannot use the inherited CUDA context (torch raises 'Cannot "
            "re-initialize CUDA in forked subprocess' or the worker crashes). Use "
            "start_method='spawn' or 'forkserver', or create the pool before touching CUDA."
        )


PARENT_POLL_S = 0.2
"""How often a worker checks that its parent process is still alive."""
_PR_SET_PDEATHSIG = 1


def _die_with_parent(expected_parent: int, use_prctl: bool) -> None:
    """Make this worker exit when its parent process dies.

    The parent is ``expected_parent`` (the pool's process, or the forkserver that forked this
    worker); a worker re-parented after its parent's death sees ``os.getppid()`` change. A
    daemon thread polls every :data:`PARENT_POLL_S` seconds and calls ``os._exit`` (the main
    thread may be blocked in C: writing to a full pipe, inside MuJoCo). With ``use_prctl`` on
    Linux, the kernel also sends ``SIGKILL`` at the parent's death (``PR_SET_PDEATHSIG``).
    """
    if use_prctl and sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL),
                                                    0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl in this libc
            pass
    if os.getppid() != expected_parent:  # died before we got here
        os._exit(1)

    def watch() -> None:
        while os.getppid() == expected_parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="rlcheck-parent-watch").start()


def _worker_main(conn: Connection, env_id: str, env_kwargs: dict[str, Any] | None,
                 n_envs: int, n_threads: int | None, index: int, owner_pid: int,
                 start_method: str, use_prctl: bool, inherited: list[Connection]) -> None:
    """Worker loop: build envs, then answer ``collect`` requests until ``close``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in inherited:  # fork: the parent's ends of other workers' pipes
        other.close()
    _die_with_parent(os.getppid() if start_method == "forkserver" else owner_pid, use_prctl)
    try:
        limit_threads(n_threads)
        envs = [make_env(env_id, env_kwargs) for _ in range(n_envs)]
    except BaseException:
        _send_or_exit(conn, ("error", f"worker {index} ({env_id}) failed to start:\n"
                                      f"{traceback.format_exc()}"))
        return
    _send_or_exit(conn, ("ready", os.getpid()))
    while True:
        try:
            command, payload = conn.recv()
        except (EOFError, OSError):
            return
        if command == "close":
            for env in envs:
                env.close()
            return
        try:
            policy = pickle.loads(payload["policy"])
            limit_threads(n_threads)  # unpickling may have imported torch just now
            segments = run_envs(
                envs, policy, payload["indices"], payload["seed"], payload["budgets"],
                progress=lambda k: _send_or_exit(conn, ("progress", k)),
                progress_every=payload["progress_every"],
            )
            _send_or_exit(conn, ("done", segments))
        except BaseException:
            _send_or_exit(conn, ("error", f"worker {index} ({env_id}) failed:\n"
                                          f"{traceback.format_exc()}"))


def _send_or_exit(conn: Connection, message: tuple[str, Any]) -> None:
    """Send to the parent; exit quietly if the parent's end is gone (nobody left to tell)."""
    try:
        conn.send(message)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        os._exit(1)


class WorkerPool:
    """Persistent sampler processes; use as a context manager or call :meth:`close`.

    Args:
        env_id: gymnasium id.
        workers: number of processes.
        envs_per_worker: environments each process steps with one batched policy call.
        start_method: ``"spawn"``, ``"forkserver"`` or ``"fork"``.
        env_kwargs: passed to ``gymnasium.make``.
        worker_threads: torch / BLAS threads per worker (``None`` keeps library defaults).
        timeout: seconds a worker may stay silent (start-up, or between progress reports).
    """

    def __init__(self, env_id: str, workers: int = 2, envs_per_worker: int = 1, *,
                 start_method: str = "forkserver", env_kwargs: dict[str, Any] | None = None,
                 worker_threads: int | None = 1, timeout: float = 60.0) -> None:
        workers, envs_per_worker, timeout, worker_threads = validate_layout(
            workers, envs_per_worker, timeout, worker_threads, env_kwargs)
        validate_env_id(env_id)
        check_start_method(start_method)
        self.env_id = env_id
        self.workers = workers
        self.envs_per_worker = envs_per_worker
        self.start_method = start_method
        self.timeout = timeout
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._closed = False
        ctx: Any = mp.get_context(start_method)
        use_prctl = threading.current_thread() is threading.main_thread()
        saved = {v: os.environ.get(v) for v in THREAD_ENV_VARS}
        try:
            if worker_threads is not None:
                os.environ.update({v: str(worker_threads) for v in THREAD_ENV_VARS})
            for i in range(workers):
                parent, child = ctx.Pipe(duplex=True)
                inherited = [*self._conns, parent] if start_method == "fork" else []
                proc = ctx.Process(
                    target=_worker_main,
                    args=(child, env_id, env_kwargs, envs_per_worker, worker_threads, i,
                          os.getpid(), start_method, use_prctl, inherited),
                    daemon=True, name=f"rlcheck-sampler-{i}",
                )
                proc.start()
                child.close()
                self._procs.append(proc)
                self._conns.append(parent)
            for i in range(workers):
                kind, payload = self._receive(i, self.timeout, doing="making its environments")
                if kind != "ready":
                    raise WorkerError(f"worker {i} sent {kind!r} instead of 'ready': {payload}")
        except BaseException:
            self.close()
            raise
        finally:
            for var, value in saved.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value

    @property
    def n_envs(self) -> int:
        return self.workers * self.envs_per_worker

    def _receive(self, i: int, timeout: float, silent_since: float | None = None,
                 doing: str = "starting") -> tuple[str, Any]:
        """The next message of worker ``i`` within ``timeout`` s; ``WorkerError`` naming the
        worker, its environment and the cause if it failed, died or stayed silent (for the
        time since ``silent_since``, default: since this call)."""
        conn, proc = self._conns[i], self._procs[i]
        start = time.monotonic() if silent_since is None else silent_since
        ready = wait([conn, proc.sentinel], timeout)
        if conn in ready:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError) as exc:
                raise WorkerError(self._death(i, doing)) from exc
            if kind == "error":
                raise WorkerError(payload)
            return kind, payload
        if proc.sentinel in ready:
            raise WorkerError(self._death(i, doing))
        return self._hung(i, time.monotonic() - start, doing)

    def _hung(self, i: int, silent: float, doing: str) -> Any:
        raise WorkerError(f"worker {i} (pid {self._procs[i].pid}, {self.env_id}) sent nothing "
                          f"for {silent:.1f} s while {doing} (timeout {self.timeout:g} s): hung "
                          "(an environment's reset or step, or the policy, did not return)")

    def _death(self, i: int, doing: str) -> str:
        proc = self._procs[i]
        proc.join(1.0)
        code = proc.exitcode
        what = f"died while {doing}" if code is not None else f"closed its pipe while {doing}"
        cause = ""
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            cause = f" (signal {name}" + (": a segmentation fault in the environment or "
                                          "policy" if name == "SIGSEGV" else "") + ")"
        return f"worker {i} (pid {proc.pid}, {self.env_id}) {what} with exit code {code}{cause}"

    def collect(self, policy: Callable[..., np.ndarray], n_steps: int, seed: int, *,
                progress: Callable[[int], None] | None = None) -> Rollouts:
        """Collect exactly ``n_steps`` transitions over all workers' environments."""
        if self._closed:
            raise RuntimeError("this WorkerPool is closed")
        n_envs = self.n_envs
        n_steps, seed = validate_collection(n_steps, seed, n_envs)
        steps = budgets(n_steps, n_envs)
        try:
            blob = pickle.dumps(policy)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise TypeError(
                "process samplers ship the policy to their workers, so it must be picklable "
                f"(a module-level function or class, not a lambda or closure): {exc}"
            ) from exc
        try:
            for i, conn in enumerate(self._conns):
                indices = list(range(i * self.envs_per_worker, (i + 1) * self.envs_per_worker))
                conn.send(("collect", {"policy": blob, "indices": indices, "seed": int(seed),
                                       "budgets": [int(steps[j]) for j in indices],
                                       "progress_every": 256}))
            segments: list[Segment] = []
            pending = set(range(self.workers))
            last_heard = {i: time.monotonic() for i in pending}
            while pending:
                objs = [self._conns[i] for i in pending] + [self._procs[i].sentinel
                                                             for i in pending]
                now = time.monotonic()
                budget = min(last_heard[i] for i in pending) + self.timeout - now
                ready = wait(objs, max(budget, 0.0))
                if not ready:
                    quiet = min(pending, key=lambda i: last_heard[i])
                    self._receive(quiet, 0.0, last_heard[quiet], "collecting")  # raises
                for i in list(pending):
                    if self._conns[i] in ready or self._procs[i].sentinel in ready:
                        kind, payload = self._receive(i, 0.0, last_heard[i], "collecting")
                        last_heard[i] = time.monotonic()
                        if kind == "progress":
                            if progress is not None:
                                progress(payload)
                        elif kind == "done":
                            segments.extend(payload)
                            pending.discard(i)
                        else:
                            raise WorkerError(f"worker {i} sent unexpected message {kind!r}")
        except BaseException:
            self.close(grace=0.2)
            raise
        return assemble(segments, n_steps)

    def close(self, grace: float = 2.0) -> None:
        """Ask workers to exit; terminate (and finally kill) any still running ``grace`` s later."""
        if self._closed:
            return
        self._closed = True
        for conn in self._conns:
            try:
                conn.send(("close", None))
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + grace
        for proc in self._procs:
            proc.join(max(deadline - time.monotonic(), 0.0))
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(2.0)
            if proc.is_alive():  # pragma: no cover - a worker ignoring SIGTERM
                proc.kill()
                proc.join(1.0)
        for conn in self._conns:
            conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass


__all__ = ["START_METHODS", "Stopped", "WorkerError", "WorkerPool", "check_start_method",
           "cuda_initialized"]
