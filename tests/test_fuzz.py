"""Fuzzing the public constructors and check arguments: every bad input is a ``ValueError`` or a
``TypeError`` whose message names the argument, raised before any work starts.

Each test replaces one argument of a valid call with a value drawn from the bad values of its
kind (a count, a rate, a choice, a function, a generator, an array). The functions handed to
the checks raise ``AssertionError`` if called, so a bad value that slips through validation
fails the test at once instead of running a check. Example counts are bounded so the file runs
in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlcheck.checks import (
    check_bc_loss,
    check_bellman_backup,
    check_dagger,
    check_fitted_q_iteration,
    check_pg_weights,
    check_sampler,
    check_td_targets,
)
from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP, random_mdp
from rlcheck.sampling import VectorSampler, WorkerPool, collect

FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

not_numbers = st.one_of(st.none(), st.booleans(), st.text(max_size=4), st.complex_numbers(),
                        st.lists(st.integers(), max_size=2), st.just(b"1"), st.just({}))
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])


def bad_counts(minimum: int) -> st.SearchStrategy[Any]:
    """Not an integer ``>= minimum``: wrong types, fractions, non-finite, too small."""
    fractions = st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda x: x != int(x) if math.isfinite(x) else True)
    return st.one_of(not_numbers, non_finite, fractions,
                     st.integers(max_value=minimum - 1))


def bad_rates(low: float, high: float, open_interval: bool = True) -> st.SearchStrategy[Any]:
    """Not a real number in ``(low, high)`` (or ``[low, high]``)."""
    outside = st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda x: not (low < x < high) if open_interval else not (low <= x <= high))
    return st.one_of(not_numbers, st.just(math.nan), outside)


bad_seeds = st.one_of(not_numbers, non_finite, st.integers(max_value=-1),
                      st.just(0.5), st.just(-2.0))
bad_functions = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.none()))
bad_choices = st.one_of(st.none(), st.integers(), st.text(max_size=6).filter(
    lambda s: s not in {"dqn", "double_dqn", "n_step", "soft", "discounted", "causal",
                        "unbiased", "direction", "independent", "normal", "serial",
                        "threads", "spawn", "forkserver", "fork", "sync_vector",
                        "async_vector"}))


def never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("validation let a bad argument through to the user's function")


def assert_names(call: Callable[[], Any], name: str) -> None:
    """``call()`` raises ValueError or TypeError mentioning ``name``."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert name.split(".")[-1] in str(info.value), (name, str(info.value))


# ----------------------------------------------------------------------------- constructors


def _mdp_arrays() -> dict[str, Any]:
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    return {"P": P, "R": np.zeros((2, 2)), "init": np.array([0.5, 0.5]), "gamma": 0.9,
            "horizon": 3}


bad_arrays = st.one_of(
    st.none(), st.text(max_size=3), st.just(np.zeros((2, 2, 2)) + 1j), st.just([[1, 2], [3]]),
    st.just(np.array([["a"]])), st.just(np.full((2, 2, 2), np.nan)), st.just(np.zeros(3)),
    st.just(-np.ones((2, 2, 2))), st.just(np.zeros((2, 2, 2), dtype=object)))


@FUZZ
@given(which=st.sampled_from(["P", "R", "init", "gamma", "horizon"]), data=st.data())
def test_tabular_mdp(which: str, data: st.DataObject) -> None:
    kwargs = _mdp_arrays()
    strategy = {"gamma": bad_rates(0.0, 1.0, open_interval=False),
                "horizon": bad_counts(1)}.get(which, bad_arrays)
    kwargs[which] = data.draw(strategy)
    if which == "R" and isinstance(kwargs["R"], np.ndarray) and kwargs["R"].shape == (2, 2, 2) \
            and np.isrealobj(kwargs["R"]) and kwargs["R"].dtype != object:
        kwargs["R"] = kwargs["R"][None]  # a valid-looking R of the wrong rank
    if which == "init" and isinstance(kwargs["init"], np.ndarray) and kwargs["init"].shape == (3,):
        pass  # wrong length: named as "init"
    assert_names(lambda: TabularMDP(**kwargs), which)


