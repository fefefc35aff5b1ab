"""Does it hold the GIL? Probes with a pure-Python counter thread running beside a workload.

A thread that only increments a Python integer needs the GIL for every bytecode. Run it alone
for a while and count its rate ``c_alone``; run it again while the main thread calls a workload
in a loop and count ``c_beside``. The ratio

    ``counter_share = c_beside / c_alone``

is about 1 when the workload releases the GIL while it computes (and a second core is free),
about 0.5 when the workload is Python code itself (CPython hands the GIL over every
``sys.getswitchinterval()`` = 5 ms, so two Python threads share it), and below 0.5 when the
workload holds the GIL inside long C calls. The workload's own rate beside the counter, relative
to alone (``workload_share``), tells the same story from the other side. Two calibration
controls run with every probe, because a shared, busy machine lowers both shares:

* ``release control``: ``hashlib.sha256`` over 1 MiB, CPU-bound C code that releases the GIL;
* ``hold control``: a pure-Python loop, which holds it.

``gil_free = (share - hold) / (release - hold)`` then places a workload between the two (about 1:
releases, about 0: holds). Probes: ``mujoco.mj_step`` on the Ant model (5 substeps, one Ant-v5
env step of physics), a batch-1 forward pass of a 2x64 tanh MLP in torch, a full
``Ant-v5`` ``env.step`` (physics plus gymnasium's Python wrappers), a ``CartPole-v1``
``env.step`` (gymnasium Python only, no MuJoCo), and a batch-8 forward pass with torch's default
intra-op thread team versus one thread. The last pair is not about the GIL: an OpenMP team
needs all its threads at each barrier, so when another busy thread (here the counter, in a
sampler the other workers) occupies a core, every parallel region waits for a descheduled team
member; ``workload_share`` then collapses for the default team but not for one thread.

Releasing the GIL is not enough to run at full speed beside a busy Python thread: after each
release the caller must take the GIL back, and a CPU-bound Python thread gives it up only when
the switch interval expires (the "convoy effect"; Beazley 2010, *Understanding the Python
GIL*). The last probe repeats ``mj_step`` with the interval cut from 5 ms to 0.5 ms.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rlcheck.threads import torch_threads

Workload = Callable[[], Any]


@dataclass(frozen=True)
class ProbeResult:
    """One probe's medians over repeats (rates in calls or increments per second)."""

    name: str
    calls_per_s_alone: float
    calls_per_s_beside: float
    counter_per_s_alone: float
    counter_per_s_beside: float
    counter_share: float
    workload_share: float
    gil_free: float
    repeats: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _run_counter(flag: list[bool], out: list[int]) -> None:
    n = 0
    while flag[0]:
        n += 1
    out.append(n)


def _run_box_counter(flag: list[bool], box: list[int]) -> None:
    while flag[0]:
        box[0] += 1


def _loop(workload: Workload, seconds: float) -> float:
    """Calls per second of ``workload`` over about ``seconds``."""
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        workload()
        calls += 1
        if calls % 8 == 0 and time.perf_counter() >= deadline:
            break
    return calls / (time.perf_counter() - start)


def _counter_rate(seconds: float, workload: Workload | None) -> tuple[float, float]:
    """Counter increments per second (and workload calls per second) while ``workload`` runs."""
    flag: list[bool] = [True]
    out: list[float] = []
    thread = threading.Thread(target=_run_counter, args=(flag, out), daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        if workload is not None:
            rate = _loop(workload, seconds)
        else:
            time.sleep(seconds)
            rate = 0.0
    finally:
        flag[0] = False
        thread.join()
    elapsed = time.perf_counter() - start
    return out[0] / elapsed, rate


def _one_round(workload: Workload, seconds: float) -> tuple[float, float, float, float]:
    """(counter alone, workload alone, counter beside, workload beside) rates."""
    c_alone = _counter_rate(seconds, None)[0]
    w_alone = _loop(workload, seconds)
    c_beside, w_beside = _counter_rate(seconds, workload)
    return c_alone, w_alone, c_beside, w_beside


def measure_all(workloads: dict[str, Workload], *, seconds: float = 0.5, repeats: int = 3,
                hold: str | None = None, release: str | None = None,
                progress: bool = True) -> list[ProbeResult]:
    """Probe every workload in interleaved rounds; medians over rounds.

    Each round measures every workload once, so slow drifts of machine load hit all alike;
    ``gil_free = (s - s_hold) / (s_release - s_hold)`` with the median counter shares ``s``
    (``nan`` unless the release control's share exceeds the hold control's).
    """
    from rlcheck.progress import progress_bar

    if seconds <= 0 or repeats < 1:
        raise ValueError(f"need seconds > 0 and repeats >= 1, got {seconds}, {repeats}")
    import torch

    threads = torch.get_num_threads()  # workloads may change it; restored below
    rows: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in workloads}
    try:
        for work in workloads.values():
            work()  # warm up (imports, allocations, first-call dispatch)
        with progress_bar("GIL probes", total=repeats * len(workloads),
                          disable=None if progress else True) as bar:
            for _ in range(repeats):
                for name, work in workloads.items():
                    rows[name].append(_one_round(work, seconds))
                    bar.update(1)
    finally:
        torch.set_num_threads(threads)
    share = {k: statistics.median(cb / ca for ca, _, cb, _ in v) for k, v in rows.items()}
    out = []
    for name, v in rows.items():
        h = share.get(hold, float("nan")) if hold is not None else float("nan")
        r = share.get(release, float("nan")) if release is not None else float("nan")
        free = (share[name] - h) / (r - h) if r > h else float("nan")
        out.append(ProbeResult(
            name=name,
            calls_per_s_alone=statistics.median(x[1] for x in v),
            calls_per_s_beside=statistics.median(x[3] for x in v),
            counter_per_s_alone=statistics.median(x[0] for x in v),
            counter_per_s_beside=statistics.median(x[2] for x in v),
            counter_share=share[name],
            workload_share=statistics.median(x[3] / x[1] for x in v),
            gil_free=free, repeats=repeats, seconds=seconds))
    return out


