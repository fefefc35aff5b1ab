"""``check_td_targets``: are your TD / Q-learning targets the right function of a replay batch?

A TD target is a deterministic function of the batch and the networks, so the check is exact: it
builds replay batches over small tabular problems (one-hot observations, networks that are tables
wrapped in torch modules, see :mod:`rlcheck.tabular_nets`), calls your ``target_fn(batch)`` and
compares its output with the equations of :mod:`rlcheck.td` to a relative tolerance of
:data:`RTOL` (loose enough for float32 networks, about 1e4 times below the smallest error a
planted bug makes here). Each batch mixes transitions that terminated, were truncated (time limit;
their ``next_obs`` is the true next observation), did both, or neither, so that a target that
confuses them is wrong on many rows. On failure, the verdict names the known mistake your output
matches, if any (``done`` used for ``terminated``, arg-max from the target network, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import torch
from scipy.special import logsumexp
from torch import Tensor, nn

from rlcheck import td
from rlcheck.checks.guard import guards_user_function
from rlcheck.result import CheckResult, combine
from rlcheck.tabular_nets import TabularPolicy, TabularQ, TabularValue
from rlcheck.validation import validate_alpha, validate_seed

__all__ = ["TD_KINDS", "TDBatch", "check_td_targets", "make_td_batches"]

Kind = Literal["td0", "dqn", "double_dqn", "n_step", "soft"]
TD_KINDS: tuple[str, ...] = ("td0", "dqn", "double_dqn", "n_step", "soft")
"""The targets :func:`check_td_targets` knows, see its docstring."""

RTOL = 1e-5
"""``|y - y_ref| <= RTOL (1 + max|y_ref|)``: float32 arithmetic passes, every planted bug fails."""

_ONE_STEP_CASES: tuple[tuple[int, int, int, float], ...] = ((5, 3, 64, 0.9), (8, 4, 48, 0.99),
                                                            (3, 2, 40, 0.5))
"""``(S, A, B, gamma)`` of the replay batches of the one-step kinds."""

_N_STEP_CASES: tuple[tuple[int, int, float, int], ...] = ((6, 48, 0.9, 3), (4, 40, 0.99, 5),
                                                          (5, 32, 0.5, 2))
"""``(S, T, gamma, n)`` of the time-ordered segments of ``kind="n_step"``."""


@dataclass(frozen=True, eq=False)
class TDBatch:
    """A replay batch of ``B`` transitions and the networks a TD target reads.

    Attributes:
        obs: ``s_t``, one-hot float64 ``[B, S]``.
        actions: ``a_t``, int64 ``[B]``.
        rewards: ``r_t``, float64 ``[B]``.
        next_obs: ``s_{t+1}``, one-hot ``[B, S]``: after a truncation, the observation the time
            limit cut (the successor to bootstrap from), never the reset observation.
        terminated: bool ``[B]``: the episode entered an absorbing state (no bootstrap).
        truncated: bool ``[B]``: the episode was cut (time limit, or the segment's end).
        gamma: the discount.
        q: online Q network, ``obs [B, S] -> [B, A]``.
        q_target: target Q network (``Q1'`` of the twin critics for ``kind="soft"``).
        q2_target: the second target critic ``Q2'`` (``kind="soft"``).
        value: state-value network ``obs -> [B]`` (``kind="td0"`` and ``"n_step"``).
        policy: ``obs -> Categorical`` (``kind="soft"``).
        ent_coef: entropy coefficient ``alpha`` of the soft target.
        n: steps of the ``n``-step target; for ``kind="n_step"`` the batch is one time-ordered
            segment of a single environment (``obs[t+1]`` follows ``next_obs[t]`` unless step
            ``t`` ended an episode, when ``obs[t+1]`` is the reset observation).
    """

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    next_obs: Tensor
    terminated: Tensor
    truncated: Tensor
    gamma: float
    q: nn.Module
    q_target: nn.Module
    q2_target: nn.Module
    value: nn.Module
    policy: TabularPolicy
    ent_coef: float
    n: int

    @property
    def dones(self) -> Tensor:
        """``terminated | truncated`` (what old gym's ``done`` was; not a bootstrap mask)."""
        return self.terminated | self.truncated


@dataclass(frozen=True)
class _Tables:
    q: np.ndarray
    q_target: np.ndarray
    q2_target: np.ndarray
    value: np.ndarray
    logits: np.ndarray


def _tables(S: int, A: int, rng: np.random.Generator) -> _Tables:
    """Random networks: the target Q is the online one plus noise, with its arg-max moved to another
    action in every state (so double DQN differs from DQN on every bootstrapped row); values are
    far from 0 so that every wrongly masked bootstrap changes the target."""
    q = 2.0 * rng.standard_normal((S, A)) + 1.0
    q_target = q + rng.standard_normal((S, A))
    # in every state the target network prefers another action than the online one
    other = (q.argmax(1) + 1 + rng.integers(A - 1, size=S)) % A
    q_target[np.arange(S), other] = q_target.max(1) + 1.0 + rng.random(S)
    return _Tables(q=q, q_target=q_target,
                   q2_target=q + rng.standard_normal((S, A)),
                   value=3.0 + 2.0 * rng.standard_normal(S),
                   logits=1.5 * rng.standard_normal((S, A)))


def _flags(B: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Terminated / truncated flags with every combination present (a quarter each of
    terminated only and truncated only, a few both, the rest neither), in random order."""
    kind = np.arange(B) % 8  # 0, 1: terminated; 2, 3: truncated; 4: both; 5-7: neither
    kind = rng.permutation(kind)
    terminated = (kind <= 1) | (kind == 4)
    truncated = ((kind >= 2) & (kind <= 4))
    return terminated, truncated


def _segment(S: int, T: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A time-ordered segment of episodes of 2..6 steps; the first episode ends by termination,
    the second by truncation, then at random; the last one is cut by the segment's end. At an
    episode end the reset observation differs from the final one."""
    obs, next_obs = np.empty(T, np.int64), np.empty(T, np.int64)
    terminated, truncated = np.zeros(T, bool), np.zeros(T, bool)
    s, t, episode = int(rng.integers(S)), 0, 0
    while t < T:
        length = int(rng.integers(2, 7))
        end = "terminated" if episode == 0 else "truncated" if episode == 1 else \
            str(rng.choice(["terminated", "truncated"]))
        for k in range(length):
            if t >= T:
                break
            obs[t] = s
            s = int(rng.integers(S))
            next_obs[t] = s
            if k == length - 1:
                terminated[t] = end == "terminated"
                truncated[t] = end == "truncated"
                s = int((next_obs[t] + 1 + rng.integers(S - 1)) % S)  # reset != final obs
            t += 1
        episode += 1
    return {"obs": obs, "next_obs": next_obs, "terminated": terminated, "truncated": truncated}


def _one_hot(index: np.ndarray, S: int) -> Tensor:
    return nn.functional.one_hot(torch.as_tensor(index), S).to(torch.float64)


def _batch(tables: _Tables, gamma: float, n: int, states: np.ndarray, actions: np.ndarray,
           rewards: np.ndarray, next_states: np.ndarray, terminated: np.ndarray,
           truncated: np.ndarray) -> TDBatch:
    S = tables.q.shape[0]
    return TDBatch(
        obs=_one_hot(states, S), actions=torch.as_tensor(actions, dtype=torch.int64),
        rewards=torch.as_tensor(rewards, dtype=torch.float64), next_obs=_one_hot(next_states, S),
        terminated=torch.as_tensor(terminated, dtype=torch.bool),
        truncated=torch.as_tensor(truncated, dtype=torch.bool), gamma=gamma,
        q=TabularQ(tables.q), q_target=TabularQ(tables.q_target),
        q2_target=TabularQ(tables.q2_target), value=TabularValue(tables.value),
        policy=TabularPolicy(tables.logits), ent_coef=0.3, n=n)


def make_td_batches(kind: str, seed: int) -> list[tuple[str, TDBatch, np.ndarray]]:
    """The test problems of :func:`check_td_targets` for ``kind``: ``(name, batch, exact y)``."""
    if kind not in TD_KINDS:
        raise ValueError(f"kind must be one of {TD_KINDS}, got {kind!r}")
    rng = np.random.default_rng([seed, TD_KINDS.index(kind)])
    problems = []
    if kind == "n_step":
        for S, T, gamma, n in _N_STEP_CASES:
            tables = _tables(S, 2, rng)
            seg = _segment(S, T, rng)
            batch = _batch(tables, gamma, n, seg["obs"], rng.integers(2, size=T),
                           rng.standard_normal(T), seg["next_obs"], seg["terminated"],
                           seg["truncated"])
            exact = td.n_step_targets(batch.rewards.numpy(), seg["terminated"], seg["truncated"],
                                      tables.value[seg["next_obs"]], gamma, n)
            problems.append((f"n_step[S={S},T={T},gamma={gamma},n={n}]", batch, exact))
        return problems
    for S, A, B, gamma in _ONE_STEP_CASES:
        tables = _tables(S, A, rng)
        terminated, truncated = _flags(B, rng)
        states, next_states = rng.integers(S, size=B), rng.integers(S, size=B)
        batch = _batch(tables, gamma, 1, states, rng.integers(A, size=B),
                       rng.standard_normal(B), next_states, terminated, truncated)
        exact = _exact(kind, batch, tables, next_states)
        problems.append((f"{kind}[S={S},A={A},B={B},gamma={gamma}]", batch, exact))
    return problems


def _exact(kind: str, batch: TDBatch, tables: _Tables, next_states: np.ndarray) -> np.ndarray:
    r, term, gamma = batch.rewards.numpy(), batch.terminated.numpy(), batch.gamma
    if kind == "td0":
        return td.one_step_target(r, term, tables.value[next_states], gamma)
    if kind == "dqn":
        return td.dqn_target(r, term, tables.q_target[next_states], gamma)
    if kind == "double_dqn":
        return td.double_dqn_target(r, term, tables.q[next_states], tables.q_target[next_states],
                                    gamma)
    logits = tables.logits[next_states]
    log_pi = logits - logsumexp(logits, axis=1, keepdims=True)
    return td.soft_target(r, term, tables.q_target[next_states], tables.q2_target[next_states],
                          log_pi, batch.ent_coef, gamma)


# ----------------------------------------------------------------------------- diagnosis

def _known_mistakes(kind: str, batch: TDBatch) -> dict[str, np.ndarray]:
    """Targets that common mistakes produce on ``batch``, to name the one a failing output matches."""
    r = batch.rewards.numpy()
    term, trunc = batch.terminated.numpy(), batch.truncated.numpy()
    done = term | trunc
    nxt, cur = batch.next_obs, batch.obs
    gamma = batch.gamma

    def v_of(obs: Tensor) -> np.ndarray:
        with torch.no_grad():
            if kind in ("td0", "n_step"):
                return batch.value(obs).numpy()
            if kind == "dqn":
                return batch.q_target(obs).max(1).values.numpy()
            if kind == "double_dqn":
                best = batch.q(obs).argmax(1)
                return batch.q_target(obs).gather(1, best[:, None])[:, 0].numpy()
            dist = batch.policy(obs)
            q = torch.minimum(batch.q_target(obs), batch.q2_target(obs))
            return (dist.probs * (q - batch.ent_coef * dist.logits)).sum(1).numpy()

    if kind == "n_step":
        v_next = v_of(nxt)
        reset_obs = np.concatenate([v_of(cur)[1:], v_next[-1:]])
        return {
            "a window crossing an episode end (rewards of the next episode summed in)":
                td.n_step_targets(r, np.zeros_like(term), np.zeros_like(trunc),
                                  np.where(term, 0.0, v_next), gamma, batch.n),
            "no bootstrap after a truncation (truncated treated as terminated)":
                td.n_step_targets(r, done, np.zeros_like(trunc), v_next, gamma, batch.n),
            "bootstrapping through a termination (terminated ignored)":
                td.n_step_targets(r, np.zeros_like(term), done, v_next, gamma, batch.n),
            "bootstrap from the next row's obs (the reset observation after an episode end)":
                td.n_step_targets(r, term, trunc, reset_obs, gamma, batch.n),
        }
    v_next = v_of(nxt)
    mistakes = {
        "done = terminated | truncated used as the bootstrap mask (no bootstrap after a "
        "truncation)": td.one_step_target(r, done, v_next, gamma),
        "bootstrapping through termination (terminated ignored)":
            td.one_step_target(r, np.zeros_like(term), v_next, gamma),
        "the value of s_t (obs) instead of s_{t+1} (next_obs): off by one step":
            td.one_step_target(r, term, v_of(cur), gamma),
    }
    with torch.no_grad():
        if kind == "dqn":
            mistakes["bootstrapping from the online network instead of the target network"] = \
                td.dqn_target(r, term, batch.q(nxt).numpy(), gamma)
        if kind == "double_dqn":
            q, qt = batch.q(nxt).numpy(), batch.q_target(nxt).numpy()
            mistakes["the arg-max taken from the target network (plain DQN, not double)"] = \
                td.dqn_target(r, term, qt, gamma)
            mistakes["the arg-max action evaluated by the online network"] = \
                td.dqn_target(r, term, q, gamma)
        if kind == "soft":
            dist = batch.policy(nxt)
            q = torch.minimum(batch.q_target(nxt), batch.q2_target(nxt)).numpy()
            probs, log_pi = dist.probs.numpy(), dist.logits.numpy()
            alpha = batch.ent_coef
            mistakes["the entropy term missing (E_pi[Q] only)"] = \
                td.one_step_target(r, term, (probs * q).sum(1), gamma)
            mistakes["the entropy term with the wrong sign (+ alpha log pi)"] = \
                td.one_step_target(r, term, (probs * (q + alpha * log_pi)).sum(1), gamma)
            q_max = np.maximum(batch.q_target(nxt).numpy(), batch.q2_target(nxt).numpy())
            mistakes["max of the twin critics instead of the min"] = \
                td.soft_target(r, term, q_max, q_max, log_pi, alpha, gamma)
    return mistakes


def _as_vector(y: Any, size: int) -> np.ndarray:
    if isinstance(y, Tensor):
        y = y.detach().cpu().to(torch.float64).numpy()
    y = np.asarray(y, dtype=np.float64)
    if y.shape in ((size, 1), (1, size)):
        y = y.reshape(size)
    if y.shape != (size,):
        raise ValueError(f"target_fn must return one target per transition, shape [B] = "
                         f"({size},), got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("target_fn returned a non-finite target")
    return y


def _check_problem(target_fn: Callable[[TDBatch], Any], kind: str, name: str, batch: TDBatch,
                   exact: np.ndarray, alpha: float, seed: int) -> CheckResult:
    tol = RTOL * (1.0 + float(np.abs(exact).max()))
    details: dict[str, Any] = {"kind": kind, "gamma": batch.gamma, "n": batch.n,
                               "tolerance": tol, "rows": int(exact.size),
                               "terminated": int(batch.terminated.sum()),
                               "truncated": int(batch.truncated.sum())}
    try:
        with torch.no_grad():
            got = _as_vector(target_fn(batch), exact.size)
    except Exception as exc:  # the user's code crashing or returning junk fails this part
        return CheckResult(name=name, passed=False, alpha=alpha, seed=seed, details=details,
                           verdict=f"target_fn raised {type(exc).__name__}: {exc}")
    error = np.abs(got - exact)
    worst = int(error.argmax())
    passed = bool(error[worst] <= tol)
    if passed:
        verdict = f"max |error| = {error[worst]:.3g} <= {tol:.3g}"
    else:
        wrong = error > tol
        flags = batch.terminated.numpy(), batch.truncated.numpy()
        rows = {"terminated": int((wrong & flags[0]).sum()),
                "truncated only": int((wrong & flags[1] & ~flags[0]).sum()),
                "neither": int((wrong & ~flags[0] & ~flags[1]).sum())}
        matches = [why for why, y in _known_mistakes(kind, batch).items()
                   if np.abs(got - y).max() <= tol]
        verdict = (f"wrong on {int(wrong.sum())} of {exact.size} transitions (by row type: "
                   f"{rows}); worst row {worst}: got {got[worst]:.6g}, expected "
                   f"{exact[worst]:.6g}")
        if matches:
            verdict += f"; the output matches {matches[0]}"
        details.update({"wrong_rows": rows, "matches": matches})
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=alpha,
                       statistic=float(error[worst]), effect=float(error[worst]),
                       effect_name="max absolute error", detectable_effect=tol, n=int(exact.size),
                       seed=seed, details=details)


@guards_user_function("target_fn")
def check_td_targets(target_fn: Callable[[TDBatch], Any], *, kind: Kind = "dqn",
                     alpha: float = 1e-3, seed: int = 0) -> CheckResult:
    """Check TD targets ``target_fn(batch) -> y [B]`` computed from a replay batch, exactly.

    ``batch`` is a :class:`TDBatch`: ``obs, actions, rewards, next_obs, terminated, truncated``
    tensors, ``gamma``, and the networks (torch modules on one-hot observations). The target must
    be, per ``kind`` (equations in :mod:`rlcheck.td`):

    * ``"td0"``: ``r + gamma (1 - terminated) V(s')`` with ``V = batch.value``;
    * ``"dqn"``: ``r + gamma (1 - terminated) max_a Q_target(s', a)`` with ``batch.q_target``;
    * ``"double_dqn"``: ``r + gamma (1 - terminated) Q_target(s', argmax_a Q(s', a))``, the
      arg-max from the online ``batch.q``;
    * ``"soft"``: ``r + gamma (1 - terminated) sum_a pi(a|s') [min(Q1', Q2')(s', a) - alpha log
      pi(a|s')]`` with ``batch.q_target``, ``batch.q2_target``, ``batch.policy`` and
      ``alpha = batch.ent_coef`` (discrete SAC);
    * ``"n_step"``: the batch is one time-ordered segment; ``G_t`` sums up to ``batch.n`` rewards
      ``gamma^k r_{t+k}``, stops at the first episode end (or the segment's last step) and then
      bootstraps ``gamma^m V(next_obs)`` of that step unless it terminated.

    ``truncated`` is not ``terminated``: a transition cut by a time limit bootstraps from its
    ``next_obs``. The check catches ``done`` (``terminated | truncated``) as the bootstrap mask,
    bootstrapping through termination, the value of ``obs`` instead of ``next_obs``, n-step
    windows crossing an episode end or bootstrapping from the reset observation, DQN
    bootstrapping from the online network, double DQN taking its arg-max from the target network,
    and a missing or sign-flipped entropy term; a failing verdict names the mistake the output
    matches. The comparison is exact up to :data:`RTOL`; a correct target fails with probability
    0 whatever the seed (``alpha`` is declared for flakiness budgets and split over the parts).

    Args:
        target_fn: your target computation; it may return a numpy array or a tensor ``[B]``.
        kind: one of :data:`TD_KINDS`.
        alpha: declared false-failure probability (the check is exact: a correct target never
            fails).
        seed: seed of the random networks and batches.

    Example::

        def dqn_target(batch):
            with torch.no_grad():
                q_next = batch.q_target(batch.next_obs).max(dim=1).values
            return batch.rewards + batch.gamma * (1 - batch.terminated.float()) * q_next

        check_td_targets(dqn_target, kind="dqn").assert_passed()
    """
    if not callable(target_fn):
        raise ValueError(f"target_fn must be callable, got {type(target_fn).__name__}")
    if kind not in TD_KINDS:
        raise ValueError(f"kind must be one of {TD_KINDS}, got {kind!r}")
    alpha = validate_alpha(alpha)
    seed = validate_seed(seed)
    problems = make_td_batches(kind, seed)
    parts = [_check_problem(target_fn, kind, name, batch, exact, alpha / len(problems), seed)
             for name, batch, exact in problems]
    result = combine("check_td_targets", parts, seed=seed, details={"kind": kind, "rtol": RTOL})
    if result.passed:
        return replace(result, verdict=f"{kind} targets match the exact targets on all "
                                       f"{len(parts)} batches")
    first = next(p for p in parts if not p.passed)
    return replace(result, verdict=f"{kind} targets are WRONG on "
                                   f"{sum(not p.passed for p in parts)} of {len(parts)} batches; "
                                   f"{first.name}: {first.verdict}")