@FUZZ
@given(which=st.sampled_from(["n_states", "n_actions", "horizon", "gamma", "rng",
                              "reward_scale"]), data=st.data())
def test_random_mdp(which: str, data: st.DataObject) -> None:
    kwargs: dict[str, Any] = {"n_states": 3, "n_actions": 2, "horizon": 4, "gamma": 0.9,
                              "rng": np.random.default_rng(0), "reward_scale": 1.0}
    kwargs[which] = data.draw({"gamma": bad_rates(0.0, 1.0, open_interval=False),
                               "rng": st.one_of(not_numbers, st.integers()),
                               "reward_scale": st.one_of(not_numbers, non_finite,
                                                         st.floats(max_value=0.0))
                               }.get(which, bad_counts(1)))
    assert_names(lambda: random_mdp(**kwargs), which)


@FUZZ
@given(which=st.sampled_from(["probs", "n", "rng"]), data=st.data())
def test_episode_sampler(which: str, data: st.DataObject) -> None:
    mdp = random_mdp(2, 2, 3, 0.9, np.random.default_rng(0))
    kwargs: dict[str, Any] = {"probs": np.full((2, 2), 0.5), "n": 5,
                              "rng": np.random.default_rng(0)}
    kwargs[which] = data.draw({"probs": bad_arrays, "rng": st.one_of(not_numbers, st.integers())
                               }.get(which, bad_counts(1)))
    name = "policy" if which == "probs" else which
    assert_names(lambda: sample(mdp, **kwargs), name)


SAMPLER_ARGS = {"n_steps": bad_counts(4), "seed": bad_seeds, "workers": bad_counts(1),
                "envs_per_worker": bad_counts(1), "timeout": bad_rates(0.0, math.inf),
                "worker_threads": st.one_of(st.booleans(), st.text(max_size=2), st.just(0),
                                            st.just(1.5), non_finite),
                "sampler": bad_choices, "env_id": st.one_of(st.none(), st.integers(),
                                                            st.just("NoSuchEnv-v0")),
                "env_kwargs": st.one_of(st.integers(), st.text(max_size=2), st.just([1])),
                "policy": bad_functions}


@FUZZ
@given(which=st.sampled_from(sorted(SAMPLER_ARGS)), data=st.data())
def test_collect(which: str, data: st.DataObject) -> None:
    kwargs: dict[str, Any] = {"policy": never, "env_id": "CartPole-v1", "n_steps": 8,
                              "seed": 0, "sampler": "fork", "workers": 2, "envs_per_worker": 2,
                              "timeout": 5.0, "worker_threads": 1, "env_kwargs": None}
    kwargs[which] = data.draw(SAMPLER_ARGS[which])
    if which == "n_steps" and isinstance(kwargs["n_steps"], int) \
            and not isinstance(kwargs["n_steps"], bool):
        kwargs["n_steps"] = min(kwargs["n_steps"], 3)
    name = "env_id" if which == "env_id" else which
    assert_names(lambda: collect(**kwargs), name)


@FUZZ
@given(which=st.sampled_from(["workers", "envs_per_worker", "timeout", "worker_threads",
                              "start_method", "env_id", "env_kwargs"]), data=st.data())
def test_worker_pool(which: str, data: st.DataObject) -> None:
    kwargs: dict[str, Any] = {"env_id": "CartPole-v1", "workers": 1, "envs_per_worker": 1,
                              "start_method": "fork", "timeout": 5.0, "worker_threads": 1,
                              "env_kwargs": None}
    kwargs[which] = data.draw({"start_method": bad_choices}.get(which, SAMPLER_ARGS.get(which)))
    assert_names(lambda: WorkerPool(**kwargs), which)


