"""The CS285 expert policies and expert data: safe loading, checked fetching, numpy inference.

The course ships its experts (``berkeleydeeprlcourse/homework_fall2023``, ``hw1/cs285``, MIT
licence) as Python pickles of nested dicts of numpy arrays. A pickle can run arbitrary code when
loaded, so rlcheck never calls ``pickle.load`` on them: :func:`safe_load` admits only the numpy
array-reconstruction globals and refuses every other global with :class:`UnsafePickleError`
before anything is called. Files are fetched by their public URLs into a user cache directory
and verified against the sha256 digests in :data:`SHA256` (:func:`fetch`); the environment
variable ``RLCHECK_EXPERTS_MIRROR`` points the fetch at a local folder or a base URL instead.

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
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import pickle
import shutil
import sys
import tempfile
import urllib.request
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CACHE_ENV_VAR",
    "DATA_URL",
    "EXPERT_ENVS",
    "MIRROR_ENV_VAR",
    "NEAR_CONSTANT_STD",
    "POLICY_URL",
    "SHA256",
    "ChecksumError",
    "Expert",
    "ExpertFileError",
    "ExpertPolicy",
    "NormaliserMismatchWarning",
    "UnsafePickleError",
    "cache_dir",
    "data_file",
    "fetch",
    "load_expert",
    "load_expert_data",
    "load_policy",
    "near_constant_dims",
    "normaliser_mismatch",
    "policy_file",
    "safe_load",
    "sha256_file",
    "verify_file",
]

MIRROR_ENV_VAR = "RLCHECK_EXPERTS_MIRROR"
"""Environment variable: a local folder or a base URL holding the expert files (flat layout)."""

CACHE_ENV_VAR = "RLCHECK_CACHE_DIR"
"""Environment variable overriding the cache directory (default: the platform's user cache)."""

_REPO = "https://raw.githubusercontent.com/berkeleydeeprlcourse/homework_fall2023/main/hw1/cs285"
POLICY_URL = _REPO + "/policies/experts/{name}"
"""Public address of an expert policy file, ``name`` like ``Ant.pkl``."""
DATA_URL = _REPO + "/expert_data/{name}"
"""Public address of an expert data file, ``name`` like ``expert_data_Ant-v4.pkl``."""

SHA256: dict[str, str] = {
    "Ant.pkl": "a1af3914f14366dd171ede0cf37663047764799d1fca40a6a3ada5e935065dbe",
    "HalfCheetah.pkl": "f26c60dd80a4bedecf8a82463e07fde6c168004f07df1b8880b07658666a0862",
    "Hopper.pkl": "56145a42b49fa5d7ca20bdc30407752a0830ee4cae882eccfd01e4fdddc4cf92",
    "Humanoid.pkl": "e9067186f23ef26668ac98df5bd1917587ed2c64169c2ad3b42af48eab48b9bb",
    "Walker2d.pkl": "cd70901c89e3c89348661e32d4207c5d417a804370daa33226d149d9f60bb8ad",
    "expert_data_Ant-v4.pkl":
        "d9088bce034c02c49ec4007ae2432d37b6ace959284b1b76d81089aa18c093ca",
    "expert_data_HalfCheetah-v4.pkl":
        "d09ef9e824277073407450f33c08b056254dd1d49c99a451f2d30a54d75c228f",
    "expert_data_Hopper-v4.pkl":
        "99b9d26e791847c2ff8bbf1226cd81661c98dedbd29345e47133f056a1048ae6",
    "expert_data_Walker2d-v4.pkl":
        "6819c5417886f4e32ce8b12c181984315334a1dad8f66c9f3788d6d291c48d3c",
}
"""sha256 digests of the files at commit f401a13ce9139d633c1d242c2557ae29506a7e05."""

EXPERT_ENVS: dict[str, str] = {
    "Ant-v4": "Ant",
    "HalfCheetah-v4": "HalfCheetah",
    "Hopper-v4": "Hopper",
    "Humanoid-v4": "Humanoid",
    "Walker2d-v4": "Walker2d",
}
"""The gymnasium environments the experts were trained for, mapped to their file stem."""

_ZERO_PADDED: dict[str, tuple[int, int]] = {"Ant-v4": (27, 111)}
"""Environments whose observation the course zero-pads to the expert's size: (env, expert)."""

NEAR_CONSTANT_STD = 1e-4
"""A normaliser dimension with training std below this is treated as constant in training."""

MISMATCH_Z = 10.0
"""A near-constant dimension is mismatched when ``|s - m| / (sigma + 1e-6)`` exceeds this."""


class ExpertFileError(ValueError):
    """An expert file is corrupt, truncated, of an unexpected layout, or unsafe to load."""


class UnsafePickleError(ExpertFileError):
    """A pickle asked for a global outside the numpy reconstruction globals; nothing was run."""


class ChecksumError(ExpertFileError):
    """A file's sha256 digest differs from the published one (corrupt or truncated)."""


class NormaliserMismatchWarning(UserWarning):
    """An environment observation lies far outside an expert's near-constant normaliser dims."""


# --------------------------------------------------------------------------------------------
# Restricted unpickling


def _numpy_attr(module: str, name: str) -> Any:
    """``numpy._core.<module>.<name>`` (numpy >= 2) or ``numpy.core.<module>.<name>``."""
    for prefix in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{prefix}.{module}"), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy has no {module}.{name}")  # pragma: no cover


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as numpy's protocol-2 pickles use it: latin-1 text to bytes only."""
    if not isinstance(text, str) or encoding.replace("-", "").lower() != "latin1":
        raise UnsafePickleError(f"_codecs.encode allowed for latin-1 text only, got encoding "
                                f"{encoding!r}")
    return text.encode("latin-1")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    reconstruct = _numpy_attr("multiarray", "_reconstruct")
    scalar = _numpy_attr("multiarray", "scalar")
    frombuffer = _numpy_attr("numeric", "_frombuffer")
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }
    for prefix in ("numpy.core", "numpy._core"):
        allowed[(f"{prefix}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{prefix}.multiarray", "scalar")] = scalar
        allowed[(f"{prefix}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the numpy reconstruction globals; any other global is refused."""

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file)
        self._source = source
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._source}: refusing to load global {module}.{name}; expert files may "
                "reference only the numpy array-reconstruction globals"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: persistent ids are not allowed in expert files")


