"""``check_sampler``: is a user's trajectory collector faithful to the environment?

The check runs the user's ``collect_fn(policy, env_id, n_steps, seed)`` on CartPole-v1 with a
fixed stochastic linear-softmax policy and compares what comes back with the environment itself
and with rlcheck's serial reference sampler:

1. ``step_count`` (exact): exactly ``n_steps`` transitions, all fields of matching length.
2. ``episode_structure`` (exact): within an episode ``s'_t = s_{t+1}``; a ``terminated`` or
   ``truncated`` flag only on an episode's last transition, and every episode but an
   environment's budget-cut last one ends with one; no episode exceeds the time limit, and one
   cut by it has exactly its length.
3. ``replay`` (exact up to float32 rounding): setting CartPole's state to ``s_t`` and stepping
   ``a_t`` reproduces ``s'_t``, ``r_t`` and ``terminated_t``; every episode starts in the reset
   distribution ``U(-0.05, 0.05)^4``. This catches dropped final steps, off-by-one flags and
   environments that are not reset at an episode's end.
4. ``time_limit`` (exact): under the check's policy CartPole-v1 episodes last about 28 steps
   and never reach its 500-step time limit, so the check also calls
   ``collect_fn(policy, "rlcheck/CartPole-short-v1", 1000, seed)``: the same CartPole with a
   20-step time limit (:data:`rlcheck.sampling.core.SHORT_CARTPOLE_ID`, registered with
   gymnasium when :mod:`rlcheck.sampling` is imported). Replaying each transition gives the
   true terminations; every episode that reaches 20 steps without one must be ``truncated``
   and not ``terminated`` (storing ``done = terminated or truncated`` as ``terminated`` fails),
   every true termination must be ``terminated``, no other transition may be, and no episode
   may exceed 20 steps or be truncated before them (but an environment's budget-cut last
   one). With seed 0, 36 of the serial sampler's 54 episodes reach the limit; a run in which
   none does (only with a wrong policy distribution, which part 6 judges) reports truncation
   as not exercised.
5. ``distinct_states`` (exact): no state occurs twice. CartPole's states are continuous, so a
   repeated row means duplicated environments, seeds or transitions.
6. ``return_distribution`` (statistical, level ``alpha``): the two-sample Kolmogorov-Smirnov test
   of the complete episodes' returns against the reference's,
   ``D = sup_x |F_user(x) - F_ref(x)|``.

Only part 6 can fail a correct collector by chance, so the combined false-positive rate is
``alpha``. Returns are integers here (ties), which makes the KS test conservative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import stats as sps

from rlcheck.checks.guard import guards_user_function
from rlcheck.result import POWER, CheckResult, combine
from rlcheck.sampling import LinearSoftmaxPolicy, Rollouts, collect
from rlcheck.sampling.core import SHORT_CARTPOLE_ID, SHORT_CARTPOLE_LIMIT
from rlcheck.validation import (
    validate_alpha,
    validate_callable,
    validate_positive_int,
    validate_seed,
)

ENV_ID = "CartPole-v1"
TIME_LIMIT_STEPS = 1000
"""Transitions requested on :data:`SHORT_CARTPOLE_ID` by the ``time_limit`` part."""
RESET_BOUND = 0.05
"""CartPole resets each state coordinate uniformly in ``[-0.05, 0.05]``."""
REPLAY_ATOL = 1e-5
"""Tolerance of the replay: the state round-trips through float32 observations."""
FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated",
          "episode")


def reference_policy() -> LinearSoftmaxPolicy:
    """The fixed policy: ``P(push right | s) = sigmoid(0.5 x' + theta + 0.5 theta')``.

    Under it CartPole episodes last about 28 steps (sd 18), a spread of returns for part 5.
    """
    weights = np.zeros((4, 2))
    weights[:, 1] = [0.0, 0.5, 1.0, 0.5]
    return LinearSoftmaxPolicy(weights, np.zeros(2))


@guards_user_function("collect_fn")
def check_sampler(collect_fn: Callable[..., Any], *, alpha: float = 1e-3, seed: int = 0,
                  n_steps: int = 6000) -> CheckResult:
    """Check a trajectory collector against the environment and rlcheck's serial sampler.

    Args:
        collect_fn: ``collect_fn(policy, env_id, n_steps, seed)`` returning an object (or a
            dict) with the fields of :class:`~rlcheck.sampling.Rollouts` (``env_index``
            optional); ``policy`` is called as ``policy(obs[B, 4], rng) -> actions[B]``.
            It is called twice: with ``"CartPole-v1"`` and ``n_steps``, then with
            ``"rlcheck/CartPole-short-v1"`` (a 20-step time limit) and 1000 steps.
        alpha: false-positive rate of the return-distribution test (the only random part).
        seed: seed given to ``collect_fn``; the reference uses ``seed + 1`` (independent data).
        n_steps: transitions requested (about 200 episodes at the default).

    Returns:
        A combined :class:`~rlcheck.result.CheckResult` with one child per part.
    """
    validate_callable(collect_fn, "collect_fn")
    alpha = validate_alpha(alpha)
    seed = validate_seed(seed)
    n_steps = validate_positive_int(n_steps, "n_steps", minimum=500)  # a meaningful KS test
    policy = reference_policy()
    shape, rollouts = _collected(collect_fn(policy, ENV_ID, n_steps, seed), n_steps)
    if rollouts is None:
        return combine("check_sampler", [shape], seed=seed)
    n_envs = len(np.unique(rollouts.env_index))
    reference = collect(policy, ENV_ID, n_steps, seed + 1, workers=n_envs)
    children = [
        shape,
        _check_structure(rollouts),
        _check_replay(rollouts),
        _check_time_limit(collect_fn(policy, SHORT_CARTPOLE_ID, TIME_LIMIT_STEPS, seed)),
        _check_distinct(rollouts),
        _check_returns(rollouts, reference, alpha),
    ]
    return combine("check_sampler", children, seed=seed,
                   details={"env_id": ENV_ID, "n_steps": n_steps, "n_envs": n_envs,
                            "time_limit_env_id": SHORT_CARTPOLE_ID,
                            "time_limit_steps": TIME_LIMIT_STEPS})


def _exact(name: str, passed: bool, verdict: str, n: int, statistic: float = math.nan,
           **details: Any) -> CheckResult:
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=0.0, n=n,
                       statistic=statistic, detectable_effect=0.0, details=details)


def _field_problem(name: str, value: Any) -> str | None:
    """What is wrong with one returned field as data for CartPole, or ``None``."""
    try:
        array = np.asarray(value)
    except Exception as exc:  # a ragged list, an object that refuses conversion
        return f"{name} is not an array ({type(exc).__name__}: {exc})"
    if array.ndim == 0:
        return f"{name} is a scalar (0-d), expected one entry per transition"
    if array.dtype.kind not in "biuf":
        return f"{name} has dtype {array.dtype}, expected numbers"
    if name in ("observations", "next_observations"):
        if array.ndim != 2 or array.shape[1] != 4:
            return f"{name} has shape {array.shape}, expected [n, 4] CartPole states"
    elif array.ndim != 1:
        return f"{name} has shape {array.shape}, expected [n]"
    if not np.isfinite(array).all():
        return f"{name} contains NaN or infinite values"
    if name == "actions" and not np.isin(array, (0, 1)).all():
        bad = np.flatnonzero(~np.isin(array, (0, 1)))[0]
        return (f"actions must be CartPole's 0 or 1, got {array[bad].item()!r} at transition {bad} "
                "(an action outside the action space)")
    if name in ("terminated", "truncated") and not np.isin(array, (0, 1)).all():
        return f"{name} must be booleans, got values {np.unique(array)[:5]}"
    if name == "episode" and (array != np.round(array)).any():
        return f"episode ids must be integers, got {array[array != np.round(array)][0].item()!r}"
    return None


def _check_fields(got: Any, n_steps: int) -> CheckResult:
    missing = [f for f in FIELDS if not hasattr(got, f)]
    if missing:
        return _exact("step_count", False, f"result lacks fields {missing}", 0)
    problems = [p for p in (_field_problem(f, getattr(got, f)) for f in FIELDS) if p]
    env_index = getattr(got, "env_index", None)
    if env_index is not None:
        problems += [p for p in [_field_problem("env_index", env_index)] if p]
    if problems:
        return _exact("step_count", False, "malformed result: " + "; ".join(problems), 0)
    lengths = {f: len(np.asarray(getattr(got, f))) for f in FIELDS}
    if env_index is not None:
        lengths["env_index"] = len(np.asarray(env_index))
    if len(set(lengths.values())) != 1:
        return _exact("step_count", False, f"fields differ in length: {lengths}", 0)
    n = lengths["rewards"]
    ok = n == n_steps
    verdict = (f"exactly {n} transitions" if ok
               else f"{n} transitions returned, {n_steps} requested ({n - n_steps:+d})")
    return _exact("step_count", ok, verdict, n, statistic=float(n - n_steps))


def _collected(got: Any, n_steps: int) -> tuple[CheckResult, Rollouts | None]:
    """The ``step_count`` part on what a collector returned (an object or a dict with the
    fields of :class:`~rlcheck.sampling.Rollouts`), and the data as ``Rollouts`` if it passes."""
    if isinstance(got, Mapping):
        got = SimpleNamespace(**got)
    shape = _check_fields(got, n_steps)
    return shape, (_as_rollouts(got) if shape.passed else None)


def _as_rollouts(got: Any) -> Rollouts:
    n = len(np.asarray(got.rewards))
    env_index = getattr(got, "env_index", None)
    episode = np.asarray(got.episode).astype(np.int64)
    order = np.argsort(episode, kind="stable")
    arrays = {f: np.asarray(getattr(got, f))[order] for f in FIELDS}
    arrays["episode"] = np.unique(arrays["episode"], return_inverse=True)[1].astype(np.int64)
    env = (np.zeros(n, np.int64) if env_index is None
           else np.asarray(env_index, dtype=np.int64)[order])
    arrays["terminated"] = arrays["terminated"].astype(bool)
    arrays["truncated"] = arrays["truncated"].astype(bool)
    return Rollouts(**arrays, env_index=env)


def _check_structure(r: Rollouts) -> CheckResult:
    problems: list[str] = []
    last = r.last_index()
    is_last = np.zeros(r.n_steps, dtype=bool)
    is_last[last] = True
    inner = ~is_last[:-1]
    gap = np.abs(r.next_observations[:-1][inner] - r.observations[1:][inner])
    if gap.size and gap.max() > REPLAY_ATOL:
        problems.append(f"{int((gap.max(1) > REPLAY_ATOL).sum())} transitions whose next state "
                        "is not the following state of the same episode")
    early = (r.terminated | r.truncated) & ~is_last
    if early.any():
        problems.append(f"{int(early.sum())} done flags before an episode's last transition")
    final_of_env = np.r_[r.env_index[last][1:] != r.env_index[last][:-1], True]
    unflagged = ~(r.terminated[last] | r.truncated[last]) & ~final_of_env
    if unflagged.any():
        problems.append(f"{int(unflagged.sum())} episodes end without a terminated/truncated flag"
                        " (dropped final steps?)")
    limit = _time_limit()
    lengths = r.episode_lengths()
    if lengths.max() > limit:
        problems.append(f"an episode of {int(lengths.max())} steps exceeds the limit {limit}")
    cut = r.truncated[last] & ~r.terminated[last] & ~final_of_env & (lengths != limit)
    if cut.any():
        problems.append(f"{int(cut.sum())} episodes truncated before the time limit {limit}")
    return _exact("episode_structure", not problems,
                  "; ".join(problems) or f"{len(lengths)} well-formed episodes", r.n_steps)


def _time_limit() -> int:
    import gymnasium as gym

    limit = gym.spec(ENV_ID).max_episode_steps
    if limit is None:
        raise RuntimeError(f"{ENV_ID} is registered without a time limit")
    return int(limit)


def _replay_steps(r: Rollouts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CartPole's own ``(s', r, terminated)`` for each stored ``(s_t, a_t)``: the unwrapped
    environment set to ``s_t`` and stepped with ``a_t`` (no time limit)."""
    import gymnasium as gym

    env: Any = gym.make(ENV_ID).unwrapped  # CartPoleEnv: its state is set directly below
    env.reset(seed=0)
    nexts, rewards, terms = [], [], []
    for obs, action in zip(r.observations, r.actions, strict=True):
        env.state = np.asarray(obs, dtype=np.float64)
        env.steps_beyond_terminated = None
        replay_next, replay_reward, replay_term, _, _ = env.step(int(action))
        nexts.append(replay_next)
        rewards.append(float(replay_reward))
        terms.append(bool(replay_term))
    env.close()
    return (np.asarray(nexts, dtype=np.float64).reshape(r.n_steps, -1),
            np.asarray(rewards, dtype=np.float64), np.asarray(terms, dtype=bool))


