"""Throughput of every sampler against a plain serial gymnasium loop, measured in one run.

``python -m rlcheck.bench.throughput [--tier quick|full] [--envs Ant-v5 ...] [--out CSV]``

For each environment (Ant-v5, Humanoid-v5 and the cheap Pendulum-v1) and each configuration
(sampler, workers, environments per worker, torch threads) the benchmark collects ``n_steps``
transitions with a torch 2x64 tanh MLP Gaussian policy, ``repeats`` times, and records

* ``steps_per_s``: median over repeats of ``n_steps / wall time``;
* ``speedup_vs_serial``: ``steps_per_s / steps_per_s(serial_loop)``, where ``serial_loop`` is a
  plain gymnasium loop calling the policy once per step (batch 1) with torch's default threads,
  measured before and after the other configurations (median of all its repeats);
* ``cpu_cores``: median of ``CPU seconds / wall seconds`` of this process and its children
  (psutil when installed, else ``os.times``, which misses live children);

plus the physics ceiling: ``mujoco.rollout`` stepping the same model with random controls and no
Python in the loop, on 1 and 2 threads (sampler ``mujoco_rollout``; rates in env steps, i.e.
``frame_skip`` physics steps each), and the peers a user would otherwise reach for, each driven
by the same batched policy arithmetic: Stable-Baselines3's ``SubprocVecEnv`` and
``DummyVecEnv`` (``sb3_subproc``, ``sb3_dummy``, when installed), gymnasium's
``AsyncVectorEnv`` used directly (``gym_async``), and ``envpool`` when importable.

Pool and vector-environment start-up is excluded (the pools are persistent; a warm-up collection
runs first), except for ``collect_oneshot``: ``collect(..., sampler="forkserver",
reuse=False)``, which starts and closes its processes in every call, next to ``collect``, the
same call with its default ``reuse=True`` (processes kept across calls).
The CSV ``reports/sampling/throughput.csv`` has exactly the columns
:data:`COLUMNS`; every timed repeat, with ``os.getloadavg()`` at its start, goes to
``throughput_repeats.csv`` beside it, and the run's settings to ``throughput_meta.json``. The
machine this runs on may be shared: compare ratios within one run only.

Longer than 400 lines because it is one experiment told end to end (configurations, runners,
timing, outputs), as CleanRL tells one algorithm in one file.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcheck.atomic import atomic_path, write_text_atomic
from rlcheck.distributions import policy_for_env
from rlcheck.paths import REPORTS
from rlcheck.progress import progress_bar, status
from rlcheck.threads import torch_threads

COLUMNS = ("env", "sampler", "workers", "envs_per_worker", "torch_threads", "steps_per_s",
           "speedup_vs_serial", "cpu_cores")
"""Columns of ``throughput.csv``, in order."""

DEFAULT_CSV = REPORTS / "sampling" / "throughput.csv"
"""Where the benchmark writes its table by default (read by the ``sampling-gil`` analysis)."""
BASELINE = "serial_loop"
CEILING = "mujoco_rollout"
CHEAP_ENV = "Pendulum-v1"
FAST_SWITCH = "threads_switch_0.5ms"
"""The thread sampler with ``sys.setswitchinterval(0.0005)`` during collection."""
ONESHOT = "collect_oneshot"
"""``collect(..., sampler="forkserver", reuse=False)``: processes started in every call."""
REUSED = "collect"
"""``collect(..., sampler="forkserver")``: processes reused across calls (the default)."""
PEERS = [("sb3_subproc", 2, 1, 1), ("sb3_dummy", 1, 8, 1), ("gym_async", 2, 1, 1)]
"""Other libraries' vectorised environments: ``(sampler, workers, envs_per_worker, threads)``,
``workers * envs_per_worker`` environments (one process each for the asynchronous ones)."""


@dataclass(frozen=True)
class Config:
    """One benchmarked configuration. ``torch_threads`` 0 means not applicable (no torch)."""

    env: str
    sampler: str
    workers: int = 1
    envs_per_worker: int = 1
    torch_threads: int = 0


@dataclass(frozen=True)
class TierSettings:
    envs: tuple[str, ...]
    n_steps: dict[str, int]
    repeats: int
    full_grid: bool


TIERS = {
    "quick": TierSettings(envs=("Ant-v5",), n_steps={"Ant-v5": 2000}, repeats=2,
                          full_grid=False),
    "full": TierSettings(envs=("Ant-v5", "Humanoid-v5", CHEAP_ENV),
                         n_steps={"Ant-v5": 50_000, "Humanoid-v5": 20_000, CHEAP_ENV: 50_000},
                         repeats=3, full_grid=True),
}


def _fresh_default_threads() -> int:
    import torch

    return int(torch.get_num_threads())


_DEFAULT_THREADS = _fresh_default_threads()


def default_threads() -> int:
    """torch's default intra-op thread count, read when this module was first imported.

    Later ``torch.set_num_threads`` calls (e.g. by the GIL probes) do not change it; the
    variable ``RLCHECK_DEFAULT_TORCH_THREADS`` overrides it.
    """
    return int(os.environ.get("RLCHECK_DEFAULT_TORCH_THREADS", _DEFAULT_THREADS))


def configs(env: str, tier: str, *, envpool: bool, threads: int) -> list[Config]:
    """The grid of configurations for ``env`` at ``tier``; ``threads`` = torch's default.

    Tuples below are ``(sampler, workers, envs_per_worker, torch_threads)`` with ``D`` standing
    for the default thread count. The first entry is the baseline.
    """
    D = threads
    if tier == "quick":
        grid = [(BASELINE, 1, 1, D), ("threads", 2, 1, 1), (FAST_SWITCH, 2, 1, 1),
                ("sync_vector", 1, 4, 1), ("forkserver", 2, 8, 1), (ONESHOT, 2, 8, 1),
                (REUSED, 2, 8, 1), *PEERS]
    elif env == "Ant-v5":
        grid = [(BASELINE, 1, 1, D), (BASELINE, 1, 1, 1), ("serial", 1, 1, D),
                ("threads", 2, 1, D), ("threads", 2, 1, 1), ("threads", 4, 1, 1),
                ("threads", 2, 4, D), ("threads", 2, 4, 1), (FAST_SWITCH, 2, 1, 1),
                ("sync_vector", 1, 4, D), ("sync_vector", 1, 8, 1),
                ("async_vector", 2, 1, 1), ("async_vector", 4, 1, 1),
                ("forkserver", 1, 8, 1), ("forkserver", 2, 1, 1), ("forkserver", 2, 8, D),
                ("forkserver", 2, 8, 1), ("forkserver", 2, 16, 1), ("forkserver", 4, 8, 1),
                ("spawn", 2, 8, 1), (ONESHOT, 2, 8, 1), (REUSED, 2, 8, 1),
                (ONESHOT, 2, 16, 1), (REUSED, 2, 16, 1), *PEERS, ("sb3_subproc", 4, 1, 1),
                ("sb3_dummy", 1, 16, 1)]
        if envpool:
            grid += [("envpool", 1, 8, 1)]
    else:
        grid = [(BASELINE, 1, 1, D), ("threads", 2, 1, 1), (FAST_SWITCH, 2, 1, 1),
                ("sync_vector", 1, 8, 1),
                ("async_vector", 2, 1, 1), ("forkserver", 2, 1, 1), ("forkserver", 2, 8, 1),
                ("forkserver", 4, 8, 1)]
        if envpool:
            grid += [("envpool", 1, 8, 1)]
    sb3 = peers_available()
    out = [Config(env, s, w, k, t) for s, w, k, t in grid if sb3 or not s.startswith("sb3")]
    if env != CHEAP_ENV:
        out += [Config(env, CEILING, n, 1, 0) for n in (1, 2)]
    return out


# ------------------------------------------------------------------------------------ policies


def benchmark_policy(env_id: str) -> Any:
    """The policy every sampler runs: a torch 2x64 tanh MLP Gaussian (seed 0) for ``env_id``."""
    return policy_for_env(env_id, hidden=(64, 64), seed=0)


# ------------------------------------------------------------------------------------- runners


class Runner:
    """Set up once (excluded from timing); ``run(n_steps, seed)`` is timed; ``close``."""

    def run(self, n_steps: int, seed: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release processes and environments."""