def _plain(value: Any, source: str, where: str = "") -> Any:
    """The loaded object with every array a plain numeric ``np.ndarray`` (object arrays refused)."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ExpertFileError(f"{source}: object array at {where or 'top level'} refused")
        return np.array(value)
    if isinstance(value, Mapping):
        return {k: _plain(v, source, f"{where}/{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, source, f"{where}[{i}]") for i, v in enumerate(value))
    if value is None or isinstance(value, (str, bytes, bool, int, float, np.generic)):
        return value
    raise ExpertFileError(f"{source}: unexpected {type(value).__name__} at {where or 'top level'}")


def safe_load(source: str | os.PathLike[str] | bytes) -> Any:
    """Unpickle an expert file (a path, or the raw bytes) admitting the numpy globals alone.

    Returns nested dicts/lists of plain numpy arrays, strings and numbers.

    Raises:
        UnsafePickleError: the pickle references any other global (nothing is called).
        ExpertFileError: the pickle is truncated, corrupt or holds unexpected objects.
        FileNotFoundError: the path does not exist.
    """
    if isinstance(source, bytes):
        data, label = source, "<bytes>"
    else:
        data, label = Path(source).read_bytes(), Path(source).name
    try:
        loaded = _NumpyOnlyUnpickler(io.BytesIO(data), label).load()
    except ExpertFileError:
        raise
    except Exception as exc:  # truncated or garbled data: EOFError, UnpicklingError, ...
        raise ExpertFileError(f"{label}: not a valid expert pickle ({type(exc).__name__}: "
                              f"{exc})") from exc
    return _plain(loaded, label)


# --------------------------------------------------------------------------------------------
# Fetching with checksums


def policy_file(env_id: str) -> str:
    """File name of the expert policy for a gymnasium id, e.g. ``"Ant-v4" -> "Ant.pkl"``."""
    return f"{_stem(env_id)}.pkl"


def data_file(env_id: str) -> str:
    """File name of the expert data for a gymnasium id (none exists for ``Humanoid-v4``)."""
    name = f"expert_data_{_stem(env_id)}-v4.pkl"
    if name not in SHA256:
        raise ValueError(f"no expert data is published for {env_id}; make it by rolling out the "
                         "expert (rlcheck.imitation.make_expert_data)")
    return name


def _stem(env_id: str) -> str:
    if env_id not in EXPERT_ENVS:
        raise ValueError(f"no CS285 expert for environment id {env_id!r}; known: "
                         f"{', '.join(EXPERT_ENVS)}")
    return EXPERT_ENVS[env_id]


def cache_dir() -> Path:
    """Where fetched files are kept: ``$RLCHECK_CACHE_DIR``, else the platform's user cache
    (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS,
    ``%LOCALAPPDATA%`` on Windows) under ``rlcheck/experts``."""
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "rlcheck" / "experts"


def sha256_file(path: Path) -> str:
    """The hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, name: str | None = None) -> Path:
    """Check ``path`` against the published sha256 of ``name`` (default: its file name).

    Raises:
        ChecksumError: naming the file and both digests.
        ValueError: ``name`` is not a known expert file.
    """
    name = name or path.name
    if name not in SHA256:
        raise ValueError(f"unknown expert file {name!r}; known: {', '.join(SHA256)}")
    actual = sha256_file(path)
    if actual != SHA256[name]:
        raise ChecksumError(f"{name} ({path}): sha256 checksum mismatch, expected {SHA256[name]}, "
                            f"got {actual} ({path.stat().st_size} bytes): the file is corrupt or "
                            "truncated; delete it and fetch again")
    return path