def _check_replay(r: Rollouts) -> CheckResult:
    replay_next, replay_reward, replay_term = _replay_steps(r)
    bad_next = int((~np.isclose(replay_next, np.asarray(r.next_observations, np.float64),
                                rtol=0, atol=REPLAY_ATOL)).any(axis=1).sum())
    bad_reward = int((~np.isclose(replay_reward, r.rewards, rtol=1e-9, atol=1e-9)).sum())
    bad_term = int((replay_term != r.terminated).sum())
    starts = r.observations[np.r_[0, r.last_index()[:-1] + 1]]
    bad_start = int((np.abs(starts) > RESET_BOUND + 1e-7).any(axis=1).sum())
    problems = [f"{k} {what}" for k, what in [
        (bad_next, "next states"), (bad_reward, "rewards"), (bad_term, "terminated flags"),
        (bad_start, "episode starts outside the reset distribution (not reset?)")] if k]
    return _exact("replay", not problems,
                  ("disagree with the environment: " + ", ".join(problems)) if problems
                  else f"all {r.n_steps} transitions replay exactly", r.n_steps,
                  statistic=float(bad_next + bad_reward + bad_term + bad_start),
                  bad_next=bad_next, bad_reward=bad_reward, bad_terminated=bad_term,
                  bad_start=bad_start)


