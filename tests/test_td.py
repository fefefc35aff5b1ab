"""The TD target equations of rlcheck.td against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from rlcheck import td


def test_one_step_target_masks_termination_only() -> None:
    y = td.one_step_target([1.0, 1.0, 1.0], [False, True, False], [2.0, 2.0, 2.0], 0.5)
    assert np.allclose(y, [2.0, 1.0, 2.0])


def test_dqn_and_double_dqn_targets() -> None:
    q_online = np.array([[1.0, 0.0], [0.0, 1.0]])
    q_target = np.array([[3.0, 5.0], [7.0, 2.0]])
    assert np.allclose(td.dqn_target([0.0, 1.0], [False, False], q_target, 0.5), [2.5, 4.5])
    # the online net picks a = 0 then a = 1; the target net evaluates them
    assert np.allclose(td.double_dqn_target([0.0, 1.0], [False, True], q_online, q_target, 0.5),
                       [1.5, 1.0])


def test_soft_value_is_expected_q_plus_entropy() -> None:
    probs = np.array([[0.25, 0.75], [1.0, 0.0]])
    q = np.array([[1.0, 2.0], [4.0, -9.0]])
    with np.errstate(divide="ignore"):
        v = td.soft_value(q, np.log(probs), 0.5)
    entropy = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    assert np.allclose(v, [1.75 + 0.5 * entropy, 4.0])
    y = td.soft_target([1.0, 1.0], [False, True], q, q + 1.0, np.log([[0.5, 0.5]] * 2), 0.0, 0.9)
    assert np.allclose(y, [1.0 + 0.9 * 1.5, 1.0])


def test_n_step_targets_stop_at_episode_ends_and_bootstrap_after_truncation() -> None:
    r = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    terminated = np.array([False, True, False, False, False])
    truncated = np.array([False, False, False, True, False])
    v = np.array([10.0, 20.0, 30.0, 40.0, 50.0])  # V(next_obs_t)
    g = 0.5
    y = td.n_step_targets(r, terminated, truncated, v, g, 3)
    expected = [1 + g * 2,                      # episode terminates at step 1
                2.0,
                3 + g * 4 + g**2 * 40,          # truncated at step 3: bootstrap V(next_obs_3)
                4 + g * 40,
                5 + g * 50]                     # segment end: bootstrap
    assert np.allclose(y, expected)
    assert np.allclose(td.n_step_targets(r, terminated, truncated, v, g, 1),
                       td.one_step_target(r, terminated, v, g))


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="gamma"):
        td.one_step_target([1.0], [False], [1.0], 1.5)
    with pytest.raises(ValueError, match="v_tp1"):
        td.one_step_target([1.0, 2.0], [False, False], [1.0], 0.9)
    with pytest.raises(ValueError, match="n must be"):
        td.n_step_targets([1.0], [False], [False], [1.0], 0.9, 0)
    with pytest.raises(ValueError, match="q_target_tp1"):
        td.dqn_target([1.0, 2.0], [False, False], np.zeros(2), 0.9)