def _public_url(name: str) -> str:
    return (DATA_URL if name.startswith("expert_data_") else POLICY_URL).format(name=name)


def _download(url: str, target: Path, name: str, timeout: float) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        verify_file(tmp, name)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def fetch(name: str, *, mirror: str | os.PathLike[str] | None = None,
          cache: str | os.PathLike[str] | None = None, timeout: float = 60.0) -> Path:
    """The local path of a verified expert file, downloading it if needed.

    ``mirror`` (default ``$RLCHECK_EXPERTS_MIRROR``) is a local folder, used in place without
    copying, or a base URL ``<base>/<name>``; without one the public GitHub address is used.
    Downloads go to ``cache`` (default :func:`cache_dir`) through a temporary file that replaces
    the target only once its sha256 matches; a cached file that fails the check is fetched again.

    Raises:
        ValueError: ``name`` is not a known expert file.
        ChecksumError: the mirrored or downloaded file does not match its sha256.
        FileNotFoundError: a mirror folder lacks the file.
        urllib.error.URLError: the download failed.
    """
    if name not in SHA256:
        raise ValueError(f"unknown expert file {name!r}; known: {', '.join(SHA256)}")
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV_VAR) or None
    mirror_str = os.fspath(mirror) if mirror is not None else None
    if mirror_str is not None and not mirror_str.startswith(("http://", "https://", "file://")):
        path = Path(mirror_str).expanduser() / name
        if not path.is_file():
            raise FileNotFoundError(f"{name} not found in the mirror folder {path.parent} "
                                    f"(from {MIRROR_ENV_VAR} or mirror=)")
        return verify_file(path, name)
    target = Path(cache).expanduser() if cache is not None else cache_dir()
    target = target / name
    if target.is_file():
        try:
            return verify_file(target, name)
        except ChecksumError:
            target.unlink()
    url = f"{mirror_str.rstrip('/')}/{name}" if mirror_str is not None else _public_url(name)
    return _download(url, target, name, timeout)


# --------------------------------------------------------------------------------------------
# The expert policy


_NONLINEARITIES = {
    "tanh": np.tanh,
    "lrelu": lambda x: np.where(x > 0, x, 0.01 * x),
}


def _get(tree: Mapping[str, Any], key: str, source: str, where: str) -> Any:
    if not isinstance(tree, Mapping) or key not in tree:
        raise ExpertFileError(f"{source}: expected key {key!r} at {where or 'top level'}")
    return tree[key]