def _check_time_limit(got: Any) -> CheckResult:
    """The ``time_limit`` part on the data collected in :data:`SHORT_CARTPOLE_ID`: episodes
    cut by its time limit are ``truncated`` and not ``terminated``; true terminations (by
    replay) are ``terminated``."""
    name, limit = "time_limit", SHORT_CARTPOLE_LIMIT
    shape, r = _collected(got, TIME_LIMIT_STEPS)
    if r is None:
        return _exact(name, False, f"on {SHORT_CARTPOLE_ID}: {shape.verdict}", shape.n)
    _, _, true_term = _replay_steps(r)
    last, lengths = r.last_index(), r.episode_lengths()
    at_limit = (lengths == limit) & ~true_term[last]
    n_cut = int(at_limit.sum())
    cut_terminated = int((at_limit & r.terminated[last]).sum())
    cut_unflagged = int((at_limit & ~r.truncated[last]).sum())
    missed = int((true_term & ~r.terminated).sum())
    is_cut = np.zeros(r.n_steps, dtype=bool)
    is_cut[last[at_limit]] = True
    spurious = int((r.terminated & ~true_term & ~is_cut).sum())
    final_of_env = np.r_[r.env_index[last][1:] != r.env_index[last][:-1], True]
    early = int((r.truncated[last] & ~r.terminated[last] & (lengths < limit)
                 & ~final_of_env).sum())
    problems = []
    if lengths.max() > limit:
        problems.append(f"an episode of {int(lengths.max())} steps exceeds the {limit}-step time "
                        f"limit of {SHORT_CARTPOLE_ID} (is the environment made from env_id?)")
    if early:
        problems.append(f"{early} episodes truncated before the {limit}-step time limit")
    if cut_terminated:
        problems.append(f"{cut_terminated} of {n_cut} episodes cut by the {limit}-step time "
                        "limit stored as terminated: a time limit is truncated, not terminated "
                        "(done = terminated or truncated loses the difference, and a value "
                        "target must bootstrap there)")
    if cut_unflagged:
        problems.append(f"{cut_unflagged} of {n_cut} episodes cut by the time limit not marked "
                        "truncated")
    if missed:
        problems.append(f"{missed} true terminations not stored as terminated")
    if spurious:
        problems.append(f"{spurious} other transitions stored as terminated where the "
                        "environment did not terminate")
    if problems:
        verdict = f"on {SHORT_CARTPOLE_ID}: " + "; ".join(problems)
    elif n_cut == 0:  # a correct collector with the check's policy: probability about 0
        verdict = (f"on {SHORT_CARTPOLE_ID}: no episode reached the {limit}-step time limit, so "
                   f"truncation was not exercised; all {int(true_term.sum())} true terminations "
                   "are terminated (the return test judges the episode lengths)")
    else:
        verdict = (f"on {SHORT_CARTPOLE_ID}: all {n_cut} episodes cut by the {limit}-step time "
                   f"limit are truncated, not terminated; all {int(true_term.sum())} true "
                   "terminations are terminated")
    return _exact(name, not problems, verdict, r.n_steps,
                  statistic=float(cut_terminated + cut_unflagged + missed + spurious),
                  time_limit_cuts=n_cut, true_terminations=int(true_term.sum()),
                  cuts_stored_terminated=cut_terminated, cuts_not_truncated=cut_unflagged,
                  terminations_missed=missed, spurious_terminations=spurious,
                  truncated_early=early)


