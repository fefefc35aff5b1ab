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
4. ``distinct_states`` (exact): no state occurs twice. CartPole's states are continuous, so a
   repeated row means duplicated environments, seeds or transitions.
5. ``return_distribution`` (statistical, level ``alpha``): the two-sample Kolmogorov-Smirnov test
   of the complete episodes' returns against the reference's,
   ``D = sup_x |F_user(x) - F_ref(x)|``.

Only part 5 can fail a correct collector by chance, so the combined false-positive rate is
``alpha``. Returns are integers here (ties), which makes the KS test conservative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import stats as sps

from rlcheck.result import POWER, CheckResult, combine
from rlcheck.sampling import LinearSoftmaxPolicy, Rollouts, collect

ENV_ID = "CartPole-v1"
RESET_BOUND = 0.05
"""CartPole resets each state coordinate uniformly in ``[-0.05, 0.05]``."""
REPLAY_ATOL = 1e-5
"""Tolerance of the replay: the state round-trips through float32 observations."""
FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated",
          "episode")


def check_policy() -> LinearSoftmaxPolicy:
    """The fixed policy: ``P(push right | s) = sigmoid(0.5 x' + theta + 0.5 theta')``.

    Under it CartPole episodes last about 28 steps (sd 18), a spread of returns for part 5.
    """
    weights = np.zeros((4, 2))
    weights[:, 1] = [0.0, 0.5, 1.0, 0.5]
    return LinearSoftmaxPolicy(weights, np.zeros(2))


def check_sampler(collect_fn: Callable[..., Any], *, alpha: float = 1e-3, seed: int = 0,
                  n_steps: int = 6000) -> CheckResult:
    """Check a trajectory collector against the environment and rlcheck's serial sampler.

    Args:
        collect_fn: ``collect_fn(policy, env_id, n_steps, seed)`` returning an object (or a
            dict) with the fields of :class:`~rlcheck.sampling.Rollouts` (``env_index``
            optional); ``policy`` is called as ``policy(obs[B, 4], rng) -> actions[B]``.
        alpha: false-positive rate of the return-distribution test (the only random part).
        seed: seed given to ``collect_fn``; the reference uses ``seed + 1`` (independent data).
        n_steps: transitions requested (about 200 episodes at the default).

    Returns:
        A combined :class:`~rlcheck.result.CheckResult` with one child per part.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if n_steps < 500:
        raise ValueError(f"n_steps must be >= 500 for a meaningful return test, got {n_steps}")
    policy = check_policy()
    got = collect_fn(policy, ENV_ID, n_steps, seed)
    if isinstance(got, Mapping):
        got = SimpleNamespace(**got)
    shape = _check_fields(got, n_steps)
    if not shape.passed:
        return combine("check_sampler", [shape], seed=seed)
    rollouts = _as_rollouts(got)
    n_envs = len(np.unique(rollouts.env_index))
    reference = collect(policy, ENV_ID, n_steps, seed + 1, workers=n_envs)
    children = [
        shape,
        _check_structure(rollouts),
        _check_replay(rollouts),
        _check_distinct(rollouts),
        _check_returns(rollouts, reference, alpha),
    ]
    return combine("check_sampler", children, seed=seed,
                   details={"env_id": ENV_ID, "n_steps": n_steps, "n_envs": n_envs})


def _exact(name: str, passed: bool, verdict: str, n: int, statistic: float = math.nan,
           **details: Any) -> CheckResult:
    return CheckResult(name=name, passed=passed, verdict=verdict, alpha=0.0, n=n,
                       statistic=statistic, detectable_effect=0.0, details=details)


def _check_fields(got: Any, n_steps: int) -> CheckResult:
    missing = [f for f in FIELDS if not hasattr(got, f)]
    if missing:
        return _exact("step_count", False, f"result lacks fields {missing}", 0)
    lengths = {f: len(np.asarray(getattr(got, f))) for f in FIELDS}
    if len(set(lengths.values())) != 1:
        return _exact("step_count", False, f"fields differ in length: {lengths}", 0)
    n = lengths["rewards"]
    ok = n == n_steps
    verdict = (f"exactly {n} transitions" if ok
               else f"{n} transitions returned, {n_steps} requested ({n - n_steps:+d})")
    return _exact("step_count", ok, verdict, n, statistic=float(n - n_steps))


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

    return int(gym.spec(ENV_ID).max_episode_steps)


def _check_replay(r: Rollouts) -> CheckResult:
    import gymnasium as gym

    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    bad_next = bad_reward = bad_term = 0
    for obs, action, reward, nxt, term in zip(r.observations, r.actions, r.rewards,
                                              r.next_observations, r.terminated, strict=True):
        env.state = np.asarray(obs, dtype=np.float64)
        env.steps_beyond_terminated = None
        replay_next, replay_reward, replay_term, _, _ = env.step(int(action))
        bad_next += not np.allclose(replay_next, nxt, atol=REPLAY_ATOL, rtol=0)
        bad_reward += not math.isclose(float(replay_reward), float(reward), abs_tol=1e-9)
        bad_term += bool(replay_term) != bool(term)
    env.close()
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
