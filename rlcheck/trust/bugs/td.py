"""Planted bugs in TD targets as people write them, for :func:`rlcheck.checks.check_td_targets`.

Each function maps a :class:`~rlcheck.checks.td.TDBatch` to targets ``y [B]`` in the style of
real code (torch, batch-first, ``gather``/``max`` on network outputs). :data:`TD_IMPLEMENTATIONS`
lists them as ``(name, kind, must, description, fn)``: ``must="catch"`` for a bug the check must
fail, ``"pass"`` for a correct target written in an unusual way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rlcheck.checks.td import TDBatch
from rlcheck.trust.bugs import Mutant

TargetFn = Callable[[TDBatch], Tensor]


def _mask(flags: Tensor) -> Tensor:
    return 1.0 - flags.to(torch.float64)


# ----------------------------------------------------------------------------- one-step, value

def td0_target(b: TDBatch) -> Tensor:
    """``r + gamma (1 - terminated) V(s')``."""
    return b.rewards + b.gamma * _mask(b.terminated) * b.value(b.next_obs)


def td0_where(b: TDBatch) -> Tensor:
    """The same with ``torch.where`` on the terminal rows, in float32 (correct)."""
    v = b.value(b.next_obs.float()).float()
    r = b.rewards.float()
    return torch.where(b.terminated, r, r + b.gamma * v)


def td0_done_mask(b: TDBatch) -> Tensor:
    """Bug: ``1 - done`` with ``done = terminated | truncated``."""
    return b.rewards + b.gamma * _mask(b.dones) * b.value(b.next_obs)


def td0_obs_instead_of_next(b: TDBatch) -> Tensor:
    """Bug: bootstraps ``V(s_t)``."""
    return b.rewards + b.gamma * _mask(b.terminated) * b.value(b.obs)


# ----------------------------------------------------------------------------- DQN

def dqn_target(b: TDBatch) -> Tensor:
    """``r + gamma (1 - terminated) max_a Q_target(s', a)``."""
    q_next = b.q_target(b.next_obs).max(dim=1).values
    return b.rewards + b.gamma * _mask(b.terminated) * q_next


def dqn_loop(b: TDBatch) -> Tensor:
    """A Python loop over transitions (correct, slow style)."""
    out = []
    for i in range(b.rewards.shape[0]):
        y = float(b.rewards[i])
        if not bool(b.terminated[i]):
            y += b.gamma * float(b.q_target(b.next_obs[i:i + 1]).max())
        out.append(y)
    return torch.tensor(out)


def dqn_done_mask(b: TDBatch) -> Tensor:
    """Bug: ``done`` instead of ``terminated`` (no bootstrap after truncation)."""
    q_next = b.q_target(b.next_obs).max(dim=1).values
    return b.rewards + b.gamma * _mask(b.dones) * q_next


def dqn_no_mask(b: TDBatch) -> Tensor:
    """Bug: bootstraps through termination."""
    return b.rewards + b.gamma * b.q_target(b.next_obs).max(dim=1).values


def dqn_obs_instead_of_next(b: TDBatch) -> Tensor:
    """Bug: off by one state: ``max_a Q_target(s_t, a)``."""
    return b.rewards + b.gamma * _mask(b.terminated) * b.q_target(b.obs).max(dim=1).values


def dqn_online_bootstrap(b: TDBatch) -> Tensor:
    """Bug: bootstraps from the online network."""
    return b.rewards + b.gamma * _mask(b.terminated) * b.q(b.next_obs).max(dim=1).values


# ----------------------------------------------------------------------------- double DQN

def double_dqn_target(b: TDBatch) -> Tensor:
    """``a* = argmax_a Q(s', a)`` (online), ``y = r + gamma (1 - terminated) Q_target(s', a*)``."""
    best = b.q(b.next_obs).argmax(dim=1, keepdim=True)
    q_next = b.q_target(b.next_obs).gather(1, best).squeeze(1)
    return b.rewards + b.gamma * _mask(b.terminated) * q_next


def double_dqn_argmax_target(b: TDBatch) -> Tensor:
    """Bug: the arg-max from the target network (that is plain DQN)."""
    best = b.q_target(b.next_obs).argmax(dim=1, keepdim=True)
    q_next = b.q_target(b.next_obs).gather(1, best).squeeze(1)
    return b.rewards + b.gamma * _mask(b.terminated) * q_next


# ----------------------------------------------------------------------------- soft (discrete SAC)

def soft_target(b: TDBatch) -> Tensor:
    """``r + gamma (1 - terminated) sum_a pi(a|s') [min(Q1', Q2')(s', a) - alpha log pi(a|s')]``."""
    dist = b.policy(b.next_obs)
    q = torch.minimum(b.q_target(b.next_obs), b.q2_target(b.next_obs))
    v_next = (dist.probs * (q - b.ent_coef * dist.logits)).sum(dim=1)
    return b.rewards + b.gamma * _mask(b.terminated) * v_next


def soft_target_with_entropy(b: TDBatch) -> Tensor:
    """The same as ``E_pi[min Q] + alpha H(pi)`` with ``Categorical.entropy()`` (correct)."""
    dist = b.policy(b.next_obs)
    q = torch.minimum(b.q_target(b.next_obs), b.q2_target(b.next_obs))
    v_next = (dist.probs * q).sum(dim=1) + b.ent_coef * dist.entropy()
    return b.rewards + b.gamma * _mask(b.terminated) * v_next


def soft_no_entropy(b: TDBatch) -> Tensor:
    """Bug: the entropy term dropped."""
    dist = b.policy(b.next_obs)
    q = torch.minimum(b.q_target(b.next_obs), b.q2_target(b.next_obs))
    return b.rewards + b.gamma * _mask(b.terminated) * (dist.probs * q).sum(dim=1)


def soft_entropy_sign(b: TDBatch) -> Tensor:
    """Bug: ``+ alpha log pi`` (the entropy subtracted)."""
    dist = b.policy(b.next_obs)
    q = torch.minimum(b.q_target(b.next_obs), b.q2_target(b.next_obs))
    v_next = (dist.probs * (q + b.ent_coef * dist.logits)).sum(dim=1)
    return b.rewards + b.gamma * _mask(b.terminated) * v_next


# ----------------------------------------------------------------------------- n-step

def n_step_forward(b: TDBatch) -> Tensor:
    """Windows summed forward, stopped at the first episode end or the segment's end."""
    return _windows_forward(b, b.value(b.next_obs))


def _windows_forward(b: TDBatch, v_boot: Tensor) -> Tensor:
    """``sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated) v_boot[t+m-1]``, the window ending
    at the first episode end, the segment's end or after ``n`` steps; ``v_boot[j]`` is the value
    bootstrapped from after step ``j``."""
    T, n, gamma = b.rewards.shape[0], b.n, b.gamma
    ends = b.dones.clone()
    ends[-1] = True
    out = torch.zeros(T, dtype=torch.float64)
    for t in range(T):
        for k in range(n):
            j = t + k
            out[t] += gamma**k * b.rewards[j]
            if ends[j] or k == n - 1:
                if not b.terminated[j]:
                    out[t] += gamma ** (k + 1) * v_boot[j]
                break
    return out


def n_step_backward(b: TDBatch) -> Tensor:
    """The same from the one-step targets, ``G_t^(k+1) = r_t + gamma G_{t+1}^(k)`` inside an
    episode, computed backwards once per window length (correct)."""
    T = b.rewards.shape[0]
    one_step = b.rewards + b.gamma * _mask(b.terminated) * b.value(b.next_obs)
    last = b.dones.clone()
    last[-1] = True
    g = one_step.clone()
    for _ in range(b.n - 1):
        shifted = torch.cat([g[1:], g.new_zeros(1)])
        g = torch.where(last, one_step, b.rewards + b.gamma * shifted)
    return g[:T]


def n_step_crosses_episodes(b: TDBatch) -> Tensor:
    """Bug: ``n`` rewards summed whatever the dones (windows run into the next episode)."""
    T, n, gamma = b.rewards.shape[0], b.n, b.gamma
    v_next = b.value(b.next_obs)
    out = torch.zeros(T, dtype=torch.float64)
    for t in range(T):
        m = min(n, T - t)
        for k in range(m):
            out[t] += gamma**k * b.rewards[t + k]
        j = t + m - 1
        out[t] += gamma**m * (1.0 - float(b.terminated[j])) * v_next[j]
    return out


def n_step_truncation_as_termination(b: TDBatch) -> Tensor:
    """Bug: windows stop at ``done`` and never bootstrap there (truncation = termination)."""
    T, n, gamma = b.rewards.shape[0], b.n, b.gamma
    v_next = b.value(b.next_obs)
    out = torch.zeros(T, dtype=torch.float64)
    for t in range(T):
        for k in range(n):
            j = t + k
            out[t] += gamma**k * b.rewards[j]
            if b.dones[j]:
                break
            if j == T - 1 or k == n - 1:
                out[t] += gamma ** (k + 1) * v_next[j]
                break
    return out


def n_step_bootstrap_next_row(b: TDBatch) -> Tensor:
    """Bug: bootstraps from ``obs[t+m]`` (the next row), the reset observation after an episode
    end, instead of ``next_obs[t+m-1]``."""
    v_next = b.value(b.next_obs)
    return _windows_forward(b, torch.cat([b.value(b.obs)[1:], v_next[-1:]]))


TD_IMPLEMENTATIONS: tuple[tuple[str, str, str, str, TargetFn], ...] = (
    ("td0-reference", "td0", "pass", "r + gamma (1 - terminated) V(next_obs)", td0_target),
    ("td0-where-float32", "td0", "pass", "torch.where on terminated, computed in float32",
     td0_where),
    ("td0-done-mask", "td0", "catch", "1 - done (terminated or truncated) as the bootstrap mask: "
     "no bootstrap after a time limit", td0_done_mask),
    ("td0-obs-instead-of-next-obs", "td0", "catch", "V(obs) bootstrapped instead of "
     "V(next_obs): the next state off by one step", td0_obs_instead_of_next),
    ("dqn-reference", "dqn", "pass", "max over the target network's Q(next_obs)", dqn_target),
    ("dqn-python-loop", "dqn", "pass", "a Python loop over transitions with an if on "
     "terminated", dqn_loop),
    ("dqn-done-mask", "dqn", "catch", "done instead of terminated: no bootstrap after "
     "truncation", dqn_done_mask),
    ("dqn-no-terminal-mask", "dqn", "catch", "bootstrapping through termination (no "
     "(1 - terminated) factor)", dqn_no_mask),
    ("dqn-obs-instead-of-next-obs", "dqn", "catch", "max_a Q_target(obs, a): the next state "
     "off by one step", dqn_obs_instead_of_next),
    ("dqn-online-bootstrap", "dqn", "catch", "bootstrapping from the online network instead of "
     "the target network", dqn_online_bootstrap),
    ("double-dqn-reference", "double_dqn", "pass", "arg-max from the online net, value from "
     "the target net (gather)", double_dqn_target),
    ("double-dqn-argmax-from-target", "double_dqn", "catch", "double DQN taking its arg-max "
     "from the target network (plain DQN)", double_dqn_argmax_target),
    ("soft-reference", "soft", "pass", "sum_a pi (min Q' - alpha log pi) at next_obs", soft_target),
    ("soft-entropy-method", "soft", "pass", "E_pi[min Q'] + alpha Categorical.entropy()",
     soft_target_with_entropy),
    ("soft-missing-entropy", "soft", "catch", "the soft target without its entropy term",
     soft_no_entropy),
    ("soft-entropy-wrong-sign", "soft", "catch", "the entropy term with the wrong sign "
     "(+ alpha log pi)", soft_entropy_sign),
    ("n-step-forward", "n_step", "pass", "windows summed forward, stopped at episode ends",
     n_step_forward),
    ("n-step-backward", "n_step", "pass", "backward recursion from the one-step targets",
     n_step_backward),
    ("n-step-crosses-episode-end", "n_step", "catch", "n rewards summed across an episode end "
     "into the next episode", n_step_crosses_episodes),
    ("n-step-no-bootstrap-after-truncation", "n_step", "catch", "windows stop at done and never "
     "bootstrap (truncation stored as termination)", n_step_truncation_as_termination),
    ("n-step-bootstraps-reset-obs", "n_step", "catch", "bootstrap from obs[t+m] (the reset "
     "observation after an episode end), off by one", n_step_bootstrap_next_row),
)
"""``(name, kind, must, description, target_fn)`` for the catalogue and the tests."""


def mutants() -> list[Mutant]:
    """The TD-target mutants (area ``td-targets``), named ``td-<name>``, one check ``kind`` each."""
    return [Mutant(f"td-{name}", description, "td-targets", must,  # type: ignore[arg-type]
                   "check_td_targets", fn, {"kind": kind})
            for name, kind, must, description, fn in TD_IMPLEMENTATIONS]