def measure(name: str, workload: Workload, *, seconds: float = 0.5,
            repeats: int = 3) -> ProbeResult:
    """Probe one workload (no controls, so ``gil_free`` is ``nan``)."""
    return measure_all({name: workload}, seconds=seconds, repeats=repeats, progress=False)[0]


# ------------------------------------------------------------------------------------ workloads


def hash_workload() -> Workload:
    """Release control: SHA-256 of 1 MiB (hashlib releases the GIL above 2 KiB)."""
    data = np.random.default_rng(0).bytes(1 << 20)
    return lambda: hashlib.sha256(data).digest()


def python_workload() -> Workload:
    """Hold control: a pure-Python loop of about the length of an env step."""
    def work() -> int:
        total = 0
        for i in range(2000):
            total += i * i
        return total
    return work


def mj_step_workload(env_id: str = "Ant-v5") -> Workload:
    """``mujoco.mj_step(model, data, nstep=frame_skip)``: one env step of physics, no Python."""
    import gymnasium as gym
    import mujoco

    env = gym.make(env_id)
    env.reset(seed=0)
    raw: Any = env.unwrapped  # a MujocoEnv: model, data and frame_skip
    model, data = raw.model, raw.data
    skip = int(raw.frame_skip)
    return lambda: mujoco.mj_step(model, data, nstep=skip)


