"""check_sampler passes faithful collectors and catches planted sampling bugs.

Each buggy collector below is the kind of hand-written loop people get wrong; each must fail, and
the part of the check that catches it is named.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlcheck.checks import check_sampler
from rlcheck.sampling import Rollouts, collect
from rlcheck.trust.levels import CORRECT_ALPHA

ALPHA = 1e-3


def naive_loop(policy, env_id, n_steps, seed, *, n_envs=1, bug=None):
    """A hand-written collector; ``bug`` plants one mistake."""
    rows = {k: [] for k in ("obs", "act", "rew", "next", "term", "trunc", "ep", "env")}
    per = [n_steps // n_envs + (i < n_steps % n_envs) for i in range(n_envs)]
    episode = 0
    for i in range(n_envs):
        env = gym.make(env_id)
        rng = np.random.default_rng([seed, i])
        env_seed = seed if bug == "same_seed" else seed * 1000 + i
        obs, _ = env.reset(seed=env_seed)
        steps = 0
        while steps < per[i]:
            if bug == "reused_noise":  # a fresh generator each step: the same u every time
                rng = np.random.default_rng([seed, i])
            action = policy(obs[None], rng)[0]
            nxt, rew, term, trunc, _ = env.step(action)
            done = term or trunc
            if bug == "time_limit_terminal":  # done = terminated or truncated, stored as terminal
                term, trunc = done, False
            if bug in ("drop_last", "drop_last_flagged") and done:
                if bug == "drop_last_flagged" and rows["ep"] and rows["ep"][-1] == episode:
                    rows["term"][-1] = term  # the flag moves to the previous transition
                    rows["trunc"][-1] = trunc
                obs, _ = env.reset()
                episode += 1
                continue
            steps += 1
            cut = steps == per[i]
            for k, v in zip(("obs", "act", "rew", "next", "term", "env"),
                            (obs, action, rew, nxt, term, i), strict=True):
                rows[k].append(v)
            rows["trunc"].append(trunc or (cut and not term))
            rows["ep"].append(episode)
            obs = nxt
            if done or cut:
                episode += 1
                if bug != "no_reset":
                    obs, _ = env.reset()
    ep = np.unique(np.asarray(rows["ep"]), return_inverse=True)[1]
    return Rollouts(np.asarray(rows["obs"]), np.asarray(rows["act"]), np.asarray(rows["rew"]),
                    np.asarray(rows["next"]), np.asarray(rows["term"]),
                    np.asarray(rows["trunc"]), ep, np.asarray(rows["env"]))


def failing_parts(result) -> set[str]:
    return {c.name for c in result.children if not c.passed}


@pytest.mark.statistical(alpha=3 * CORRECT_ALPHA)  # three checks at CORRECT_ALPHA each
def test_rlcheck_samplers_pass():
    for sampler in ("serial", "threads", "sync_vector"):
        result = check_sampler(
            lambda p, e, n, s, sampler=sampler: collect(p, e, n, s, sampler=sampler, workers=2),
            alpha=CORRECT_ALPHA, seed=0)
        result.assert_passed()
    assert result.alpha == CORRECT_ALPHA
    assert {c.name for c in result.children} == {
        "step_count", "episode_structure", "replay", "time_limit", "distinct_states",
        "return_distribution"}
    time_limit = next(c for c in result.children if c.name == "time_limit")
    assert time_limit.details["time_limit_cuts"] > 0 and time_limit.details["true_terminations"] > 0


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
def test_correct_hand_written_loop_passes():
    check_sampler(lambda p, e, n, s: naive_loop(p, e, n, s, n_envs=3), alpha=CORRECT_ALPHA,
                  seed=1).assert_passed()


def test_dropping_the_last_step_of_each_episode_fails():
    result = check_sampler(lambda p, e, n, s: naive_loop(p, e, n, s, bug="drop_last"),
                           alpha=ALPHA, seed=0)
    assert not result.passed
    assert "episode_structure" in failing_parts(result)  # episodes end without a flag
    # moving the flag to the previous transition hides that, but not from the replay
    result = check_sampler(lambda p, e, n, s: naive_loop(p, e, n, s, bug="drop_last_flagged"),
                           alpha=ALPHA, seed=0)
    assert not result.passed
    assert "replay" in failing_parts(result)


def test_time_limit_stored_as_terminated_fails():
    """CartPole-v1 episodes never reach 500 steps under the check's policy; the 20-step variant
    cuts most episodes, and a cut stored as terminated fails the time_limit part (exactly)."""
    calls = []

    def collector(p, e, n, s):
        calls.append((e, n))
        return naive_loop(p, e, n, s, bug="time_limit_terminal")

    result = check_sampler(collector, alpha=ALPHA, seed=0)
    assert calls == [("CartPole-v1", 6000), ("rlcheck/CartPole-short-v1", 1000)]
    assert "time_limit" in failing_parts(result)  # the exact parts on CartPole-v1 all pass:
    assert not failing_parts(result) & {"step_count", "episode_structure", "replay",
                                        "distinct_states"}
    part = next(c for c in result.children if c.name == "time_limit")
    assert "stored as terminated" in part.verdict
    assert part.details["cuts_stored_terminated"] == part.details["time_limit_cuts"] > 0


def test_a_collector_ignoring_env_id_fails_the_time_limit_part():
    result = check_sampler(lambda p, e, n, s: naive_loop(p, "CartPole-v1", n, s), alpha=ALPHA)
    part = next(c for c in result.children if c.name == "time_limit")
    assert not part.passed and "exceeds the 20-step time limit" in part.verdict


@pytest.mark.filterwarnings("ignore:.*already returned terminated")
def test_not_resetting_at_episode_end_fails():
    result = check_sampler(lambda p, e, n, s: naive_loop(p, e, n, s, bug="no_reset"),
                           alpha=ALPHA, seed=0)
    assert not result.passed
    assert "replay" in failing_parts(result)


def test_duplicated_environment_seeds_fail():
    result = check_sampler(lambda p, e, n, s: naive_loop(p, e, n, s, n_envs=4, bug="same_seed"),
                           alpha=ALPHA, seed=0)
    assert not result.passed
    assert "distinct_states" in failing_parts(result)


def test_reused_policy_noise_fails_the_return_test():
    # every transition is a real CartPole step, so only the return distribution can tell
    result = check_sampler(lambda p, e, n, s: naive_loop(p, e, n, s, bug="reused_noise"),
                           alpha=ALPHA, seed=0)
    assert failing_parts(result) == {"return_distribution"}


def test_short_or_malformed_results_fail_cleanly():
    short = check_sampler(lambda p, e, n, s: collect(p, e, n - 1, s), alpha=ALPHA)
    assert not short.passed and failing_parts(short) == {"step_count"}

    class Missing:
        rewards = np.zeros(3)

    assert not check_sampler(lambda *a: Missing(), alpha=ALPHA).passed


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
def test_a_dict_result_is_accepted():
    def as_dict(p, e, n, s):
        r = collect(p, e, n, s, workers=2)
        return {f: getattr(r, f) for f in ("observations", "actions", "rewards",
                                           "next_observations", "terminated", "truncated",
                                           "episode", "env_index")}

    check_sampler(as_dict, alpha=CORRECT_ALPHA, seed=3).assert_passed()


def test_duplicated_transitions_fail():
    def doubled(p, e, n, s):
        r = collect(p, e, n // 2, s)
        # the same half collected twice, as by two workers given one seed
        return Rollouts(*(np.concatenate([getattr(r, f)] * 2) for f in (
            "observations", "actions", "rewards", "next_observations", "terminated",
            "truncated")), np.concatenate([r.episode, r.episode + r.n_episodes]),
            np.r_[np.zeros(r.n_steps, int), np.ones(r.n_steps, int)])

    result = check_sampler(doubled, alpha=ALPHA)
    assert "distinct_states" in failing_parts(result)


def test_wrong_environment_dynamics_fail_replay():
    def other_env(p, e, n, s):
        return collect(p, e, n, s, env_kwargs={"sutton_barto_reward": True})

    result = check_sampler(other_env, alpha=ALPHA)
    assert "replay" in failing_parts(result)


def test_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        check_sampler(lambda *a: None, alpha=0.0)
    with pytest.raises(ValueError, match="n_steps"):
        check_sampler(lambda *a: None, n_steps=10)


def _with(field: str, value: object):
    def collector(p, e, n, s):
        r = collect(p, e, n, s)
        fields = {f: getattr(r, f) for f in ("observations", "actions", "rewards",
                                             "next_observations", "terminated", "truncated",
                                             "episode", "env_index")}
        fields[field] = value(fields[field]) if callable(value) else value
        return fields
    return collector


@pytest.mark.parametrize("field, value, problem", [
    ("actions", lambda a: np.where(np.arange(len(a)) == 5, 2, a),
     "actions must be CartPole's 0 or 1, got 2 at transition 5"),
    ("actions", lambda a: a + 0.5, "actions must be CartPole's 0 or 1"),
    ("rewards", 1.0, "rewards is a scalar (0-d)"),
    ("observations", lambda o: o[:, :3], "observations has shape (6000, 3)"),
    ("next_observations", lambda o: np.where(o == o.max(), np.nan, o), "NaN or infinite"),
    ("episode", lambda e: e.astype(str), "episode has dtype <U"),
    ("terminated", lambda t: t * 3, "terminated must be booleans"),
])
def test_malformed_collector_output_fails_the_check_naming_the_field(field, value, problem):
    """An invalid action raised AssertionError (CartPole's), 0-d fields TypeError (len())."""
    result = check_sampler(_with(field, value), alpha=ALPHA, n_steps=6000)
    assert not result.passed and failing_parts(result) == {"step_count"}
    assert problem in result.children[0].verdict
