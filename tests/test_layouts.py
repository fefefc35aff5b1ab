"""Layouts: exact round trips, users' functions in SB3 / CleanRL / Spinning Up / list style
checked through ``check_pg_weights(layout=...)``, and bad layouts named in errors.

False-failure probabilities: the correct functions run at ``CORRECT_ALPHA``; each planted bug
must be caught with a p-value below ``DECISIVE_P`` (declared ``BUG_MISS_ALPHA``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from rlcheck.checks import check_pg_weights
from rlcheck.episodes import sample
from rlcheck.exact import softmax
from rlcheck.layouts import (
    Layout,
    check_flat_episodes,
    episode_ids_time_major,
    episode_lengths_from_dones,
    from_layout,
    starts_from_dones,
    to_layout,
)
from rlcheck.mdp import random_mdp
from rlcheck.trust.levels import BUG_MISS_ALPHA, CORRECT_ALPHA, DECISIVE_P

N_EPISODES = 2000


def _batch(n: int = 12):
    rng = np.random.default_rng(0)
    mdp = random_mdp(3, 2, 5, 0.9, rng)
    return sample(mdp, softmax(rng.standard_normal((3, 2))), n, rng)


@pytest.mark.parametrize("layout", ["batch", "flat", "episodes", Layout("time_major", n_envs=4),
                                    Layout("time_major", n_envs=1)])
def test_round_trip_is_exact(layout) -> None:
    from rlcheck.layouts import as_layout

    batch = _batch()
    layout = as_layout(layout)
    data = to_layout(batch, layout)
    if layout.kind == "time_major":
        back = from_layout(data.rewards, batch, layout)
        assert data.episode_starts.sum() == batch.n and data.dones.sum() == batch.n
        assert (data.episode_starts[1:] == data.dones[:-1]).all()
        ids = episode_ids_time_major(data.episode_starts)
        assert len(np.unique(ids)) == batch.n
    elif layout.kind == "flat":
        back = from_layout(data.rewards, batch, layout)
        assert check_flat_episodes(data.rewards, data.dones, data.episode_lengths).tolist() == \
            [batch.horizon] * batch.n
    elif layout.kind == "episodes":
        back = from_layout([e.rewards for e in data], batch, layout)
    else:
        back = data.rewards
    assert np.array_equal(back, batch.rewards)


# --- users' functions, each in its own layout's idiom ------------------------------------------

def sb3_style_gae(rollout, gae_lambda=0.95):
    """SB3-like: backwards over [T, n_envs] with episode_starts of the *next* row."""
    T = rollout.rewards.shape[0]
    adv = np.zeros_like(rollout.rewards)
    last = 0.0
    for t in reversed(range(T)):
        if t == T - 1:
            non_terminal = 1.0 - rollout.next_episode_starts
            next_values = rollout.last_values
        else:
            non_terminal = 1.0 - rollout.episode_starts[t + 1]
            next_values = rollout.values[t + 1]
        delta = rollout.rewards[t] + rollout.gamma * next_values * non_terminal - rollout.values[t]
        last = delta + rollout.gamma * gae_lambda * non_terminal * last
        adv[t] = last
    return adv


def sb3_gae_off_by_one(rollout, gae_lambda=0.95):
    """Bug: the mask read from episode_starts[t] instead of [t + 1]."""
    T = rollout.rewards.shape[0]
    adv = np.zeros_like(rollout.rewards)
    last = 0.0
    for t in reversed(range(T)):
        non_terminal = 1.0 - rollout.episode_starts[t]
        next_values = rollout.last_values if t == T - 1 else rollout.values[t + 1]
        delta = rollout.rewards[t] + rollout.gamma * next_values * non_terminal - rollout.values[t]
        last = delta + rollout.gamma * gae_lambda * non_terminal * last
        adv[t] = last
    return adv


def spinning_up_style_rtg(buf):
    """Spinning Up-like: discounted cumsum per path of a flat buffer."""
    out, start = np.zeros_like(buf.rewards), 0
    for length, last_val in zip(buf.episode_lengths, buf.bootstrap_values, strict=True):
        rews = np.append(buf.rewards[start:start + length], last_val)
        acc = 0.0
        for k in range(length, -1, -1):
            acc = rews[k] + buf.gamma * acc
            if k < length:
                out[start + k] = acc
        start += length
    return out


def flat_rtg_reset_after_the_step(buf):
    """Bug: the running sum is reset *after* adding the done step's reward instead of before,
    so an episode's last step leaks the next episode in and its earlier steps lose that reward."""
    out, acc = np.zeros_like(buf.rewards), 0.0
    for i in range(buf.rewards.size - 1, -1, -1):
        acc = buf.rewards[i] + buf.gamma * acc
        out[i] = acc
        if buf.dones[i]:
            acc = 0.0
    return out