def torch_workload(obs_dim: int = 105, act_dim: int = 8, batch: int = 1,
                   threads: int | None = None) -> Workload:
    """A batch-``batch`` forward pass of a 2x64 tanh MLP under ``no_grad``."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(obs_dim, 64), torch.nn.Tanh(),
                              torch.nn.Linear(64, 64), torch.nn.Tanh(),
                              torch.nn.Linear(64, act_dim))
    x = torch.zeros(batch, obs_dim)

    def work() -> Any:
        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.no_grad():
            return net(x)
    return work


def env_step_workload(env_id: str) -> Workload:
    """A full gymnasium ``env.step`` with a fixed action, resetting when an episode ends."""
    import gymnasium as gym

    env = gym.make(env_id)
    env.reset(seed=0)
    action = env.action_space.sample()

    def work() -> None:
        _, _, term, trunc, _ = env.step(action)
        if term or trunc:
            env.reset()
    return work


@dataclass(frozen=True)
class LongCallResult:
    """Counter progress during one long call of a C function, relative to the counter alone."""

    name: str
    call_seconds: float
    counter_share: float
    releases_gil: bool
    repeats: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


LONG_CALL_THRESHOLD = 0.2
"""A long call that holds the GIL leaves the counter about one switch interval (5 ms) of a
call of about 0.25 s, a share near 0.02; one that releases it leaves the counter running (share
near 1 on an idle core, still well above 0.2 on a busy machine)."""


def long_call(name: str, fn: Workload, *, repeats: int = 3) -> LongCallResult:
    """Does ``fn`` release the GIL while it runs? One long call beside the counter thread.

    The counter runs alone for as long as one call takes (``c_alone``), then beside one call
    (``c_beside``); ``counter_share = c_beside / c_alone``. This binary test hardly depends on
    machine load, unlike the loop probes, because a held GIL stops the counter outright.
    """
    fn()  # warm up
    shares, durations = [], []
    for _ in range(repeats):
        flag, box = [True], [0]
        thread = threading.Thread(target=_run_box_counter, args=(flag, box), daemon=True)
        thread.start()
        time.sleep(0.02)  # let the counter get going
        before = box[0]
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        beside = box[0] - before
        time.sleep(elapsed)  # the main thread sleeps: the counter runs alone
        alone = box[0] - before - beside
        flag[0] = False
        thread.join()
        shares.append(beside / max(alone, 1))
        durations.append(elapsed)
    share = statistics.median(shares)
    return LongCallResult(name, statistics.median(durations), share,
                          share > LONG_CALL_THRESHOLD, repeats)


def long_calls(*, target_seconds: float = 0.25, repeats: int = 3,
               mujoco: bool = True) -> list[LongCallResult]:
    """Long-call GIL tests of mj_step, a large torch forward pass, and two controls."""
    import torch

    data = np.random.default_rng(0).bytes(1 << 20)
    calls: dict[str, Workload] = {
        "hold control (builtin sum over range)": _scaled(lambda k: sum(range(k)), 1 << 16,
                                                         target_seconds),
        "release control (hashlib)": _scaled(
            lambda k: hashlib.sha256(data * k).digest(), 1, target_seconds),
    }
    if mujoco:
        import gymnasium as gym
        import mujoco as mj

        env = gym.make("Ant-v5")
        env.reset(seed=0)
        raw: Any = env.unwrapped  # a MujocoEnv
        model, mdata = raw.model, raw.data
        calls["mujoco.mj_step (Ant)"] = _scaled(lambda k: mj.mj_step(model, mdata, nstep=k), 50,
                                                target_seconds)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(105, 64), torch.nn.Tanh(),
                              torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 8))

    def forward(k: int) -> Any:
        with torch_threads(1), torch.no_grad():
            return net(torch.zeros(k, 105))

    calls["torch MLP forward (one large batch, 1 thread)"] = _scaled(forward, 1024,
                                                                      target_seconds)
    return [long_call(name, fn, repeats=repeats) for name, fn in calls.items()]


def _scaled(fn: Callable[[int], Any], k: int, target: float) -> Workload:
    """``lambda: fn(K)`` with ``K`` doubled from ``k`` until one call takes ``target`` s."""
    while True:
        start = time.perf_counter()
        fn(k)
        elapsed = time.perf_counter() - start
        if elapsed >= target / 4 or k > 1 << 26:
            break
        k *= 2
    k = max(1, round(k * target / elapsed))
    return lambda: fn(k)


HOLD = "hold control (pure Python)"
SHORT_SWITCH = 0.0005
CONVOY = "mujoco.mj_step, switch interval 0.5 ms"
RELEASE = "release control (hashlib)"


def probe_all(*, seconds: float = 0.5, repeats: int = 3, mujoco: bool = True,
              progress: bool = True) -> list[ProbeResult]:
    """Run the two controls and every probe in interleaved rounds (see module docstring)."""
    workloads: dict[str, Workload] = {HOLD: python_workload(), RELEASE: hash_workload()}
    if mujoco:
        workloads["mujoco.mj_step (Ant, 5 substeps)"] = mj_step_workload()
        workloads["Ant-v5 env.step (physics + wrappers)"] = env_step_workload("Ant-v5")
    workloads["torch MLP forward (batch 1)"] = torch_workload()
    # intra-op threads: a batched forward with torch's default team vs one thread
    default = _default_threads()
    workloads[f"torch MLP forward (batch 8, {default} threads)"] = torch_workload(
        batch=8, threads=default)
    workloads["torch MLP forward (batch 8, 1 thread)"] = torch_workload(batch=8, threads=1)
    workloads["CartPole-v1 env.step (gymnasium Python)"] = env_step_workload("CartPole-v1")
    out = measure_all(workloads, seconds=seconds, repeats=repeats, hold=HOLD, release=RELEASE,
                      progress=progress)
    if mujoco:  # the convoy effect: a shorter switch interval gives the GIL back sooner
        old = sys.getswitchinterval()
        sys.setswitchinterval(SHORT_SWITCH)
        try:
            short = measure_all({HOLD: workloads[HOLD], RELEASE: workloads[RELEASE],
                                 CONVOY: workloads["mujoco.mj_step (Ant, 5 substeps)"]},
                                seconds=seconds, repeats=repeats, hold=HOLD, release=RELEASE,
                                progress=progress)
        finally:
            sys.setswitchinterval(old)
        out += [r for r in short if r.name == CONVOY]
    return out


def _default_threads() -> int:
    import torch

    return max(2, torch.get_num_threads())


def switch_interval() -> float:
    """CPython's GIL switch interval in seconds (default 0.005)."""
    return sys.getswitchinterval()


if __name__ == "__main__":  # pragma: no cover - manual use
    for res in probe_all():
        print(f"{res.name:45s} counter_share={res.counter_share:.2f} "
              f"workload_share={res.workload_share:.2f} gil_free={res.gil_free:.2f} "
              f"({res.calls_per_s_alone:.0f} calls/s alone)")
