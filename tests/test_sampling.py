"""Samplers: exact step counts, episode structure, seeding, agreement, failures and Ctrl-C.

Classic-control environments keep these fast; MuJoCo and process-start-heavy tests are marked.
No timing assertions here: throughput is measured by ``rlcheck.bench.throughput``.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch

from rlcheck.sampling import (
    SAMPLERS,
    LinearSoftmaxPolicy,
    Rollouts,
    WorkerError,
    WorkerPool,
    collect,
    deterministic,
    policy_from_module,
)
from rlcheck.sampling.core import budgets, env_seed, policy_rng

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated",
          "episode", "env_index")


def cartpole_policy(seed: int = 0) -> LinearSoftmaxPolicy:
    rng = np.random.default_rng(seed)
    return LinearSoftmaxPolicy(rng.normal(0, 1.0, (4, 2)), np.zeros(2))


class GaussianMLP(torch.nn.Module):
    """A 2x64 tanh MLP with a state-independent log std (picklable, module level)."""

    def __init__(self, obs_dim: int, act_dim: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(obs_dim, 64), torch.nn.Tanh(),
                                       torch.nn.Linear(64, 64), torch.nn.Tanh(),
                                       torch.nn.Linear(64, act_dim))
        self.log_std = torch.nn.Parameter(torch.full((act_dim,), -0.5))

    def forward(self, obs: torch.Tensor) -> torch.distributions.Distribution:
        return torch.distributions.Independent(
            torch.distributions.Normal(self.net(obs), self.log_std.exp()), 1)


class RaisingPolicy:
    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise ValueError("planted policy failure")


class ExitingPolicy:
    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        os._exit(3)


class SleepingPolicy:
    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        time.sleep(30)
        return np.zeros(len(obs), dtype=np.int64)


def assert_same(a: Rollouts, b: Rollouts, atol: float = 0.0) -> None:
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.shape == y.shape, f
        if atol == 0.0 or x.dtype == bool or np.issubdtype(x.dtype, np.integer):
            np.testing.assert_array_equal(x, y, err_msg=f)
        else:
            np.testing.assert_allclose(x, y, atol=atol, rtol=0, err_msg=f)


def assert_well_formed(r: Rollouts, n_steps: int, n_envs: int) -> None:
    assert r.n_steps == n_steps
    assert np.array_equal(np.bincount(r.env_index), budgets(n_steps, n_envs))
    last = r.last_index()
    ends = np.zeros(r.n_steps, dtype=bool)
    ends[last] = True
    # done flags only at an episode's last transition, and every episode ends with one
    assert not np.any((r.terminated | r.truncated) & ~ends)
    assert np.all(r.terminated[last] | r.truncated[last])
    # within an episode s_{t+1} is the next row's s_t
    inner = ~ends[:-1]
    np.testing.assert_array_equal(r.next_observations[:-1][inner], r.observations[1:][inner])
    # one environment's episodes are contiguous
    assert np.all(np.diff(r.env_index) >= 0)
    assert np.all(np.diff(r.episode) >= 0)


# ---------------------------------------------------------------------------- serial reference


def test_budgets_sum_exactly():
    for n, k in [(10, 1), (10, 3), (1001, 4), (7, 7)]:
        b = budgets(n, k)
        assert b.sum() == n and b.max() - b.min() <= 1
    with pytest.raises(ValueError, match="n_envs"):
        budgets(10, 0)


def test_serial_is_well_formed_cartpole():
    r = collect(cartpole_policy(), "CartPole-v1", 1003, seed=1, workers=3)
    assert_well_formed(r, 1003, 3)
    assert r.terminated.sum() > 3  # CartPole terminates quickly under a random-ish policy
    assert r.observations.shape == (1003, 4) and r.actions.shape == (1003,)
    np.testing.assert_array_equal(r.rewards, 1.0)


def test_serial_time_limit_truncation_pendulum():
    r = collect(deterministic(zero_torque), "Pendulum-v1", 450, seed=0, workers=2)
    assert_well_formed(r, 450, 2)
    np.testing.assert_array_equal(r.episode_lengths(), [200, 25, 200, 25])
    assert not r.terminated.any()
    np.testing.assert_array_equal(r.complete_episodes(), [True, False, True, False])
    # the true final state, never the reset state, is the last next observation
    first = r.last_index()[0]
    assert not np.allclose(r.next_observations[first], r.observations[first + 1])


def zero_torque(obs: np.ndarray) -> np.ndarray:
    return np.zeros((len(obs), 1))


def test_same_seed_identical_other_seed_different():
    a = collect(cartpole_policy(), "CartPole-v1", 600, seed=5, workers=2)
    b = collect(cartpole_policy(), "CartPole-v1", 600, seed=5, workers=2)
    c = collect(cartpole_policy(), "CartPole-v1", 600, seed=6, workers=2)
    assert_same(a, b)
    assert not np.array_equal(a.observations, c.observations)


def test_environments_get_distinct_seeds():
    seeds = {env_seed(0, i) for i in range(64)}
    assert len(seeds) == 64
    draws = {policy_rng(0, i).random() for i in range(64)}
    assert len(draws) == 64
    r = collect(cartpole_policy(), "CartPole-v1", 400, seed=0, workers=4)
    firsts = r.observations[np.unique(r.episode, return_index=True)[1]]
    assert len(np.unique(firsts, axis=0)) == len(firsts)


def test_episode_returns_and_lengths():
    r = Rollouts(
        observations=np.zeros((5, 1)), actions=np.zeros(5), rewards=np.array([1., 2., 3., 4., 5.]),
        next_observations=np.zeros((5, 1)), terminated=np.array([0, 1, 0, 0, 1], dtype=bool),
        truncated=np.zeros(5, dtype=bool), episode=np.array([0, 0, 1, 1, 1]))
    np.testing.assert_array_equal(r.episode_lengths(), [2, 3])
    np.testing.assert_allclose(r.episode_returns(), [3.0, 12.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.episode_returns(0.5), [1 + 1.0, 3 + 2.0 + 1.25], atol=1e-12)
    with pytest.raises(ValueError, match="non-decreasing"):
        Rollouts(np.zeros((2, 1)), np.zeros(2), np.zeros(2), np.zeros((2, 1)),
                 np.zeros(2, bool), np.zeros(2, bool), np.array([1, 0]))
    with pytest.raises(ValueError, match="rows"):
        Rollouts(np.zeros((3, 1)), np.zeros(2), np.zeros(2), np.zeros((2, 1)),
                 np.zeros(2, bool), np.zeros(2, bool), np.array([0, 0]))


# -------------------------------------------------------------------------- input validation


def test_bad_inputs_raise_clear_errors():
    pol = cartpole_policy()
    with pytest.raises(ValueError, match="unknown environment id"):
        collect(pol, "CartPol-v1", 10, 0)
    with pytest.raises(ValueError, match="unknown sampler"):
        collect(pol, "CartPole-v1", 10, 0, sampler="gpu")
    with pytest.raises(ValueError, match="n_steps"):
        collect(pol, "CartPole-v1", 3, 0, workers=4)
    with pytest.raises(ValueError, match="workers"):
        collect(pol, "CartPole-v1", 10, 0, workers=0)
    with pytest.raises(TypeError, match="picklable"):
        collect(deterministic(lambda o: np.zeros(len(o), int)), "CartPole-v1", 10, 0,
                sampler="fork")


def test_policy_returning_wrong_batch_size_is_an_error():
    with pytest.raises(ValueError, match="actions for a batch"):
        collect(deterministic(lambda o: np.zeros(len(o) + 1, int)), "CartPole-v1", 10, 0)


# --------------------------------------------------------------------- agreement of samplers


@pytest.mark.parametrize("sampler", ["threads", "sync_vector", "fork"])
@pytest.mark.parametrize("layout", [(2, 1), (2, 3)])
def test_samplers_equal_serial_exactly_with_numpy_policy(sampler, layout):
    workers, per = layout
    ref = collect(cartpole_policy(), "CartPole-v1", 1001, 3, workers=workers,
                  envs_per_worker=per)
    got = collect(cartpole_policy(), "CartPole-v1", 1001, 3, sampler=sampler, workers=workers,
                  envs_per_worker=per)
    assert_well_formed(got, 1001, workers * per)
    assert_same(ref, got)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["spawn", "forkserver", "async_vector"])
def test_slow_start_samplers_equal_serial(sampler):
    ref = collect(cartpole_policy(), "CartPole-v1", 500, 4, workers=2, envs_per_worker=2)
    got = collect(cartpole_policy(), "CartPole-v1", 500, 4, sampler=sampler, workers=2,
                  envs_per_worker=2)
    assert_same(ref, got)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["spawn", "forkserver", "async_vector"])
def test_spawned_workers_make_the_short_time_limit_cartpole(sampler):
    """rlcheck/CartPole-short-v1 (check_sampler's time-limit part) is registered in every
    process that imports rlcheck.sampling, spawned workers included."""
    from rlcheck.checks.sampling import reference_policy
    from rlcheck.sampling.core import SHORT_CARTPOLE_ID, SHORT_CARTPOLE_LIMIT

    ref = collect(reference_policy(), SHORT_CARTPOLE_ID, 300, 4, workers=2)
    got = collect(reference_policy(), SHORT_CARTPOLE_ID, 300, 4, sampler=sampler, workers=2)
    assert_same(ref, got)
    assert got.episode_lengths().max() == SHORT_CARTPOLE_LIMIT
    assert (got.truncated & ~got.terminated).sum() > 2  # time-limit cuts beyond the budget


@pytest.mark.parametrize("sampler", ["threads", "sync_vector", "fork"])
def test_batched_torch_inference_agrees_up_to_float_details(sampler):
    policy = policy_from_module(GaussianMLP(3, 1))
    ref = collect(policy, "Pendulum-v1", 600, 2, workers=2, envs_per_worker=2)
    got = collect(policy, "Pendulum-v1", 600, 2, sampler=sampler, workers=2, envs_per_worker=2)
    # float32 matmuls at batch 1 vs batch 2 may differ in the last bits; noise is per-env
    assert_same(ref, got, atol=1e-4)


def test_module_policy_noise_is_batch_independent():
    policy = policy_from_module(GaussianMLP(3, 2))
    obs = np.random.default_rng(0).normal(size=(4, 3))
    rows = policy.act_rows(obs, [np.random.default_rng(i) for i in range(4)])
    single = np.concatenate([policy(obs[i:i + 1], np.random.default_rng(i)) for i in range(4)])
    np.testing.assert_allclose(rows, single, atol=1e-6)
    det = policy_from_module(GaussianMLP(3, 2), deterministic=True)
    np.testing.assert_array_equal(det(obs, np.random.default_rng(0)),
                                  det(obs, np.random.default_rng(1)))


def test_linear_softmax_matches_its_probabilities():
    policy = cartpole_policy(3)
    obs = np.tile(np.array([[0.1, -0.2, 0.3, 0.05]]), (20000, 1))
    actions = policy(obs, np.random.default_rng(0))
    p = policy.probabilities(obs[:1])[0, 1]
    # binomial proportion within 5 standard errors (false-failure probability < 1e-6)
    assert abs(actions.mean() - p) < 5 * np.sqrt(p * (1 - p) / len(obs))


# ------------------------------------------------------------------- failures and interrupts


def test_fork_refused_once_cuda_is_initialised(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.raises(RuntimeError, match="CUDA is already initialised"):
        collect(cartpole_policy(), "CartPole-v1", 10, 0, sampler="fork", workers=2)
    with pytest.raises(RuntimeError, match="spawn"):
        WorkerPool("CartPole-v1", 1, start_method="fork")


def test_worker_exception_surfaces_with_its_traceback():
    with pytest.raises(WorkerError, match="planted policy failure"):
        collect(RaisingPolicy(), "CartPole-v1", 100, 0, sampler="fork", workers=2)


def test_dead_worker_is_reported_with_exit_code():
    with pytest.raises(WorkerError, match="exit code 3"):
        collect(ExitingPolicy(), "CartPole-v1", 100, 0, sampler="fork", workers=2, timeout=20)


def test_hung_worker_times_out_and_is_terminated():
    pool = WorkerPool("CartPole-v1", 2, start_method="fork", timeout=1.0)
    start = time.monotonic()
    with pytest.raises(WorkerError, match="hung"):
        pool.collect(SleepingPolicy(), 100, 0)
    assert time.monotonic() - start < 10
    assert not any(p.is_alive() for p in pool._procs)


def test_keyboard_interrupt_terminates_workers():
    pool = WorkerPool("CartPole-v1", 2, start_method="fork")

    def interrupt(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pool.collect(cartpole_policy(), 5000, 0, progress=interrupt)
    assert not any(p.is_alive() for p in pool._procs)
    with pytest.raises(RuntimeError, match="closed"):
        pool.collect(cartpole_policy(), 10, 0)


def test_persistent_pool_reuses_workers_and_stays_reproducible():
    with WorkerPool("CartPole-v1", 2, envs_per_worker=2, start_method="fork") as pool:
        pids = [p.pid for p in pool._procs]
        a = pool.collect(cartpole_policy(), 800, 9)
        b = pool.collect(cartpole_policy(), 800, 9)
        assert [p.pid for p in pool._procs] == pids
    assert_same(a, b)
    assert_same(a, collect(cartpole_policy(), "CartPole-v1", 800, 9, workers=2,
                           envs_per_worker=2))


def test_thread_failure_surfaces():
    with pytest.raises(WorkerError, match="planted policy failure"):
        collect(RaisingPolicy(), "CartPole-v1", 100, 0, sampler="threads", workers=2)


def test_progress_counts_every_transition():
    for sampler in ("serial", "threads", "fork", "sync_vector"):
        counts: list[int] = []
        collect(cartpole_policy(), "CartPole-v1", 1500, 0, sampler=sampler, workers=2,
                progress=counts.append)
        assert sum(counts) == 1500, sampler


def test_sampler_names_are_documented():
    assert set(SAMPLERS) == {"serial", "threads", "spawn", "forkserver", "fork", "sync_vector",
                             "async_vector"}


# ---------------------------------------------------------------------------------- MuJoCo


class LinearTanh:
    """A deterministic numpy policy whose rows do not depend on the batch.

    (``obs @ w`` would not do: BLAS sums in a different order at batch 1 (gemv) and batch 2
    (gemm), a last-bit difference that Ant's dynamics amplify.)
    """

    def __init__(self, obs_dim: int, act_dim: int) -> None:
        self.w = np.random.default_rng(0).normal(0, 0.1, (obs_dim, act_dim))

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.tanh((obs[:, :, None] * self.w).sum(axis=1))


@pytest.mark.mujoco
@pytest.mark.slow
def test_ant_processes_match_serial():
    ref = collect(deterministic(LinearTanh(105, 8)), "Ant-v5", 300, 0, workers=2,
                  envs_per_worker=2)
    got = collect(deterministic(LinearTanh(105, 8)), "Ant-v5", 300, 0, sampler="forkserver",
                  workers=2, envs_per_worker=2)
    assert_well_formed(got, 300, 4)
    assert_same(ref, got)  # exact: same seeds, same per-row computation
    # a float32 torch MLP at batch 1 vs batch 2 differs in the last bits, and Ant's contact
    # dynamics amplify that over ~100 steps; the first steps of every environment agree closely
    policy = policy_from_module(GaussianMLP(105, 8))
    ref = collect(policy, "Ant-v5", 200, 0, workers=2, envs_per_worker=2)
    got = collect(policy, "Ant-v5", 200, 0, sampler="sync_vector", workers=2, envs_per_worker=2)
    np.testing.assert_array_equal(ref.env_index, got.env_index)
    for i in range(4):
        rows = np.flatnonzero(ref.env_index == i)[:10]
        np.testing.assert_allclose(ref.observations[rows], got.observations[rows], atol=1e-4)


# ------------------------------------------------------------------------------- benchmark


@pytest.mark.slow
def test_benchmark_writes_the_documented_columns(tmp_path):
    import csv

    from rlcheck.bench import throughput

    out = tmp_path / "throughput.csv"
    rows = throughput.run("quick", out, envs=["Pendulum-v1"], n_steps=256, repeats=1,
                         include_envpool=False)
    with out.open() as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == throughput.COLUMNS
        written = list(reader)
    grid = throughput.configs("Pendulum-v1", "quick", envpool=False, threads=1)
    assert len(written) == len(rows) == len({(c.sampler, c.workers, c.envs_per_worker)
                                             for c in grid})
    samplers = {r["sampler"] for r in rows}
    assert {throughput.ONESHOT, throughput.REUSED, "gym_async", "sb3_subproc",
            "sb3_dummy"} <= samplers  # one-shot collect and the peers, in the same run
    base = [r for r in rows if r["sampler"] == throughput.BASELINE]
    assert base[0]["speedup_vs_serial"] == 1.0
    assert all(r["steps_per_s"] > 0 and r["cpu_cores"] >= 0 for r in rows)
    assert (tmp_path / "throughput_repeats.csv").exists()
    assert "loadavg_start" in (tmp_path / "throughput_meta.json").read_text()


def test_benchmark_grid_has_baseline_first_and_ceiling():
    from rlcheck.bench import throughput

    for tier in ("quick", "full"):
        grid = throughput.configs("Ant-v5", tier, envpool=True, threads=2)
        assert grid[0] == throughput.Config("Ant-v5", throughput.BASELINE, 1, 1, 2)
        assert {c.workers for c in grid if c.sampler == throughput.CEILING} == {1, 2}
    cheap = throughput.configs(throughput.CHEAP_ENV, "full", envpool=False, threads=2)
    assert not any(c.sampler == throughput.CEILING for c in cheap)
    with pytest.raises(ValueError, match="tier"):
        throughput.run("medium", "x.csv")


def test_gaussian_fast_path_equals_the_distribution():
    from rlcheck.distributions import GaussianPolicy
    from rlcheck.sampling.policies import gaussian_parts

    torch.manual_seed(1)
    module = GaussianPolicy(5, 3, log_std_init=-0.7)
    assert gaussian_parts(module) is not None
    obs = np.random.default_rng(0).normal(size=(6, 5))
    fast = policy_from_module(module).act_rows(obs, [np.random.default_rng(i) for i in range(6)])
    with torch.no_grad():
        dist = module(torch.as_tensor(obs, dtype=torch.float32))
    z = np.stack([np.random.default_rng(i).standard_normal(3) for i in range(6)])
    slow = dist.mean.numpy().astype(np.float64) + dist.stddev.numpy().astype(np.float64) * z
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-6)
    assert gaussian_parts(GaussianMLP(5, 3)) is None  # no mean_net: the distribution path


def test_thread_switch_interval_is_restored_and_data_unchanged():
    import sys

    from rlcheck.sampling import collect_threads

    before = sys.getswitchinterval()
    ref = collect(cartpole_policy(), "CartPole-v1", 400, 1, workers=2)
    got = collect_threads(cartpole_policy(), "CartPole-v1", 400, 1, workers=2,
                          switch_interval=5e-4)
    assert sys.getswitchinterval() == before
    assert_same(ref, got)


CTRL_C_SCRIPT = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from rlcheck.sampling import LinearSoftmaxPolicy, WorkerPool
if __name__ == "__main__":
    pool = WorkerPool("CartPole-v1", 2, start_method="fork")
    print(*[p.pid for p in pool._procs], flush=True)
    pool.collect(LinearSoftmaxPolicy(np.zeros((4, 2)), np.zeros(2)), 10_000_000, 0)
"""


@pytest.mark.slow
def test_ctrl_c_stops_the_parent_and_every_worker(tmp_path):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_SCRIPT)
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": root})
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the foreground group
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    time.sleep(0.5)
    for pid in pids:  # workers were terminated, not orphaned
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_module_policy_runs_in_the_module_dtype() -> None:
    """A float64 policy (``.double()``) must not be fed float32 observations."""
    from rlcheck.distributions import GaussianPolicy
    from rlcheck.sampling import policy_from_module

    for module in (GaussianPolicy(3, 2), GaussianPolicy(3, 2).double()):
        actions = policy_from_module(module)(np.zeros((4, 3)), np.random.default_rng(0))
        assert actions.shape == (4, 2) and np.isfinite(actions).all()


# ------------------------------------------------------------------- reusing worker processes


def _cached_pids() -> list[int]:
    from rlcheck.sampling import reuse

    sampler = reuse._cached.get("sampler")
    if sampler is None:
        return []
    procs = getattr(sampler, "_procs", None) or getattr(sampler.venv, "processes", [])
    return [p.pid for p in procs]


@pytest.mark.parametrize("sampler", ["fork", "async_vector"])
def test_collect_reuses_its_workers_with_the_same_data(sampler):
    from rlcheck.sampling import close_cached_samplers

    close_cached_samplers()
    try:
        first = collect(cartpole_policy(), "CartPole-v1", 300, 1, sampler=sampler, workers=2)
        pids = _cached_pids()
        second = collect(cartpole_policy(), "CartPole-v1", 300, 1, sampler=sampler, workers=2)
        assert _cached_pids() == pids and len(pids) == 2
        fresh = collect(cartpole_policy(), "CartPole-v1", 300, 1, sampler=sampler, workers=2,
                        reuse=False)
        assert _cached_pids() == pids
        assert_same(first, second)
        assert_same(first, fresh)
        # another configuration replaces (and closes) the cached workers
        collect(cartpole_policy(), "CartPole-v1", 300, 1, sampler=sampler, workers=3)
        assert len(_cached_pids()) == 3
        time.sleep(0.2)
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        close_cached_samplers()
    assert _cached_pids() == []


def test_a_failing_cached_pool_is_dropped():
    from rlcheck.sampling import close_cached_samplers, reuse

    close_cached_samplers()
    with pytest.raises(WorkerError, match="planted policy failure"):
        collect(RaisingPolicy(), "CartPole-v1", 100, 0, sampler="fork", workers=2)
    assert not reuse._cached
    good = collect(cartpole_policy(), "CartPole-v1", 100, 0, sampler="fork", workers=2)
    assert good.n_steps == 100
    close_cached_samplers()


def test_benchmark_summary_names_best_sampler_oneshot_peers_and_ceiling():
    from rlcheck.bench import throughput

    def row(sampler, workers, k, ratio):
        return {"env": "Ant-v5", "sampler": sampler, "workers": workers, "envs_per_worker": k,
                "torch_threads": 1, "steps_per_s": 1000 * ratio, "speedup_vs_serial": ratio,
                "cpu_cores": 1.0}

    text = throughput.summarise_ratios([
        row("serial_loop", 1, 1, 1.0), row("forkserver", 2, 8, 1.7), row("threads", 2, 1, 0.5),
        row("collect_oneshot", 2, 8, 0.4), row("collect", 2, 8, 1.6),
        row("sb3_subproc", 2, 1, 0.3), row("sb3_dummy", 1, 8, 0.9), row("gym_async", 2, 1, 0.3),
        row("mujoco_rollout", 2, 1, 3.5)])
    assert "best rlcheck sampler forkserver 2x8 (1.70x serial" in text
    for what in ("one-shot collect (reuse=False): collect_oneshot 2x8 (0.40x",
                 "SB3 SubprocVecEnv", "SB3 DummyVecEnv", "gymnasium AsyncVectorEnv",
                 "physics ceiling mujoco.rollout: mujoco_rollout 2x1 (3.50x"):
        assert what in text