def per_episode_rtg(episodes):
    """A list of episodes in, a list of reward-to-go arrays out."""
    out = []
    for ep in episodes:
        discounts = ep.gamma ** np.arange(len(ep.rewards))
        out.append(np.cumsum((ep.rewards * discounts)[::-1])[::-1] / discounts - ep.values)
    return out


@pytest.mark.statistical(alpha=CORRECT_ALPHA)
@pytest.mark.parametrize(("fn", "layout"), [
    (sb3_style_gae, Layout("time_major", n_envs=8)),
    (spinning_up_style_rtg, "flat"),
    (per_episode_rtg, "episodes"),
], ids=["sb3-gae-time-major", "spinning-up-flat", "episode-list"])
def test_correct_functions_pass_in_their_layout(fn, layout) -> None:
    check_pg_weights(fn, target="causal", layout=layout, alpha=CORRECT_ALPHA,
                     n_episodes=N_EPISODES).assert_passed()


@pytest.mark.statistical(alpha=BUG_MISS_ALPHA)
@pytest.mark.parametrize(("fn", "layout"), [
    (sb3_gae_off_by_one, Layout("time_major", n_envs=8)),
    (flat_rtg_reset_after_the_step, "flat"),
], ids=["gae-mask-off-by-one", "flat-reset-after-step"])
def test_planted_layout_bugs_fail(fn, layout) -> None:
    result = check_pg_weights(fn, target="causal", layout=layout)  # default n_episodes 5000
    assert not result.passed and result.p_value < DECISIVE_P, result.verdict


def test_wrong_output_shapes_are_named() -> None:
    """A weights_fn whose output has the wrong layout fails the check (a verdict naming the
    problem, not a crash: rlcheck.checks.guard); bad arguments still raise."""
    for fn, layout, match in [
        (lambda r: r.rewards.T, "time_major", r"weights_fn output must be time-major"),
        (lambda b: b.rewards[:-1], "flat", r"weights_fn output must be flat"),
        (lambda eps: [e.rewards[:-1] for e in eps], "episodes",
         r"weights_fn output\[0\] must have the episode's length"),
    ]:
        result = check_pg_weights(fn, layout=layout, n_episodes=80)
        assert not result.passed and re.search(match, result.verdict), result.verdict
    with pytest.raises(ValueError, match="n_envs=7 must divide"):
        check_pg_weights(lambda r: r.rewards, layout=Layout("time_major", n_envs=7),
                         n_episodes=80)
    with pytest.raises(ValueError, match="layout must be one of"):
        check_pg_weights(lambda r: r.rewards, layout="column_major")


def test_users_flags_that_disagree_are_named() -> None:
    rewards = np.ones(6)
    assert check_flat_episodes(rewards, [0, 1, 0, 0, 0, 1]).tolist() == [2, 4]
    assert check_flat_episodes(rewards, [0, 1, 0, 0, 0, 1], [2, 4]).tolist() == [2, 4]
    with pytest.raises(ValueError, match="dones disagrees with episode_lengths at step 1"):
        check_flat_episodes(rewards, [0, 1, 0, 0, 0, 1], [3, 3])
    with pytest.raises(ValueError, match="episode_lengths must be positive and sum"):
        check_flat_episodes(rewards, [0, 1, 0, 0, 0, 1], [2, 2])
    with pytest.raises(ValueError, match=r"dones must have shape \(6,\)"):
        check_flat_episodes(rewards, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="dones must hold booleans"):
        check_flat_episodes(rewards, [0, 2, 0, 0, 0, 1])
    assert episode_lengths_from_dones([0, 0, 1, 0]).tolist() == [3, 1]  # last one unfinished
    with pytest.raises(ValueError, match="episode_starts must be time-major"):
        episode_ids_time_major(np.zeros(5))
    starts = starts_from_dones(np.array([[0, 0], [1, 0], [0, 1]]))
    assert starts.tolist() == [[1, 1], [0, 0], [1, 0]]
    assert episode_ids_time_major(starts).tolist() == [[0, 2], [0, 2], [1, 2]]