def _check_distinct(r: Rollouts) -> CheckResult:
    unique = len(np.unique(np.asarray(r.observations, dtype=np.float64), axis=0))
    dup = r.n_steps - unique
    return _exact("distinct_states", dup == 0,
                  f"{dup} repeated states (duplicated environments or seeds?)" if dup
                  else f"all {r.n_steps} states distinct", r.n_steps, statistic=float(dup))


def _check_returns(r: Rollouts, ref: Rollouts, alpha: float) -> CheckResult:
    x = r.episode_returns()[r.complete_episodes()]
    y = ref.episode_returns()[ref.complete_episodes()]
    if len(x) < 10:
        return CheckResult(name="return_distribution", passed=False, alpha=alpha, n=len(x),
                           verdict=f"only {len(x)} complete episodes; need at least 10")
    res = sps.ks_2samp(x, y)
    scale = math.sqrt(1 / len(x) + 1 / len(y))
    critical = math.sqrt(-0.5 * math.log(alpha / 2)) * scale
    # the ECDF difference at a point has sd <= scale / 2; POWER quantile added to the critical D
    detectable = min(1.0, critical + sps.norm.ppf(POWER) * scale / 2)
    passed = bool(res.pvalue >= alpha)
    verdict = (f"KS D={res.statistic:.3f} (p={res.pvalue:.2g}) between {len(x)} user and "
               f"{len(y)} reference episode returns; means {x.mean():.1f} vs {y.mean():.1f}")
    return CheckResult(name="return_distribution", passed=passed, verdict=verdict, alpha=alpha,
                       p_value=float(res.pvalue), statistic=float(res.statistic),
                       effect=float(res.statistic), n=len(x) + len(y),
                       detectable_effect=float(detectable),
                       effect_name="Kolmogorov-Smirnov distance between return distributions",
                       details={"user_mean": float(x.mean()), "reference_mean": float(y.mean())})
