"""Fault injection: every process sampler turns a crashing, hanging or killed environment
process, and the death of its own parent, into a named error in bounded time, with no process
left behind.

Faults come from ``rlcheck/Faulty-v0`` (:mod:`rlcheck.sampling.faults`): a CartPole that
segfaults or hangs in its ``at``-th ``reset`` or ``step``. Each case must raise
:class:`~rlcheck.sampling.WorkerError` naming the worker or environment and the cause within
``TIMEOUT + 5`` seconds of the call, and leave no worker alive.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rlcheck.sampling import (
    START_METHODS,
    LinearSoftmaxPolicy,
    VectorSampler,
    WorkerError,
    WorkerPool,
)
from rlcheck.sampling.faults import FAULTY_ID

TIMEOUT = 2.0
BOUND = TIMEOUT + 5.0
START_TIMEOUT = 30.0
"""Start-up (processes, imports, environments) may be slow on a busy machine: samplers are
built with this timeout, then given ``TIMEOUT`` for the faulty calls."""
START_FAULT_TIMEOUT = 10.0
"""The timeout for faults while the environments are made (start-up included)."""
METHODS = [m for m in START_METHODS if m in mp.get_all_start_methods()]
POLICY = LinearSoftmaxPolicy(np.zeros((4, 2)), np.zeros(2))

# (fault, phase, at, what the message must say)
FAULTS = [
    ("segfault", "reset", 1, r"died while collecting with exit code -11 \(signal SIGSEGV"),
    ("segfault", "step", 5, r"died while collecting with exit code -11 \(signal SIGSEGV"),
    ("hang", "reset", 1, r"sent nothing for [2-6]\.\d s while collecting .*hung"),
    ("hang", "step", 5, r"sent nothing for [2-6]\.\d s while collecting .*hung"),
]


def _gone(pid: int) -> bool:
    """The process no longer exists (or is a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def _descendants(pid: int) -> list[int]:
    """All processes below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _assert_gone_within(pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(_gone(p) for p in pids):
        time.sleep(0.1)
    assert [p for p in pids if not _gone(p)] == []


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fault, phase, at, message", FAULTS)
def test_worker_pool_fault_is_a_named_error_in_bounded_time(method: str, fault: str, phase: str,
                                                            at: int, message: str) -> None:
    pool = WorkerPool(FAULTY_ID, 2, start_method=method, timeout=START_TIMEOUT,
                      env_kwargs={"fault": fault, "phase": phase, "at": at})
    pool.timeout = TIMEOUT
    pids = [p.pid for p in pool._procs]
    start = time.monotonic()
    with pytest.raises(WorkerError, match=message) as info:
        pool.collect(POLICY, 2000, 0)
    assert time.monotonic() - start < BOUND
    assert "worker " in str(info.value) and FAULTY_ID in str(info.value)
    _assert_gone_within(pids, 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("fault, pool_message, vector_message", [
    ("segfault", r"worker 0 .*Faulty-v0\) died while making its environments with exit code -11",
     r"async_vector start-up on rlcheck/Faulty-v0: lost an environment process .*"
     r"environment 0 \(pid \d+\) died with exit code -11, SIGSEGV"),
    ("hang", r"sent nothing for 1\d\.\d s while making its environments .*hung",
     r"async_vector start-up on rlcheck/Faulty-v0: the environments were not made within "
     r"1\d\.\d s \(timeout 10 s\): hung"),
])
def test_environment_failing_to_be_made_is_a_named_error(fault: str, pool_message: str,
                                                         vector_message: str) -> None:
    """An environment constructor that crashed or hung: AsyncVectorEnv waited forever."""
    start = time.monotonic()
    with pytest.raises(WorkerError, match=pool_message):
        WorkerPool(FAULTY_ID, 2, start_method="fork", timeout=START_FAULT_TIMEOUT,
                   env_kwargs={"fault": fault, "phase": "init", "at": 1})
    assert time.monotonic() - start < START_FAULT_TIMEOUT + 5
    start = time.monotonic()
    with pytest.raises(WorkerError, match=vector_message):
        VectorSampler(FAULTY_ID, 2, asynchronous=True, timeout=START_FAULT_TIMEOUT,
                      env_kwargs={"fault": fault, "phase": "init", "at": 1,
                                  "spare_pid": os.getpid()})  # gymnasium probes one env here
    assert time.monotonic() - start < START_FAULT_TIMEOUT + 5


@pytest.mark.parametrize("method", METHODS)
def test_killed_worker_is_a_named_error(method: str) -> None:
    pool = WorkerPool("CartPole-v1", 2, start_method=method, timeout=START_TIMEOUT)
    pool.timeout = TIMEOUT
    pids = [p.pid for p in pool._procs]

    def kill_first(_: int) -> None:
        os.kill(pids[0], signal.SIGKILL)

    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"worker 0 .*CartPole-v1\) died while collecting with "
                                          r"exit code -9 \(signal SIGKILL\)"):
        pool.collect(POLICY, 100_000, 0, progress=kill_first)
    assert time.monotonic() - start < BOUND
    _assert_gone_within(pids, 1.0)


def test_hang_after_progress_reports_the_real_silence() -> None:
    """A hung worker was reported as 'sent nothing for 0.0 s'."""
    pool = WorkerPool(FAULTY_ID, 1, start_method="fork", timeout=START_TIMEOUT,
                      env_kwargs={"fault": "hang", "phase": "step", "at": 600})
    pool.timeout = 1.0
    with pytest.raises(WorkerError, match=r"sent nothing for (1\.\d|2\.\d) s while collecting "
                                          r"\(timeout 1 s\)"):
        pool.collect(POLICY, 2000, 0)


# ----------------------------------------------------------------------------- async_vector

VECTOR_FAULTS = [
    ("segfault", "reset", 1, r"async_vector reset on rlcheck/Faulty-v0: lost its environment "
                             r"process .*environment 0 \(pid \d+\) died with exit code -11, "
                             r"SIGSEGV"),
    ("segfault", "step", 5, r"async_vector step .*died with exit code -11, SIGSEGV"),
    ("hang", "reset", 1, r"async_vector reset on rlcheck/Faulty-v0: did not return within "
                         r"[2-6]\.\d s \(timeout 2 s\): hung"),
    ("hang", "step", 5, r"async_vector step .*did not return within [2-6]\.\d s"),
]


@pytest.mark.parametrize("fault, phase, at, message", VECTOR_FAULTS)
def test_async_vector_fault_is_a_named_error_in_bounded_time(fault: str, phase: str, at: int,
                                                             message: str) -> None:
    """async_vector ignored its timeout when reset() hung, and a segfault was a bare EOFError."""
    sampler = VectorSampler(FAULTY_ID, 2, asynchronous=True, timeout=START_TIMEOUT,
                            env_kwargs={"fault": fault, "phase": phase, "at": at})
    sampler.timeout = TIMEOUT
    pids = [p.pid for p in sampler.venv.processes]
    start = time.monotonic()
    with pytest.raises(WorkerError, match=message):
        sampler.collect(POLICY, 200, 0)
    assert time.monotonic() - start < BOUND
    _assert_gone_within(pids, 3.0)


def test_async_vector_killed_environment_is_a_named_error() -> None:
    sampler = VectorSampler("CartPole-v1", 2, asynchronous=True, timeout=START_TIMEOUT)
    sampler.timeout = TIMEOUT
    pids = [p.pid for p in sampler.venv.processes]

    def kill_first(_: int) -> None:
        os.kill(pids[0], signal.SIGKILL)

    with pytest.raises(WorkerError, match=r"environment 0 \(pid \d+\) died with exit code -9, "
                                          r"SIGKILL"):
        sampler.collect(POLICY, 10_000, 0, progress=kill_first)
    _assert_gone_within(pids, 3.0)


# ----------------------------------------------------------------------------- parent killed

PARENT_SCRIPT = """
import sys, time
import numpy as np
from rlcheck.sampling import LinearSoftmaxPolicy, WorkerPool
if __name__ == "__main__":
    pool = WorkerPool("CartPole-v1", 2, start_method=sys.argv[1], timeout=600)
    print(*[p.pid for p in pool._procs], flush=True)
    def stall(_):  # the parent stops reading: workers fill their pipes and block writing
        time.sleep(3600)
    pool.collect(LinearSoftmaxPolicy(np.zeros((4, 2)), np.zeros(2)), 10_000_000, 0,
                 progress=stall)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("method, sig", [(m, signal.SIGKILL) for m in METHODS]
                         + [("fork", signal.SIGTERM)])
def test_workers_exit_when_their_parent_is_killed(tmp_path: Path, method: str,
                                                  sig: signal.Signals) -> None:
    """fork workers outlived a SIGKILLed/SIGTERMed parent, blocked writing to a full pipe."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT_SCRIPT)
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, str(script), method], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": root})
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2
        time.sleep(1.0)  # workers run and fill their pipes
        everything = _descendants(proc.pid)
        assert set(pids) <= set(everything)
        os.kill(proc.pid, sig)
        proc.wait(timeout=10)
        _assert_gone_within(everything, 5.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
