"""GIL probes: the controls read as they must, the arithmetic is exact, threads are restored.

These assert what a probe concludes (holds or releases), never how fast anything runs.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch

from rlcheck.bench import gil


def test_long_call_controls_are_classified_correctly():
    hold = gil.long_call("sum", gil._scaled(lambda k: sum(range(k)), 1 << 14, 0.1), repeats=3)
    data = np.random.default_rng(0).bytes(1 << 20)
    release = gil.long_call("hash", gil._scaled(lambda k: hashlib.sha256(data * k).digest(), 1,
                                                0.1), repeats=3)
    # the builtin sum never releases the GIL: the counter only runs before the call starts
    assert not hold.releases_gil and hold.counter_share < gil.LONG_CALL_THRESHOLD
    assert release.releases_gil
    assert hold.call_seconds > 0 and release.repeats == 3


@pytest.mark.mujoco
@pytest.mark.slow
def test_mj_step_releases_the_gil():
    results = {r.name: r for r in gil.long_calls(target_seconds=0.1, repeats=3)}
    assert results["mujoco.mj_step (Ant)"].releases_gil
    assert not results["hold control (builtin sum over range)"].releases_gil
    assert results["torch MLP forward (one large batch, 1 thread)"].releases_gil


def test_measure_all_places_controls_at_zero_and_one_and_restores_threads():
    before = torch.get_num_threads()
    data = np.random.default_rng(0).bytes(1 << 18)
    workloads = {"hold": gil.python_workload(),
                 "release": lambda: hashlib.sha256(data).digest(),
                 "torch": gil.torch_workload(batch=4, threads=1)}
    res = {r.name: r for r in gil.measure_all(workloads, seconds=0.05, repeats=2, hold="hold",
                                               release="release", progress=False)}
    assert torch.get_num_threads() == before
    for r in res.values():
        assert math.isfinite(r.counter_share) and r.counter_share > 0
        assert math.isfinite(r.workload_share) and r.calls_per_s_alone > 0
    # gil_free is (s - s_hold) / (s_release - s_hold) per round: exactly 0 and 1 for the
    # controls whenever the controls separate in a round
    if math.isfinite(res["hold"].gil_free):
        assert res["hold"].gil_free == pytest.approx(0.0, abs=1e-12)
        assert res["release"].gil_free == pytest.approx(1.0, abs=1e-12)


def test_measure_single_workload_has_no_gil_free():
    r = gil.measure("python", gil.python_workload(), seconds=0.05, repeats=1)
    assert math.isnan(r.gil_free) and r.repeats == 1
    with pytest.raises(ValueError, match="seconds"):
        gil.measure("python", gil.python_workload(), seconds=0.0)


def test_scaled_workload_grows_until_target():
    calls: list[int] = []

    def fn(k: int) -> None:
        calls.append(k)
        sum(range(k))

    gil._scaled(fn, 1, 0.02)
    assert calls == sorted(calls) and calls[-1] > 1


def test_torch_workload_sets_its_thread_count_per_call():
    before = torch.get_num_threads()
    try:
        gil.torch_workload(batch=2, threads=1)()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
