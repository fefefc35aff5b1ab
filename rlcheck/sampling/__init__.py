"""Trajectory sampling: one ``collect`` interface over serial, threaded, process and vector samplers.

>>> from rlcheck.sampling import collect, deterministic
>>> import numpy as np
>>> batch = collect(deterministic(lambda obs: np.zeros((len(obs), 1))), "Pendulum-v1", 400, seed=0)
>>> batch.n_steps
400
"""

from rlcheck.sampling.policies import (
    DeterministicPolicy,
    LinearSoftmaxPolicy,
    ModulePolicy,
    Policy,
    act_batch,
    deterministic,
    policy_from_module,
)
from rlcheck.sampling.reuse import close_cached_samplers
from rlcheck.sampling.rollouts import Rollouts, concatenate
from rlcheck.sampling.samplers import (
    SAMPLERS,
    VectorSampler,
    collect,
    collect_serial,
    collect_threads,
    collect_vector,
)
from rlcheck.sampling.workers import START_METHODS, WorkerError, WorkerPool, cuda_initialized

__all__ = [
    "SAMPLERS",
    "START_METHODS",
    "DeterministicPolicy",
    "LinearSoftmaxPolicy",
    "ModulePolicy",
    "Policy",
    "Rollouts",
    "VectorSampler",
    "WorkerError",
    "WorkerPool",
    "act_batch",
    "close_cached_samplers",
    "collect",
    "collect_serial",
    "collect_threads",
    "collect_vector",
    "concatenate",
    "cuda_initialized",
    "deterministic",
    "policy_from_module",
]