@FUZZ
@given(which=st.sampled_from(["n_envs", "timeout", "env_kwargs"]), data=st.data())
def test_vector_sampler(which: str, data: st.DataObject) -> None:
    kwargs: dict[str, Any] = {"env_id": "CartPole-v1", "n_envs": 1, "timeout": 5.0,
                              "env_kwargs": None}
    kwargs[which] = data.draw(SAMPLER_ARGS.get(which, bad_counts(1)))
    name = "workers" if which == "n_envs" else which  # n_envs is the vector sampler's workers
    assert_names(lambda: VectorSampler(**kwargs), name)


def test_samplers_validate_collection_arguments() -> None:
    with WorkerPool("CartPole-v1", 1, start_method="fork") as pool:
        assert_names(lambda: pool.collect(never, 10.5, 0), "n_steps")
        assert_names(lambda: pool.collect(never, 10, -1), "seed")
    with VectorSampler("CartPole-v1", 2) as vector:
        assert_names(lambda: vector.collect(never, 1, 0), "n_steps")
        assert_names(lambda: vector.collect(never, 10, "0"), "seed")


# ----------------------------------------------------------------------------- checks

CHECKS: dict[str, tuple[Callable[..., Any], dict[str, Any], dict[str, Any]]] = {
    # name: (check, valid keyword arguments, bad-value strategy per argument)
    "check_sampler": (check_sampler, {"alpha": 1e-3, "seed": 0, "n_steps": 600},
                      {"alpha": bad_rates(0, 1), "seed": bad_seeds, "n_steps": bad_counts(500)}),
    "check_pg_weights": (check_pg_weights, {"alpha": 1e-3, "seed": 0, "n_episodes": 100,
                                            "target": "discounted", "mode": "unbiased"},
                         {"alpha": bad_rates(0, 1), "seed": bad_seeds,
                          "n_episodes": bad_counts(10), "target": bad_choices,
                          "mode": bad_choices}),
    "check_bc_loss": (check_bc_loss, {"alpha": 1e-3, "seed": 0, "n_batches": 300,
                                      "batch_size": 8, "batch_factor": 4,
                                      "distribution": "independent"},
                      {"alpha": bad_rates(0, 1), "seed": bad_seeds, "n_batches": bad_counts(6),
                       "batch_size": bad_counts(1), "batch_factor": bad_counts(2),
                       "distribution": bad_choices}),
    "check_dagger": (check_dagger, {"alpha": 1e-3, "seed": 0, "n_iterations": 4,
                                    "n_trajectories": 50, "horizon": 10, "epsilon": 0.05},
                     {"alpha": bad_rates(0, 1), "seed": bad_seeds,
                      "n_iterations": bad_counts(2), "n_trajectories": bad_counts(1),
                      "horizon": bad_counts(2), "epsilon": bad_rates(0, 1, False)}),
    "check_bellman_backup": (check_bellman_backup, {"alpha": 1e-3, "seed": 0},
                             {"alpha": bad_rates(0, 1), "seed": bad_seeds}),
    "check_fitted_q_iteration": (check_fitted_q_iteration, {"alpha": 1e-3, "seed": 0},
                                 {"alpha": bad_rates(0, 1), "seed": bad_seeds}),
    "check_td_targets": (check_td_targets, {"alpha": 1e-3, "seed": 0, "kind": "dqn"},
                         {"alpha": bad_rates(0, 1), "seed": bad_seeds, "kind": bad_choices}),
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_check_functions_must_be_callable(name: str) -> None:
    check, kwargs, _ = CHECKS[name]
    for bad in (None, 3, "f"):
        with pytest.raises((TypeError, ValueError), match="must be callable"):
            check(bad, **kwargs)


@FUZZ
@given(case=st.sampled_from([(name, arg) for name, (_, _, bad) in sorted(CHECKS.items())
                             for arg in sorted(bad)]), data=st.data())
def test_check_arguments(case: tuple[str, str], data: st.DataObject) -> None:
    name, arg = case
    check, kwargs, bad = CHECKS[name]
    kwargs = {**kwargs, arg: data.draw(bad[arg])}
    assert_names(lambda: check(never, **kwargs), arg)
