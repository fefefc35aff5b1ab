"""The CS285 expert policies and expert data in numpy, read from checked, safely parsed files.

The course ships its experts (``berkeleydeeprlcourse/homework_fall2023``, ``hw1/cs285``, MIT
licence) as Python pickles of nested dicts of numpy arrays, parsed here without running them
(:mod:`rlcheck.experts.safe_pickle`) from the very bytes whose sha256 was checked
(:mod:`rlcheck.experts.download`). A tree of another layout (missing keys, misnamed layers,
non-numeric, complex or non-finite weights, sizes that do not chain) is an
:class:`~rlcheck.experts.safe_pickle.ExpertFileError` naming the place in the tree.

An expert is a Gaussian MLP whose deterministic (mean) action is::

    z = (s - m) / (sigma + 1e-6),    sigma = sqrt(max(0, E[s²] - m²)),
    h_0 = z,   h_{k+1} = tanh(h_k W_k + b_k),   a = h_K W_out + b_out,

with the observation normaliser ``(m, E[s²])`` and the weights ``W_k`` (stored in x out) read
from the file (:class:`ExpertPolicy`, float64 numpy). Two mismatches between the experts and the
gymnasium ``-v4`` environments are handled explicitly and recorded on the :class:`Expert`:

* Ant-v4 observations have 27 entries, the Ant expert expects 111 (it was trained with the
  contact forces of gym's Ant-v2): the observation is zero-padded to 111, as the course does.
* The Humanoid expert's normaliser has dimensions with training std below ``1e-4``; body masses
  among them differ in the Humanoid-v4 model compiled by current MuJoCo, so ``(s - m) / 1e-6``
  saturates the network and the expert falls. :func:`load_expert` detects this from an
  environment observation and warns (:class:`NormaliserMismatchWarning`) naming the
  dimensions; ``hold_at_training_mean=True`` opts into holding the near-constant dimensions at
  their training mean, so that they normalise to 0 as in training.

Longer than 400 lines because the expert's file layout, its network and the two documented
mismatches with the ``-v4`` environments are one contract, read and checked in one place.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlcheck.experts.download import data_file, fetch, policy_file, read_verified
from rlcheck.experts.safe_pickle import ExpertFileError, safe_load

__all__ = [
    "MISMATCH_Z",
    "NEAR_CONSTANT_STD",
    "Expert",
    "ExpertPolicy",
    "NormaliserMismatchWarning",
    "load_expert",
    "load_expert_data",
    "load_policy",
    "near_constant_dims",
    "normaliser_mismatch",
]

_ZERO_PADDED: dict[str, tuple[int, int]] = {"Ant-v4": (27, 111)}
"""Environments whose observation the course zero-pads to the expert's size: (env, expert)."""

NEAR_CONSTANT_STD = 1e-4
"""A normaliser dimension with training std below this is treated as constant in training."""

MISMATCH_Z = 10.0
"""A near-constant dimension is mismatched when ``|s - m| / (sigma + 1e-6)`` exceeds this."""


class NormaliserMismatchWarning(UserWarning):
    """An environment observation lies far outside an expert's near-constant normaliser dims."""


# --------------------------------------------------------------------------------------------
# The expert policy


_NONLINEARITIES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "lrelu": lambda x: np.where(x > 0, x, 0.01 * x),
}


def _where(where: str) -> str:
    return where or "top level"


def _get(tree: Any, key: str, source: str, where: str) -> Any:
    if not isinstance(tree, Mapping):
        raise ExpertFileError(f"{source}: expected a dict at {_where(where)}, got "
                              f"{type(tree).__name__}")
    if key not in tree:
        raise ExpertFileError(f"{source}: expected key {key!r} at {_where(where)}")
    return tree[key]