class SerialLoop(Runner):
    """The baseline: a plain gymnasium loop, one batch-1 MLP call per step.

    The action is ``mean_net(s) + exp(log_std) * z``, the same arithmetic as every sampler's
    policy adapter (:func:`rlcheck.sampling.policies.gaussian_parts`), so ratios measure the
    sampler, not the cost of building distribution objects.
    """

    def __init__(self, env_id: str, module: Any, threads: int) -> None:
        import gymnasium as gym

        self.env = gym.make(env_id)
        self.module = module
        self.threads = threads

    def run(self, n_steps: int, seed: int) -> None:
        import torch

        env, module = self.env, self.module
        rng = np.random.default_rng(seed)
        with torch_threads(self.threads), torch.no_grad():
            std = module.log_std.exp().numpy()
            obs, _ = env.reset(seed=seed)
            for _ in range(n_steps):
                mean = module.mean_net(torch.as_tensor(obs[None], dtype=torch.float32))[0]
                action = mean.numpy() + std * rng.standard_normal(std.shape)
                obs, _, term, trunc, _ = env.step(action)
                if term or trunc:
                    obs, _ = env.reset()

    def close(self) -> None:
        self.env.close()


class SamplerRunner(Runner):
    """An rlcheck sampler, with its pool or vector environment kept alive across runs."""

    def __init__(self, config: Config, module: Any, threads: int) -> None:
        from rlcheck.sampling import VectorSampler, WorkerPool, policy_from_module

        self.config = config
        self.policy = policy_from_module(module)
        self.threads = threads
        self.pool: Any = None
        c = config
        if c.sampler in ("spawn", "forkserver", "fork"):
            self.pool = WorkerPool(c.env, c.workers, c.envs_per_worker, start_method=c.sampler,
                                   worker_threads=c.torch_threads if c.torch_threads == 1
                                   else None, timeout=120.0)
        elif c.sampler in ("sync_vector", "async_vector"):
            self.pool = VectorSampler(c.env, c.workers * c.envs_per_worker,
                                      asynchronous=c.sampler == "async_vector", timeout=120.0)

    def run(self, n_steps: int, seed: int) -> None:
        from rlcheck.sampling import collect_serial, collect_threads

        c = self.config
        if self.pool is not None:
            # vector samplers infer here; process pools infer in their workers
            vector = c.sampler in ("sync_vector", "async_vector")
            with torch_threads(c.torch_threads if vector else self.threads):
                self.pool.collect(self.policy, n_steps, seed)
        elif c.sampler == "serial":
            with torch_threads(c.torch_threads):
                collect_serial(self.policy, c.env, n_steps, seed)
        elif c.sampler in ("threads", FAST_SWITCH):
            collect_threads(self.policy, c.env, n_steps, seed, workers=c.workers,
                            envs_per_worker=c.envs_per_worker, worker_threads=c.torch_threads,
                            switch_interval=5e-4 if c.sampler == FAST_SWITCH else None,
                            timeout=120.0)
        else:  # pragma: no cover - guarded by make_runner
            raise ValueError(f"no runner for sampler {c.sampler!r}")

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