def _affine(layer: Mapping[str, Any], source: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    affine = _get(layer, "AffineLayer", source, where)
    w = np.asarray(_get(affine, "W", source, where + "/AffineLayer"), dtype=np.float64)
    b = np.asarray(_get(affine, "b", source, where + "/AffineLayer"), dtype=np.float64)
    if w.ndim != 2 or b.size != w.shape[1]:
        raise ExpertFileError(f"{source}: {where} has W of shape {w.shape} and b of shape "
                              f"{b.shape}; expected [in, out] and [1, out]")
    return w, b.reshape(-1)


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
        if np.isnan(x).any():
            raise ValueError("observations contain NaN")
        act = _NONLINEARITIES[self.nonlinearity]
        h = self.normalise(x)
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = act(h @ w + b)
        out = h @ self.weights[-1] + self.biases[-1]
        return out[0] if single else out


def _policy_from_tree(tree: Any, source: str) -> ExpertPolicy:
    nonlin = _get(tree, "nonlin_type", source, "")
    if nonlin not in _NONLINEARITIES:
        raise ExpertFileError(f"{source}: unknown nonlin_type {nonlin!r}")
    params = _get(tree, "GaussianPolicy", source, "")
    norm = _get(_get(params, "obsnorm", source, "GaussianPolicy"), "Standardizer", source,
                "GaussianPolicy/obsnorm")
    mean = np.asarray(_get(norm, "mean_1_D", source, "obsnorm"), dtype=np.float64).reshape(-1)
    meansq = np.asarray(_get(norm, "meansq_1_D", source, "obsnorm"),
                        dtype=np.float64).reshape(-1)
    if mean.shape != meansq.shape:
        raise ExpertFileError(f"{source}: normaliser mean {mean.shape} and mean square "
                              f"{meansq.shape} differ in shape")
    std = np.sqrt(np.maximum(0.0, meansq - mean**2))
    hidden = _get(_get(params, "hidden", source, "GaussianPolicy"), "FeedforwardNet", source,
                  "GaussianPolicy/hidden")
    names = sorted(hidden, key=lambda k: int(str(k).rsplit("_", 1)[-1]))
    layers = [_affine(hidden[k], source, f"hidden/{k}") for k in names]
    layers.append(_affine(_get(params, "out", source, "GaussianPolicy"), source, "out"))
    sizes = [mean.shape[0]] + [w.shape[1] for w, _ in layers]
    for (w, _), n_in in zip(layers, sizes[:-1], strict=True):
        if w.shape[0] != n_in:
            shapes = [w.shape for w, _ in layers]
            raise ExpertFileError(f"{source}: layer sizes {shapes} do not chain after an "
                                  f"observation of size {mean.shape[0]}")
    log_std = np.asarray(_get(params, "logstdevs_1_Da", source, "GaussianPolicy"),
                         dtype=np.float64).reshape(-1)
    arrays = [mean, std, log_std, *(a for layer in layers for a in layer)]
    if not all(np.isfinite(a).all() for a in arrays):
        raise ExpertFileError(f"{source}: non-finite parameters")
    return ExpertPolicy(weights=tuple(w for w, _ in layers), biases=tuple(b for _, b in layers),
                        obs_mean=mean, obs_std=std, log_std=log_std, nonlinearity=nonlin,
                        source=source)


def load_policy(path: str | os.PathLike[str]) -> ExpertPolicy:
    """Load an expert policy file safely (:func:`safe_load`) into an :class:`ExpertPolicy`.

    A file whose name is a published expert file is first checked against its sha256.

    Raises:
        ChecksumError: a published file does not match its digest.
        UnsafePickleError / ExpertFileError: the file is unsafe, corrupt or of another layout.
    """
    path = Path(path)
    if path.name in SHA256:
        verify_file(path)
    return _policy_from_tree(safe_load(path), path.name)


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
    paths = safe_load(fetch(name, mirror=mirror))
    if not isinstance(paths, list) or not paths:
        raise ExpertFileError(f"{name}: expected a non-empty list of trajectories")
    keys = {"observation": "observations", "action": "actions", "reward": "rewards",
            "next_observation": "next_observations", "terminal": "terminals"}
    out: dict[str, list[np.ndarray]] = {v: [] for v in keys.values()}
    episode = []
    for i, path in enumerate(paths):
        for key, plural in keys.items():
            out[plural].append(np.asarray(_get(path, key, name, f"[{i}]")))
        episode.append(np.full(len(out["rewards"][-1]), i, dtype=np.int64))
    data = {k: np.concatenate(v) for k, v in out.items()}
    data["terminals"] = data["terminals"].astype(bool)
    data["episode"] = np.concatenate(episode)
    n = len(data["rewards"])
    if any(len(v) != n for v in data.values()):
        raise ExpertFileError(f"{name}: trajectory arrays differ in length")
    data["episode_returns"] = np.bincount(data["episode"], weights=data["rewards"])
    return data