def _real_array(value: Any, source: str, where: str, *, keep_dtype: bool = False) -> np.ndarray:
    """``value`` as a float64 array (or in its own dtype with ``keep_dtype``);
    ``ExpertFileError`` unless it holds real numbers."""
    if isinstance(value, bool) or not isinstance(value, np.ndarray | np.generic | int | float):
        raise ExpertFileError(f"{source}: {where} must be a numeric array, got "
                              f"{type(value).__name__}")
    array = np.asarray(value)
    if array.dtype.kind == "c":
        raise ExpertFileError(f"{source}: {where} has complex values (dtype {array.dtype}); "
                              "expert parameters are real")
    if array.dtype.kind not in "biuf":
        raise ExpertFileError(f"{source}: {where} must be numeric, got dtype {array.dtype}")
    return array if keep_dtype else array.astype(np.float64)


def _affine(layer: Any, source: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    affine = _get(layer, "AffineLayer", source, where)
    w = _real_array(_get(affine, "W", source, where + "/AffineLayer"), source,
                    where + "/AffineLayer/W")
    b = _real_array(_get(affine, "b", source, where + "/AffineLayer"), source,
                    where + "/AffineLayer/b")
    if w.ndim != 2 or b.size != w.shape[1]:
        raise ExpertFileError(f"{source}: {where} has W of shape {w.shape} and b of shape "
                              f"{b.shape}; expected [in, out] and [1, out]")
    return w, b.reshape(-1)


def _layer_index(key: Any, source: str) -> int:
    """``n`` of a hidden layer named ``layer_<n>``."""
    text = str(key) if isinstance(key, str) else ""
    prefix, _, number = text.rpartition("_")
    if not prefix or not number.isdigit():
        raise ExpertFileError(f"{source}: hidden layer name {key!r:.60} is not of the form "
                              "'layer_<n>'")
    return int(number)


@dataclass(frozen=True, eq=False)
class ExpertPolicy:
    """A CS285 expert: normaliser, tanh MLP and output layer, evaluated in float64 numpy.

    Calling it maps observations ``[B, obs_dim]`` to mean actions ``[B, act_dim]`` (a single
    observation ``[obs_dim]`` gives ``[act_dim]``):
    ``a = tanh(...tanh(z W_0 + b_0)...) W_out + b_out`` with ``z = (s - m) / (sigma + 1e-6)``.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    obs_mean: np.ndarray
    obs_std: np.ndarray
    log_std: np.ndarray
    nonlinearity: str = "tanh"
    source: str = ""

    @property
    def obs_dim(self) -> int:
        return int(self.obs_mean.shape[0])

    @property
    def act_dim(self) -> int:
        return int(self.biases[-1].shape[0])

    def normalise(self, obs: np.ndarray) -> np.ndarray:
        """``(s - m) / (sigma + 1e-6)`` for observations ``[B, obs_dim]``."""
        return (obs - self.obs_mean) / (self.obs_std + 1e-6)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float64)
        single = x.ndim == 1
        if single:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.obs_dim:
            raise ValueError(f"the expert {self.source or ''} expects observations of shape "
                             f"[B, {self.obs_dim}], got {tuple(np.shape(obs))}; use "
                             "load_expert(env_id) for an environment whose observations differ")
        if not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(f"observations contain a non-finite value ({x[tuple(bad)]}) at "
                             f"index {tuple(int(i) for i in bad)}; the expert's actions "
                             "would be NaN")
        act = _NONLINEARITIES[self.nonlinearity]
        h = self.normalise(x)
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = act(h @ w + b)
        out = h @ self.weights[-1] + self.biases[-1]
        return out[0] if single else out


def _policy_from_tree(tree: Any, source: str) -> ExpertPolicy:
    nonlin = _get(tree, "nonlin_type", source, "")
    if not isinstance(nonlin, str) or nonlin not in _NONLINEARITIES:
        raise ExpertFileError(f"{source}: unknown nonlin_type {nonlin!r:.60}; known: "
                              f"{', '.join(_NONLINEARITIES)}")
    params = _get(tree, "GaussianPolicy", source, "")
    norm = _get(_get(params, "obsnorm", source, "GaussianPolicy"), "Standardizer", source,
                "GaussianPolicy/obsnorm")
    where = "GaussianPolicy/obsnorm/Standardizer"
    mean = _real_array(_get(norm, "mean_1_D", source, where), source,
                       where + "/mean_1_D").reshape(-1)
    meansq = _real_array(_get(norm, "meansq_1_D", source, where), source,
                         where + "/meansq_1_D").reshape(-1)
    if mean.shape != meansq.shape or mean.size == 0:
        raise ExpertFileError(f"{source}: normaliser mean {mean.shape} and mean square "
                              f"{meansq.shape} must be non-empty and of one shape")
    std = np.sqrt(np.maximum(0.0, meansq - mean**2))
    hidden = _get(_get(params, "hidden", source, "GaussianPolicy"), "FeedforwardNet", source,
                  "GaussianPolicy/hidden")
    if not isinstance(hidden, Mapping):
        raise ExpertFileError(f"{source}: GaussianPolicy/hidden/FeedforwardNet must be a dict of "
                              f"layers, got {type(hidden).__name__}")
    order = sorted((_layer_index(k, source), k) for k in hidden)
    if len({i for i, _ in order}) != len(order):
        raise ExpertFileError(f"{source}: hidden layers {list(hidden)} repeat an index")
    layers = [_affine(hidden[k], source, f"hidden/{k}") for _, k in order]
    layers.append(_affine(_get(params, "out", source, "GaussianPolicy"), source, "out"))
    sizes = [mean.shape[0]] + [w.shape[1] for w, _ in layers]
    for (w, _), n_in in zip(layers, sizes[:-1], strict=True):
        if w.shape[0] != n_in:
            shapes = [w.shape for w, _ in layers]
            raise ExpertFileError(f"{source}: layer sizes {shapes} do not chain after an "
                                  f"observation of size {mean.shape[0]}")
    log_std = _real_array(_get(params, "logstdevs_1_Da", source, "GaussianPolicy"), source,
                          "GaussianPolicy/logstdevs_1_Da").reshape(-1)
    if log_std.shape != (sizes[-1],):
        raise ExpertFileError(f"{source}: GaussianPolicy/logstdevs_1_Da has {log_std.size} "
                              f"entries, the policy has {sizes[-1]} actions")
    named = {"normaliser mean": mean, "normaliser mean square": meansq, "log-std": log_std,
             **{f"layer {i} W": w for i, (w, _) in enumerate(layers)},
             **{f"layer {i} b": b for i, (_, b) in enumerate(layers)}}
    bad = [name for name, a in named.items() if not np.isfinite(a).all()]
    if bad:
        raise ExpertFileError(f"{source}: non-finite parameters in {', '.join(bad)}")
    return ExpertPolicy(weights=tuple(w for w, _ in layers), biases=tuple(b for _, b in layers),
                        obs_mean=mean, obs_std=std, log_std=log_std, nonlinearity=nonlin,
                        source=source)


def load_policy(path: str | os.PathLike[str]) -> ExpertPolicy:
    """Load an expert policy file safely into an :class:`ExpertPolicy`.

    The file is read once; a file whose name is a published expert file is checked against its
    sha256, and exactly the checked bytes are parsed (:func:`safe_load`), so a file swapped in
    after the check is never loaded.

    Raises:
        ChecksumError: a published file does not match its digest.
        UnsafePickleError / ExpertFileError: the file is unsafe, corrupt or of another layout.
    """
    path = Path(path)
    data = read_verified(path)
    return _policy_from_tree(safe_load(data, label=path.name), path.name)


# --------------------------------------------------------------------------------------------
# Experts in their environments


def near_constant_dims(policy: ExpertPolicy, threshold: float = NEAR_CONSTANT_STD) -> np.ndarray:
    """Indices of normaliser dimensions whose training std is below ``threshold``."""
    return np.flatnonzero(policy.obs_std < threshold)


def normaliser_mismatch(policy: ExpertPolicy, observations: np.ndarray, *,
                        threshold: float = NEAR_CONSTANT_STD, z_max: float = MISMATCH_Z
                        ) -> np.ndarray:
    """Near-constant dimensions where some observation has ``|s - m| / (sigma + 1e-6) > z_max``.

    Such a dimension was (almost) constant in the expert's training data but takes another value
    now, so the normaliser divides a real difference by about ``1e-6`` and saturates the network.
    ``observations`` are ``[B, policy.obs_dim]`` (after any padding).
    """
    obs = np.atleast_2d(np.asarray(observations, dtype=np.float64))
    if obs.shape[1] != policy.obs_dim:
        raise ValueError(f"observations must have shape [B, {policy.obs_dim}], got {obs.shape}")
    dims = near_constant_dims(policy, threshold)
    z = np.abs(policy.normalise(obs)[:, dims]).max(axis=0)
    return dims[z > z_max]


@dataclass(frozen=True, eq=False)
class Expert:
    """An expert adapted to an environment: ``expert(obs [B, env_obs_dim]) -> [B, act_dim]``.

    Adapters are explicit and listed in :attr:`adapters` (for reports):

    * ``pad_to``: observations are zero-padded from ``env_obs_dim`` to the expert's size;
    * ``held_dims``: these dimensions are replaced by the expert's training mean before the
      normaliser (they then normalise to 0, as in training).

    Attributes:
        mismatched_dims: near-constant normaliser dimensions found off their training value in
            the environment when the expert was loaded (empty if none).
    """

    policy: ExpertPolicy
    env_id: str
    env_obs_dim: int
    pad_to: int | None = None
    held_dims: tuple[int, ...] = ()
    mismatched_dims: tuple[int, ...] = ()
    adapters: tuple[str, ...] = field(default=())

    @property
    def obs_dim(self) -> int:
        return self.env_obs_dim

    @property
    def act_dim(self) -> int:
        return self.policy.act_dim

    def expert_observations(self, obs: np.ndarray) -> np.ndarray:
        """Environment observations ``[B, env_obs_dim]`` mapped to the expert's input."""
        x = np.asarray(obs, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.env_obs_dim:
            raise ValueError(f"{self.env_id} expert expects observations of shape "
                             f"[B, {self.env_obs_dim}], got {tuple(x.shape)}")
        if self.pad_to is not None:
            x = np.concatenate([x, np.zeros((x.shape[0], self.pad_to - x.shape[1]))], axis=1)
        if self.held_dims:
            x = x.copy()
            held = np.asarray(self.held_dims)
            x[:, held] = self.policy.obs_mean[held]
        return x

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        single = np.ndim(obs) == 1
        x = self.expert_observations(np.asarray(obs)[None] if single else obs)
        out = self.policy(x)
        return out[0] if single else out


def _env_observation(env_id: str, seed: int) -> np.ndarray:
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        obs, _ = env.reset(seed=seed)
    finally:
        env.close()
    return np.asarray(obs, dtype=np.float64)


def load_expert(env_id: str, *, hold_at_training_mean: bool = False, pad: bool = True,
                mirror: str | os.PathLike[str] | None = None, seed: int = 0) -> Expert:
    """The CS285 expert for a gymnasium ``-v4`` id, checked against the environment.

    Resets the environment once (``seed``) to compare observation sizes and the normaliser:

    * sizes differ: zero-padding for Ant-v4 (27 -> 111, course behaviour, ``pad=True``),
      otherwise ``ValueError`` naming both sizes;
    * near-constant normaliser dimensions off their training value
      (:func:`normaliser_mismatch`): a :class:`NormaliserMismatchWarning` naming them, and with
      ``hold_at_training_mean=True`` every near-constant dimension is held at its training mean.

    Raises:
        ValueError: unknown environment id or mismatched observation sizes.
    """
    policy = load_policy(fetch(policy_file(env_id), mirror=mirror))
    obs = _env_observation(env_id, seed)
    env_dim, adapters, pad_to = obs.shape[0], [], None
    if env_dim != policy.obs_dim:
        if not (pad and _ZERO_PADDED.get(env_id) == (env_dim, policy.obs_dim)):
            raise ValueError(f"{env_id} observations have size {env_dim} but the expert "
                             f"{policy.source} expects {policy.obs_dim}"
                             + ("; pass pad=True to zero-pad as the course does"
                                if env_id in _ZERO_PADDED else ""))
        pad_to = policy.obs_dim
        adapters.append(f"zero-pad observations {env_dim} -> {policy.obs_dim}")
    expert = Expert(policy, env_id, env_dim, pad_to=pad_to)
    mismatched = normaliser_mismatch(policy, expert.expert_observations(obs[None]))
    held: tuple[int, ...] = ()
    if mismatched.size:
        z = np.abs(policy.normalise(expert.expert_observations(obs[None]))[0, mismatched])
        warnings.warn(
            f"{env_id}: {mismatched.size} observation dimensions {mismatched.tolist()} had "
            f"training std < {NEAR_CONSTANT_STD:g} in the expert's data but differ from their "
            f"training mean here by up to {z.max():.3g} normalised units, which saturates "
            "the expert"
            + ("; holding the near-constant dimensions at their training mean"
               if hold_at_training_mean else
               "; pass hold_at_training_mean=True to hold them at their training mean"),
            NormaliserMismatchWarning, stacklevel=2)
    if hold_at_training_mean:
        held = tuple(int(d) for d in near_constant_dims(policy))
        adapters.append(f"hold {len(held)} near-constant dimensions at the training mean")
    return Expert(policy, env_id, env_dim, pad_to=pad_to, held_dims=held,
                  mismatched_dims=tuple(int(d) for d in mismatched), adapters=tuple(adapters))


def load_expert_data(env_id: str, *, mirror: str | os.PathLike[str] | None = None
                     ) -> dict[str, np.ndarray]:
    """The published expert trajectories for an environment, concatenated.

    Returns arrays ``observations [N, obs]``, ``actions [N, act]``, ``rewards [N]``,
    ``next_observations [N, obs]``, ``terminals [N]`` (bool), ``episode [N]`` (int id) and
    ``episode_returns [E]``.

    Raises:
        ValueError: unknown id, no published data (Humanoid-v4), or inconsistent arrays.
    """
    name = data_file(env_id)
    paths = safe_load(read_verified(fetch(name, mirror=mirror), name), label=name)
    return _trajectories(paths, name)


_TRAJECTORY_KEYS = {"observation": "observations", "action": "actions", "reward": "rewards",
                    "next_observation": "next_observations", "terminal": "terminals"}


def _trajectories(paths: Any, name: str) -> dict[str, np.ndarray]:
    """Concatenate CS285 trajectories ``[{observation, action, reward, next_observation,
    terminal}, ...]``; ``ExpertFileError`` naming the trajectory and key for any other layout."""
    if not isinstance(paths, list) or not paths:
        raise ExpertFileError(f"{name}: expected a non-empty list of trajectories, got "
                              f"{type(paths).__name__}")
    out: dict[str, list[np.ndarray]] = {v: [] for v in _TRAJECTORY_KEYS.values()}
    episode = []
    for i, path in enumerate(paths):
        arrays = {plural: _real_array(_get(path, key, name, f"[{i}]"), name, f"[{i}]/{key}",
                                      keep_dtype=True)
                  for key, plural in _TRAJECTORY_KEYS.items()}
        n = len(arrays["rewards"]) if arrays["rewards"].ndim else -1
        if n < 1 or any(a.ndim == 0 or len(a) != n for a in arrays.values()):
            lengths = {k: a.shape for k, a in arrays.items()}
            raise ExpertFileError(f"{name}: trajectory {i} has arrays of shapes {lengths}; all "
                                  "need the same positive length")
        for plural, array in arrays.items():
            if out[plural] and array.shape[1:] != out[plural][0].shape[1:]:
                raise ExpertFileError(f"{name}: trajectory {i} {plural} of shape {array.shape} "
                                      f"differ from trajectory 0's {out[plural][0].shape}")
            out[plural].append(array)
        episode.append(np.full(n, i, dtype=np.int64))
    data = {k: np.concatenate(v) for k, v in out.items()}
    data["terminals"] = data["terminals"].astype(bool)
    data["episode"] = np.concatenate(episode)
    data["episode_returns"] = np.bincount(data["episode"], weights=data["rewards"])
    return data