class EnvpoolRunner(Runner):
    """envpool's synchronous batched environments (optional peer), batched torch inference."""

    def __init__(self, config: Config, module: Any) -> None:
        import envpool

        self.config = config
        self.module = module
        self.n = config.workers * config.envs_per_worker
        self.envs = envpool.make_gymnasium(config.env, num_envs=self.n, seed=0)

    def run(self, n_steps: int, seed: int) -> None:
        import torch

        rng = np.random.default_rng(seed)
        with torch_threads(self.config.torch_threads), torch.no_grad():
            std = self.module.log_std.exp().numpy()
            obs, _ = self.envs.reset()
            for _ in range(-(-n_steps // self.n)):
                mean = self.module.mean_net(torch.as_tensor(obs, dtype=torch.float32)).numpy()
                obs, *_ = self.envs.step(mean + std * rng.standard_normal(mean.shape))

    def close(self) -> None:
        self.envs.close()


class PhysicsCeiling(Runner):
    """``mujoco.rollout`` on ``nthread`` threads: physics only, random controls, no Python loop.

    ``n_steps`` env steps are split over ``max(8, 4 * nthread)`` rollouts of equal length, each
    env step being ``frame_skip`` physics steps.
    """

    def __init__(self, env_id: str, nthread: int) -> None:
        import gymnasium as gym
        import mujoco
        from mujoco import rollout

        env = gym.make(env_id)
        env.reset(seed=0)
        raw: Any = env.unwrapped  # a MujocoEnv: model, data and frame_skip
        self.model = raw.model
        self.frame_skip = int(raw.frame_skip)
        self.nthread = nthread
        self.nbatch = max(8, 4 * nthread)
        self.datas = [mujoco.MjData(self.model) for _ in range(nthread)]
        spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
        state = np.empty(mujoco.mj_stateSize(self.model, spec))
        mujoco.mj_getState(self.model, raw.data, state, spec)
        self.initial = np.tile(state, (self.nbatch, 1))
        self.rollout = rollout.Rollout(nthread=nthread)
        env.close()

    def run(self, n_steps: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        nstep = -(-n_steps // self.nbatch) * self.frame_skip
        low, high = self.model.actuator_ctrlrange.T
        control = rng.uniform(low, high, (self.nbatch, nstep, self.model.nu))
        self.rollout.rollout([self.model] * self.nbatch, self.datas, self.initial, control,
                             nstep=nstep)

    def close(self) -> None:
        self.rollout.close()


class CollectRunner(Runner):
    """``rlcheck.sampling.collect`` itself, as a user calls it: with ``reuse=False`` every call
    starts and closes its worker processes (start-up inside the timing)."""

    def __init__(self, config: Config, module: Any) -> None:
        from rlcheck.sampling import policy_from_module

        self.config = config
        self.policy = policy_from_module(module)

    def run(self, n_steps: int, seed: int) -> None:
        from rlcheck.sampling import collect

        c = self.config
        collect(self.policy, c.env, n_steps, seed, sampler="forkserver", workers=c.workers,
                envs_per_worker=c.envs_per_worker, worker_threads=c.torch_threads,
                reuse=c.sampler == REUSED, timeout=120.0)

    def close(self) -> None:
        from rlcheck.sampling import close_cached_samplers

        close_cached_samplers()


class _EnvFn:
    """Picklable ``() -> gymnasium.make(env_id)`` for other libraries' vector environments."""

    def __init__(self, env_id: str) -> None:
        self.env_id = env_id

    def __call__(self) -> Any:
        import gymnasium as gym

        return gym.make(self.env_id)


class PeerRunner(Runner):
    """Another library's vector environment stepped with batched inference in this process:
    SB3 ``SubprocVecEnv`` (forkserver) / ``DummyVecEnv``, or gymnasium ``AsyncVectorEnv``."""

    def __init__(self, config: Config, module: Any) -> None:
        self.config = config
        self.module = module
        self.n = config.workers * config.envs_per_worker
        fns: list[Any] = [_EnvFn(config.env) for _ in range(self.n)]
        if config.sampler == "sb3_subproc":
            from stable_baselines3.common.vec_env import SubprocVecEnv

            self.venv: Any = SubprocVecEnv(fns, start_method="forkserver")
        elif config.sampler == "sb3_dummy":
            from stable_baselines3.common.vec_env import DummyVecEnv

            self.venv = DummyVecEnv(fns)
        else:
            import gymnasium as gym

            self.venv = gym.vector.AsyncVectorEnv(fns, context="forkserver")
        self.gym_api = config.sampler == "gym_async"

    def run(self, n_steps: int, seed: int) -> None:
        import torch

        rng = np.random.default_rng(seed)
        with torch_threads(self.config.torch_threads), torch.no_grad():
            std = self.module.log_std.exp().numpy()
            obs = self.venv.reset(seed=seed)[0] if self.gym_api else self.venv.reset()
            for _ in range(-(-n_steps // self.n)):
                mean = self.module.mean_net(torch.as_tensor(obs, dtype=torch.float32)).numpy()
                obs = self.venv.step(mean + std * rng.standard_normal(mean.shape))[0]

    def close(self) -> None:
        self.venv.close()


def peers_available() -> bool:
    """Whether Stable-Baselines3 is importable (its two vector environments are benchmarked)."""
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        return False
    return True


def make_runner(config: Config, module: Any, threads: int) -> Runner:
    """Build the runner for ``config`` (start-up cost paid here, outside the timing)."""
    if config.sampler == BASELINE:
        return SerialLoop(config.env, module, config.torch_threads)
    if config.sampler in (ONESHOT, REUSED):
        return CollectRunner(config, module)
    if config.sampler in ("sb3_subproc", "sb3_dummy", "gym_async"):
        return PeerRunner(config, module)
    if config.sampler == CEILING:
        return PhysicsCeiling(config.env, config.workers)
    if config.sampler == "envpool":
        return EnvpoolRunner(config, module)
    return SamplerRunner(config, module, threads)


# ----------------------------------------------------------------------------------- measuring


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its live children."""
    try:
        import psutil
    except ImportError:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def envpool_available() -> bool:
    """Whether the optional peer ``envpool`` can be imported."""
    try:
        import envpool  # noqa: F401
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class Repeat:
    """One timed collection."""

    env: str
    sampler: str
    workers: int
    envs_per_worker: int
    torch_threads: int
    repeat: int
    n_steps: int
    seconds: float
    steps_per_s: float
    cpu_cores: float
    loadavg_1min: float
    setup_s: float


def time_config(config: Config, module: Any, n_steps: int, repeats: int, threads: int,
                on_repeat: Callable[[], None] | None = None) -> list[Repeat]:
    """Set up ``config``, warm it up, then time ``repeats`` collections of ``n_steps``."""
    t0 = time.perf_counter()
    runner = make_runner(config, module, threads)
    try:
        warm = max(config.workers * config.envs_per_worker * 4, min(n_steps // 20, 500))
        if config.sampler != CEILING:
            runner.run(warm, seed=10_000)
        setup = time.perf_counter() - t0
        out = []
        for r in range(repeats):
            load = os.getloadavg()[0]
            c0, w0 = cpu_seconds(), time.perf_counter()
            runner.run(n_steps, seed=r)
            wall = time.perf_counter() - w0
            cpu = cpu_seconds() - c0
            out.append(Repeat(**asdict(config), repeat=r, n_steps=n_steps, seconds=wall,
                              steps_per_s=n_steps / wall, cpu_cores=cpu / wall,
                              loadavg_1min=load, setup_s=setup))
            if on_repeat is not None:
                on_repeat()
        return out
    finally:
        runner.close()


def summarise(repeats: Sequence[Repeat]) -> list[dict[str, Any]]:
    """One row per configuration: medians, and speedups over the env's ``serial_loop``."""
    groups: dict[tuple[Any, ...], list[Repeat]] = {}
    for r in repeats:
        groups.setdefault((r.env, r.sampler, r.workers, r.envs_per_worker, r.torch_threads),
                          []).append(r)
    threads = default_threads()
    base = {env: statistics.median(r.steps_per_s for r in rs)
            for (env, sampler, _, _, t), rs in groups.items()
            if sampler == BASELINE and t == threads}
    rows = []
    for key, rs in groups.items():
        rate = statistics.median(r.steps_per_s for r in rs)
        rows.append(dict(zip(COLUMNS, (*key, round(rate, 1),
                                       round(rate / base[key[0]], 3) if key[0] in base
                                       else float("nan"),
                                       round(statistics.median(r.cpu_cores for r in rs), 3)),
                             strict=True)))
    return rows


def write_outputs(repeats: Sequence[Repeat], out_csv: Path, meta: dict[str, Any]) -> None:
    """Write the summary CSV, the per-repeat CSV and the metadata JSON."""
    with atomic_path(out_csv) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(summarise(repeats))
    detail = out_csv.with_name(out_csv.stem + "_repeats.csv")
    with atomic_path(detail) as tmp, tmp.open("w", newline="") as f:
        fields = list(Repeat.__dataclass_fields__)
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(asdict(r) for r in repeats)
    write_text_atomic(out_csv.with_name(out_csv.stem + "_meta.json"),
                      json.dumps(meta, indent=2) + "\n")


def run(tier: str = "quick", out_csv: Path | str = DEFAULT_CSV, *,
        envs: Sequence[str] | None = None, n_steps: int | None = None,
        repeats: int | None = None, include_envpool: bool = True) -> list[dict[str, Any]]:
    """Run the benchmark at ``tier`` and write ``out_csv`` (see the module docstring).

    The CSVs are rewritten after every configuration, so an interrupted run (Ctrl-C) leaves
    the rows measured so far. Returns the summary rows.
    """
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {tuple(TIERS)}, got {tier!r}")
    settings = TIERS[tier]
    out_csv = Path(out_csv)
    envs = tuple(envs or settings.envs)
    threads = default_threads()
    has_envpool = include_envpool and envpool_available()
    plan: list[tuple[Config, int]] = []
    for env in envs:
        steps = n_steps or settings.n_steps.get(env, settings.n_steps.get("Ant-v5", 3000))
        grid = configs(env, tier, envpool=has_envpool, threads=threads)
        # the baseline runs first and again last, so load drifts hit it like the others
        plan += [(c, steps) for c in grid] + [(grid[0], steps)]
    reps = repeats or settings.repeats
    meta: dict[str, Any] = {"tier": tier, "envs": envs, "repeats": reps, "default_torch_threads": threads,
            "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "envpool": has_envpool, "loadavg_start": os.getloadavg(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "note": "machine may be shared: compare ratios within this run only"}
    results: list[Repeat] = []
    modules: dict[str, Any] = {}
    with progress_bar("sampling benchmark", total=len(plan) * reps, unit="run") as bar:
        for config, steps in plan:
            module = modules.setdefault(config.env, benchmark_policy(config.env))
            bar.set_postfix_str(f"{config.env} {config.sampler} w={config.workers} "
                                f"k={config.envs_per_worker} t={config.torch_threads}")
            try:
                results += time_config(config, module, steps, reps, threads,
                                       on_repeat=lambda: bar.update(1))
            except Exception as exc:  # one broken configuration must not sink the run
                status(f"{config}: failed: {exc!r}")
                meta.setdefault("failed", []).append(f"{config}: {exc!r}")
                bar.update(reps)
                continue
            meta["loadavg_end"] = os.getloadavg()
            write_outputs(results, out_csv, meta)
    return summarise(results)


PEER_NAMES = {"sb3_subproc": "SB3 SubprocVecEnv", "sb3_dummy": "SB3 DummyVecEnv",
              "gym_async": "gymnasium AsyncVectorEnv", "envpool": "envpool"}
_NOT_RLCHECK = {BASELINE, CEILING, ONESHOT, REUSED, *PEER_NAMES}


def summarise_ratios(rows: Sequence[dict[str, Any]]) -> str:
    """Per environment, one line each: the best rlcheck sampler, ``collect`` one-shot and
    reused, every peer, and the physics ceiling, as ratios of the serial loop of this run."""
    def label(r: dict[str, Any]) -> str:
        return (f"{r['sampler']} {r['workers']}x{r['envs_per_worker']} "
                f"({r['speedup_vs_serial']:.2f}x serial, {r['steps_per_s']:.0f} steps/s)")

    lines = []
    for env in dict.fromkeys(r["env"] for r in rows):
        mine = [r for r in rows if r["env"] == env]
        ours = [r for r in mine if r["sampler"] not in _NOT_RLCHECK]
        if ours:
            best = max(ours, key=lambda r: r["speedup_vs_serial"])
            lines.append(f"{env}: best rlcheck sampler {label(best)}")
        for name, what in [(ONESHOT, "one-shot collect (reuse=False)"),
                           (REUSED, "collect (processes reused)"), *PEER_NAMES.items(),
                           (CEILING, "physics ceiling mujoco.rollout")]:
            for r in mine:
                if r["sampler"] == name:
                    lines.append(f"{env}:   {what}: {label(r)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m rlcheck.bench.throughput --tier full``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tier", choices=tuple(TIERS), default="full")
    parser.add_argument("--out", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--envs", nargs="*", default=None)
    parser.add_argument("--n-steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-envpool", action="store_true")
    args = parser.parse_args(argv)
    try:
        rows = run(args.tier, args.out, envs=args.envs, n_steps=args.n_steps,
                   repeats=args.repeats, include_envpool=not args.no_envpool)
    except KeyboardInterrupt:
        status(f"interrupted; rows measured so far are in {args.out}")
        return 130
    for row in rows:
        status("  ".join(f"{k}={v}" for k, v in row.items()))
    status(summarise_ratios(rows))
    status(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
