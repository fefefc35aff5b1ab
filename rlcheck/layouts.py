"""Trajectory layouts that real code uses, and exact conversions between them.

rlcheck samples ``N`` episodes as rows of ``[N, T]`` arrays (:class:`~rlcheck.mdp.TrajectoryBatch`).
Real code holds the same steps in one of three other layouts; a check given ``layout=`` hands your
function its data in that layout and converts your output back:

* ``"time_major"`` (SB3 ``RolloutBuffer``, CleanRL): arrays ``[T, N]`` (steps, envs). Each env
  column holds episodes back to back. Flags per row: ``episode_starts[t, e]`` (SB3; CleanRL's
  ``dones`` has the same meaning: ``obs[t]`` is the first of an episode), ``dones[t, e]`` (step
  ``t`` ended an episode), and ``terminated`` / ``truncated`` (how it ended).
  ``next_episode_starts [N]`` and ``last_values [N]`` describe the observation after the last row.
* ``"flat"`` (Spinning Up buffers, CS285): steps of all episodes concatenated, ``[M]``, with
  ``dones`` marking each episode's last step, ``episode_lengths [E]`` and ``bootstrap_values
  [E]`` (the value of the state after each episode's last step; 0 when it terminated).
* ``"episodes"``: a list of :class:`Episode` (one array per field and episode).

Every conversion is a pure re-indexing of steps, checked on input: a wrong shape, mismatched
lengths, or flags that disagree with the episode lengths raise ``ValueError`` naming the argument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlcheck.mdp import TrajectoryBatch

LayoutKind = Literal["batch", "time_major", "flat", "episodes"]
LAYOUT_KINDS: tuple[str, ...] = ("batch", "time_major", "flat", "episodes")


@dataclass(frozen=True)
class Layout:
    """A layout and its parameters: ``kind`` (one of :data:`LAYOUT_KINDS`) and, for
    ``"time_major"``, the number of env columns ``n_envs`` the episodes are dealt into."""

    kind: LayoutKind = "batch"
    n_envs: int = 8

    def __post_init__(self) -> None:
        if self.kind not in LAYOUT_KINDS:
            raise ValueError(f"layout must be one of {LAYOUT_KINDS} (or a Layout), got "
                             f"{self.kind!r}")
        if isinstance(self.n_envs, bool) or int(self.n_envs) != self.n_envs or self.n_envs < 1:
            raise ValueError(f"layout n_envs must be a positive integer, got {self.n_envs!r}")


def as_layout(layout: str | Layout) -> Layout:
    """``layout`` as a :class:`Layout` (a kind name gets the default parameters)."""
    if isinstance(layout, Layout):
        return layout
    if not isinstance(layout, str):
        raise ValueError(f"layout must be a string or a Layout, got {type(layout).__name__}")
    return Layout(layout)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the layouts

@dataclass(frozen=True)
class TimeMajorBatch:
    """Steps as ``[T, N]`` arrays (rows: time, columns: envs), episodes back to back per column.

    Attributes:
        states, actions, rewards: ``s_t, a_t, r_t``, ``[T, N]``.
        values: ``V(s_t)`` (exact, for the step's time in its episode), ``[T, N]``.
        episode_starts: ``obs[t]`` is the first observation of an episode (SB3's
            ``episode_starts``, CleanRL's ``dones``), bool ``[T, N]``.
        dones: step ``t`` was the last of its episode (``terminated | truncated``), ``[T, N]``.
        terminated, truncated: how it ended, ``[T, N]``.
        next_episode_starts: the observation after the last row starts a new episode, ``[N]``
            (SB3's ``dones`` argument of ``compute_returns_and_advantage``).
        last_values: the value of that observation, ``[N]`` (0 when a new episode starts).
        gamma: the discount.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    values: np.ndarray
    episode_starts: np.ndarray
    dones: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_episode_starts: np.ndarray
    last_values: np.ndarray
    gamma: float


@dataclass(frozen=True)
class FlatBatch:
    """Episodes concatenated into ``[M]`` arrays (Spinning Up, CS285).

    Attributes:
        states, actions, rewards, values: per step, ``[M]``.
        dones: the step is the last of its episode; terminated, truncated: how it ended, ``[M]``.
        episode_lengths: ``[E]``, summing to ``M``.
        bootstrap_values: ``V`` of the state after each episode's last step, 0 if it terminated,
            ``[E]`` (Spinning Up's ``last_val`` of ``finish_path``).
        gamma: the discount.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    values: np.ndarray
    dones: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    episode_lengths: np.ndarray
    bootstrap_values: np.ndarray
    gamma: float


@dataclass(frozen=True)
class Episode:
    """One episode: ``states, actions, rewards, values`` ``[L]``, whether it ``terminated`` or was
    ``truncated``, the ``bootstrap_value`` after its last step (0 if it terminated), ``gamma``."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    values: np.ndarray
    terminated: bool
    truncated: bool
    bootstrap_value: float
    gamma: float


# ----------------------------------------------------------------------------- from rlcheck's batch

def _end_flags(batch: TrajectoryBatch) -> np.ndarray:
    """``[N, T]`` bool: the last step of each (fixed-length) episode; a finite-horizon episode
    ends there (terminated, nothing to bootstrap)."""
    ends = np.zeros(batch.states.shape, dtype=bool)
    ends[:, -1] = True
    return ends


def check_n_envs(n_episodes: int, n_envs: int) -> None:
    """Raise ``ValueError`` unless the episodes can be dealt evenly into ``n_envs`` columns."""
    if n_episodes % n_envs:
        raise ValueError(f"layout n_envs={n_envs} must divide the number of episodes "
                         f"{n_episodes} (each env column holds the same number of episodes)")


def to_time_major(batch: TrajectoryBatch, n_envs: int) -> TimeMajorBatch:
    """Deal episode ``i`` into env column ``i mod n_envs``, at rows ``(i div n_envs) T ..``:
    ``x_tm[j T + t, e] = x[j n_envs + e, t]``."""
    check_n_envs(batch.n, n_envs)

    def tm(x: np.ndarray) -> np.ndarray:
        N, T = x.shape
        return x.reshape(N // n_envs, n_envs, T).transpose(0, 2, 1).reshape(-1, n_envs)

    ends = _end_flags(batch)
    starts = np.zeros_like(ends)
    starts[:, 0] = True
    return TimeMajorBatch(
        states=tm(batch.states), actions=tm(batch.actions), rewards=tm(batch.rewards),
        values=tm(batch.values), episode_starts=tm(starts), dones=tm(ends), terminated=tm(ends),
        truncated=np.zeros((batch.n // n_envs * batch.horizon, n_envs), dtype=bool),
        next_episode_starts=np.ones(n_envs, dtype=bool), last_values=np.zeros(n_envs),
        gamma=batch.gamma)


def from_time_major(x: Any, batch: TrajectoryBatch, n_envs: int, name: str = "output") -> np.ndarray:
    """Inverse of :func:`to_time_major` for one ``[T', N']`` array: back to ``[N, T]``."""
    N, T = batch.states.shape
    x = _finite_array(name, x)
    want = (N // n_envs * T, n_envs)
    if x.shape != want:
        raise ValueError(f"{name} must be time-major [T, n_envs] = {want} like the rewards it was "
                         f"given, got {x.shape}")
    return x.reshape(N // n_envs, T, n_envs).transpose(0, 2, 1).reshape(N, T)


def to_flat(batch: TrajectoryBatch) -> FlatBatch:
    """Episodes concatenated row after row: ``x_flat[i T + t] = x[i, t]``."""
    ends = _end_flags(batch).ravel()
    return FlatBatch(
        states=batch.states.ravel(), actions=batch.actions.ravel(), rewards=batch.rewards.ravel(),
        values=batch.values.ravel(), dones=ends, terminated=ends.copy(),
        truncated=np.zeros_like(ends), episode_lengths=np.full(batch.n, batch.horizon),
        bootstrap_values=np.zeros(batch.n), gamma=batch.gamma)


def from_flat(x: Any, batch: TrajectoryBatch, name: str = "output") -> np.ndarray:
    """Inverse of :func:`to_flat` for one ``[M]`` array: back to ``[N, T]``."""
    x = _finite_array(name, x)
    if x.shape != (batch.states.size,):
        raise ValueError(f"{name} must be flat [M] = ({batch.states.size},), one entry per step "
                         f"of the concatenated episodes, got {x.shape}")
    return x.reshape(batch.states.shape)


def to_episodes(batch: TrajectoryBatch) -> list[Episode]:
    """One :class:`Episode` per row."""
    return [Episode(states=batch.states[i], actions=batch.actions[i], rewards=batch.rewards[i],
                    values=batch.values[i], terminated=True, truncated=False, bootstrap_value=0.0,
                    gamma=batch.gamma) for i in range(batch.n)]


def from_episodes(x: Any, batch: TrajectoryBatch, name: str = "output") -> np.ndarray:
    """Per-episode arrays (a list of ``[L_i]``) or their concatenation, back to ``[N, T]``."""
    if isinstance(x, (list, tuple)):
        if len(x) != batch.n:
            raise ValueError(f"{name} must hold one array per episode ({batch.n}), got {len(x)}")
        lengths = [np.shape(e) for e in x]
        bad = next((i for i, s in enumerate(lengths) if s != (batch.horizon,)), None)
        if bad is not None:
            raise ValueError(f"{name}[{bad}] must have the episode's length ({batch.horizon},), "
                             f"got {lengths[bad]}")
        x = np.concatenate([np.asarray(e, dtype=np.float64) for e in x]) if x else np.zeros(0)
    return from_flat(x, batch, name)


def to_layout(batch: TrajectoryBatch, layout: Layout) -> Any:
    """``batch`` in ``layout``: the batch itself, a :class:`TimeMajorBatch`, a :class:`FlatBatch`
    or a list of :class:`Episode`."""
    if layout.kind == "time_major":
        return to_time_major(batch, layout.n_envs)
    if layout.kind == "flat":
        return to_flat(batch)
    if layout.kind == "episodes":
        return to_episodes(batch)
    return batch


def from_layout(x: Any, batch: TrajectoryBatch, layout: Layout, name: str = "output") -> Any:
    """Per-step output ``x`` of a function that was given ``to_layout(batch, layout)``, as
    ``[N, T]`` (unchanged for ``"batch"``)."""
    if layout.kind == "time_major":
        return from_time_major(x, batch, layout.n_envs, name)
    if layout.kind == "flat":
        return from_flat(x, batch, name)
    if layout.kind == "episodes":
        return from_episodes(x, batch, name)
    return x


def in_layout(fn: Callable[[Any], Any], layout: Layout,
              name: str = "output") -> Callable[[TrajectoryBatch], Any]:
    """``fn``, written for ``layout``, as a function of a :class:`TrajectoryBatch` returning
    ``[N, T]``: ``batch -> from_layout(fn(to_layout(batch, layout)), batch, layout)``."""
    if layout.kind == "batch":
        return fn

    def on_batch(batch: TrajectoryBatch) -> Any:
        return from_layout(fn(to_layout(batch, layout)), batch, layout, name)
    return on_batch


# ----------------------------------------------------------------------------- users' data in

def _finite_array(name: str, x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a real array, got {type(x).__name__}") from error
    if not np.isfinite(array).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} has a non-finite value at index {where}")
    return array


def _bool_array(name: str, x: Any, shape: tuple[int, ...]) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    array = np.asarray(x)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if array.dtype != bool:
        values = np.unique(array)
        if not np.isin(values, (0, 1)).all():
            raise ValueError(f"{name} must hold booleans (0/1), got values {values[:5].tolist()}")
        array = array.astype(bool)
    return array


def episode_lengths_from_dones(dones: Any, name: str = "dones") -> np.ndarray:
    """Lengths of the episodes in a flat ``dones [M]`` (the last episode may be unfinished);
    ``ValueError`` naming ``dones`` for a wrong shape or non-boolean values."""
    d = np.asarray(dones.detach().cpu().numpy() if hasattr(dones, "detach") else dones)
    if d.ndim != 1:
        raise ValueError(f"{name} must be flat [M], got shape {d.shape}")
    d = _bool_array(name, d, d.shape)
    if d.size == 0:
        return np.zeros(0, dtype=np.int64)
    last_steps = np.flatnonzero(d)
    if not d[-1]:
        last_steps = np.append(last_steps, d.size - 1)
    return np.diff(np.concatenate([[-1], last_steps])).astype(np.int64)


def check_flat_episodes(rewards: Any, dones: Any, episode_lengths: Sequence[int] | None = None) -> \
        np.ndarray:
    """Validate flat episodes: ``rewards`` and ``dones`` are ``[M]``, and ``dones`` agrees with
    ``episode_lengths`` (each episode's last step, and only it, is done). Returns the lengths."""
    r = _finite_array("rewards", rewards)
    if r.ndim != 1:
        raise ValueError(f"rewards must be flat [M], got shape {r.shape}")
    d = _bool_array("dones", dones, r.shape)
    from_dones = episode_lengths_from_dones(d)
    if episode_lengths is None:
        return from_dones
    lengths = np.asarray(episode_lengths)
    if lengths.ndim != 1 or (lengths < 1).any() or lengths.sum() != r.size:
        raise ValueError(f"episode_lengths must be positive and sum to the {r.size} steps, got "
                         f"{lengths.tolist()[:10]} (sum {int(lengths.sum())})")
    expected = np.zeros(r.size, dtype=bool)
    expected[np.cumsum(lengths) - 1] = True
    if not np.array_equal(expected[:-1], d[:-1]):
        where = int(np.flatnonzero(expected[:-1] != d[:-1])[0])
        raise ValueError(f"dones disagrees with episode_lengths at step {where}: dones says "
                         f"{bool(d[where])}, the lengths {lengths.tolist()[:10]} say "
                         f"{bool(expected[where])}")
    return lengths.astype(np.int64)


def episode_ids_time_major(episode_starts: Any, name: str = "episode_starts") -> np.ndarray:
    """Episode index ``[T, N]`` of every step of a time-major rollout: episodes are numbered
    column by column, a new one beginning at row 0 and wherever ``episode_starts`` is set."""
    starts = np.asarray(episode_starts.detach().cpu().numpy() if hasattr(episode_starts, "detach")
                        else episode_starts)
    if starts.ndim != 2:
        raise ValueError(f"{name} must be time-major [T, N], got shape {starts.shape}")
    starts = _bool_array(name, starts, starts.shape).copy()
    starts[0] = True
    return np.cumsum(starts.T.ravel()).reshape(starts.shape[1], starts.shape[0]).T - 1


def starts_from_dones(dones: Any, name: str = "dones") -> np.ndarray:
    """``episode_starts [T, N]`` from per-step ``dones [T, N]`` (step ``t`` ended an episode):
    ``episode_starts[t] = dones[t - 1]``, row 0 starting (the rollout's first observation)."""
    d = np.asarray(dones.detach().cpu().numpy() if hasattr(dones, "detach") else dones)
    if d.ndim != 2:
        raise ValueError(f"{name} must be time-major [T, N], got shape {d.shape}")
    d = _bool_array(name, d, d.shape)
    starts = np.ones_like(d)
    starts[1:] = d[:-1]
    return starts
