"""Policy gradients with a torch MLP policy on gymnasium tasks: do baselines change the mean
gradient, and how much do they cut its variance?

For a policy ``pi_theta`` (:class:`rlcheck.distributions.CategoricalPolicy` for discrete actions,
:class:`rlcheck.distributions.GaussianPolicy` for continuous ones) and a batch of ``E`` episodes
collected with :func:`rlcheck.sampling.collect`, the estimate with weights ``psi`` is

    g(psi) = (1/E) sum_i sum_t grad log pi_theta(a_it | s_it) psi_it,

computed as the gradient of the surrogate ``(1/E) sum_i sum_t log pi(a_it|s_it) psi_it`` with
``psi`` held fixed. :func:`compare_baselines` computes ``g`` for every estimator in
:data:`ESTIMATORS` on many independent batches and tests, for each baseline against plain
reward-to-go, equal means (paired Hotelling test of the difference on all batches, and the
two-sample test on disjoint halves of the batches) and lower variance (trace-of-covariance ratio on
disjoint halves). The baselines are fitted on a separate pilot batch, so they never depend on the
episodes they are subtracted from. :func:`training_curves` runs a short REINFORCE training with
each estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rlcheck import pg
from rlcheck.distributions import policy_for_env
from rlcheck.progress import track
from rlcheck.stats import hotelling_test, two_sample_test, variance_ratio_test
from rlcheck.threads import torch_threads

ESTIMATORS: tuple[str, ...] = (
    "reward-to-go", "total return", "reward-to-go - constant", "reward-to-go - V(s)",
    "GAE(0.95) with V", "reward-to-go - action (biased control)",
)
"""Estimators :func:`compare_baselines` evaluates; the first is the reference of every test."""

BASELINES: tuple[str, ...] = ("reward-to-go", "reward-to-go - constant", "reward-to-go - V(s)",
                              "GAE(0.95) with V")
"""Estimators :func:`training_curves` trains with by default."""


@dataclass(frozen=True)
class EpisodeBatch:
    """Episodes padded to a common length ``T`` (rows are episodes, columns time).

    Attributes:
        observations: ``[E, T, obs_dim]`` float32 (zeros after the end).
        actions: ``[E, T]`` (discrete) or ``[E, T, act_dim]`` (continuous).
        rewards: ``[E, T]`` float64, zero after the end.
        mask: ``[E, T]`` bool, true on real steps.
        terminated: ``[E]`` the episode ended in a true terminal state.
        truncated: ``[E]`` the episode was cut (time limit or step budget).
        final_observations: ``[E, obs_dim]`` the state after the last step.
        complete: ``[E]`` the episode ended on its own (terminated or hit the time limit), not
            by the sampler's step budget (:meth:`rlcheck.sampling.Rollouts.complete_episodes`).
    """

    observations: Tensor
    actions: Tensor
    rewards: Tensor
    mask: Tensor
    terminated: Tensor
    truncated: Tensor
    final_observations: Tensor
    complete: Tensor

    @property
    def n_episodes(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def lengths(self) -> Tensor:
        return self.mask.sum(1)


def episodes_from_rollouts(rollouts: Any) -> EpisodeBatch:
    """Pad the concatenated episodes of a :class:`rlcheck.sampling.Rollouts` into ``[E, T]``."""
    ids, start, lengths = np.unique(rollouts.episode, return_index=True, return_counts=True)
    E, T = len(ids), int(lengths.max())
    row = np.repeat(np.arange(E), lengths)
    col = np.arange(rollouts.n_steps) - np.repeat(start, lengths)
    obs = np.zeros((E, T, rollouts.observations.shape[1]), dtype=np.float32)
    obs[row, col] = rollouts.observations
    act_shape = rollouts.actions.shape[1:]
    actions = np.zeros((E, T, *act_shape), dtype=rollouts.actions.dtype)
    actions[row, col] = rollouts.actions
    rewards = np.zeros((E, T))
    rewards[row, col] = rollouts.rewards
    mask = np.zeros((E, T), dtype=bool)
    mask[row, col] = True
    last = start + lengths - 1
    return EpisodeBatch(
        observations=torch.as_tensor(obs), actions=torch.as_tensor(actions),
        rewards=torch.as_tensor(rewards), mask=torch.as_tensor(mask),
        terminated=torch.as_tensor(rollouts.terminated[last]),
        truncated=torch.as_tensor(rollouts.truncated[last]),
        final_observations=torch.as_tensor(rollouts.next_observations[last], dtype=torch.float32),
        complete=torch.as_tensor(rollouts.complete_episodes()))


def collect_episodes(policy: nn.Module, env_id: str, n_steps: int, seed: int) -> EpisodeBatch:
    """``n_steps`` transitions of ``policy`` from the serial sampler, as padded episodes."""
    from rlcheck.sampling import collect, policy_from_module

    return episodes_from_rollouts(collect(policy_from_module(policy), env_id, n_steps, seed))


def log_probs(policy: nn.Module, batch: EpisodeBatch) -> Tensor:
    """``log pi(a_t|s_t)`` as ``[E, T]``, zero on padded steps (differentiable in the policy)."""
    E, T = batch.rewards.shape
    dtype = next(policy.parameters()).dtype
    dist = policy(batch.observations.reshape(E * T, -1).to(dtype))
    actions = batch.actions.reshape(E * T, *batch.actions.shape[2:])
    logp = dist.log_prob(actions.to(dtype) if actions.is_floating_point() else actions)
    return logp.reshape(E, T).double() * batch.mask


# ----------------------------------------------------------------------------- value baseline

@torch_threads(1)
def fit_value_net(batch: EpisodeBatch, targets: Tensor, *, hidden: Sequence[int] = (64, 64),
                  steps: int = 300, lr: float = 1e-2, seed: int = 0,
                  net: nn.Module | None = None) -> nn.Module:
    """Regress ``V(s_t) ~ targets_t`` on the real steps of ``batch`` (full-batch Adam on the mean
    squared error; targets standardised inside and undone at the output)."""
    from rlcheck.distributions import mlp

    value: Any = net  # a _ScaledValue: body, loc and scale
    if value is None:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            value = _ScaledValue(mlp(batch.observations.shape[-1], 1, hidden).double())
    net = value
    x = batch.observations[batch.mask].double()
    y = targets[batch.mask].double()
    value.loc.fill_(float(y.mean()))
    value.scale.fill_(float(y.std()) + 1e-8)
    opt = torch.optim.Adam(value.body.parameters(), lr=lr)
    z = (y - value.loc) / value.scale
    for _ in range(steps):
        opt.zero_grad()
        loss = ((value.body(x).squeeze(-1) - z) ** 2).mean()
        loss.backward()
        opt.step()
    return net


class _ScaledValue(nn.Module):
    """``V(s) = loc + scale * body(s)`` with ``loc`` and ``scale`` fixed buffers."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("loc", torch.zeros((), dtype=torch.float64))
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))

    def forward(self, obs: Tensor) -> Tensor:
        return self.loc + self.scale * self.body(obs.double()).squeeze(-1)


def _values(value_net: nn.Module, batch: EpisodeBatch) -> tuple[Tensor, Tensor]:
    """``V(s_t)`` ``[E, T]`` (zero on padding) and ``V(s_T)`` of truncated episodes (else 0)."""
    E, T = batch.rewards.shape
    with torch.no_grad():
        v = value_net(batch.observations.reshape(E * T, -1)).reshape(E, T) * batch.mask
        last = value_net(batch.final_observations) * batch.truncated
    return v, last


# ----------------------------------------------------------------------------- weights

def estimator_weights(batch: EpisodeBatch, gamma: float, *, constant: float = 0.0,
                      value_net: nn.Module | None = None,
                      estimators: Sequence[str] = ESTIMATORS) -> dict[str, Tensor]:
    """Weights ``psi [E, T]`` of each named estimator (zero on padded steps).

    ``reward-to-go`` is ``sum_{t'>=t} gamma^(t'-t) r_t'`` (what implementations use); the baselines
    are a fixed ``constant`` and a fixed value network ``V(s)`` (both fitted on other data);
    ``GAE(0.95) with V`` bootstraps truncated episodes with ``V(s_T)``; the control subtracts
    ``a_t`` (first action component), an action-dependent baseline."""
    rtg = pg.reward_to_go(batch.rewards, gamma)
    out: dict[str, Tensor] = {}
    v: Any = None
    last: Any = None
    if any("V" in name for name in estimators):
        if value_net is None:
            raise ValueError("value_net is required for the estimators using V")
        v, last = _values(value_net, batch)
    for name in estimators:
        if name == "reward-to-go":
            psi = rtg
        elif name == "total return":
            psi = pg.total_return(batch.rewards, gamma, per_step=True)
        elif name == "reward-to-go - constant":
            psi = rtg - constant
        elif name == "reward-to-go - V(s)":
            psi = rtg - v
        elif name == "GAE(0.95) with V":
            # bootstrap a truncated episode at its last real step: delta = r + gamma V(s_T) - V
            end = torch.nn.functional.one_hot(batch.lengths - 1, batch.rewards.shape[1]).double()
            psi = pg.gae_advantages(batch.rewards + gamma * last[:, None] * end, v, gamma, 0.95)
        elif name == "reward-to-go - action (biased control)":
            a = batch.actions.double()
            psi = rtg - (a if a.ndim == 2 else a[..., 0])
        else:
            raise ValueError(f"unknown estimator {name!r}; known: {ESTIMATORS}")
        out[name] = psi * batch.mask
    return out


@torch_threads(1)
def batch_gradients(policy: nn.Module, batch: EpisodeBatch,
                    weights: dict[str, Tensor]) -> dict[str, np.ndarray]:
    """``g(psi) = (1/E) sum_i sum_t grad log pi(a_it|s_it) psi_it`` for each weight, flattened over
    the policy's parameters (one forward pass, one backward pass per estimator)."""
    logp = log_probs(policy, batch)
    params = [p for p in policy.parameters() if p.requires_grad]
    out = {}
    names = list(weights)
    for i, name in enumerate(names):
        surrogate = (logp * weights[name].detach()).sum() / batch.n_episodes
        grads = torch.autograd.grad(surrogate, params, retain_graph=i < len(names) - 1)
        out[name] = torch.cat([g.reshape(-1) for g in grads]).numpy().copy()
    return out


# ----------------------------------------------------------------------------- experiments

def _pilot(policy: nn.Module, env_id: str, gamma: float, steps: int, seed: int
           ) -> tuple[float, nn.Module]:
    pilot = collect_episodes(policy, env_id, steps, seed)
    targets = pg.reward_to_go(pilot.rewards, gamma)
    constant = float(targets[pilot.mask].mean())
    return constant, fit_value_net(pilot, targets, seed=seed)


@torch_threads(1)
def compare_baselines(env_id: str = "CartPole-v1", *, n_batches: int = 100,
                      batch_steps: int = 1000, seed: int = 0, gamma: float = 1.0,
                      alpha: float = 1e-3, n_projections: int = 8,
                      hidden: Sequence[int] = (32, 32),
                      estimators: Sequence[str] = ESTIMATORS) -> list[dict[str, Any]]:
    """Per-batch gradient estimates with and without each baseline on ``env_id``.

    The policy is fixed (random initialisation from ``seed``); the constant and the value network
    come from a pilot batch. For each estimator ``e`` other than the reference ``reward-to-go``,
    the gradients are projected on ``n_projections`` fixed random unit directions (drawn before
    sampling; the parameter count far exceeds the number of batches) and

    * ``paired``: Hotelling's test that ``E[g_e - g_ref] = 0`` over all batches;
    * ``two_sample``: the two-sample Hotelling test of equal means, ``g_ref`` on the first half of
      the batches and ``g_e`` on the second half (independent samples);
    * ``variance``: the ratio ``tr Cov(g_e) / tr Cov(g_ref)`` of the full gradient on the same
      disjoint halves, with its delta-method interval (:func:`rlcheck.stats.variance_ratio_test`).

    Each test runs at level ``alpha``. Returns one row (a dict) per estimator. With the default
    ``gamma = 1`` (CartPole episodes end) the full return, reward-to-go and reward-to-go minus a
    constant or ``V(s)`` all have the same expectation; GAE(0.95) with an approximate ``V`` and the
    action-dependent control need not.
    """
    if n_batches < 2 * n_projections + 6:
        raise ValueError(f"n_batches must be >= 2 * n_projections + 6 = {2 * n_projections + 6} "
                         f"(each half must exceed the {n_projections} projections), got {n_batches}")
    if "reward-to-go" not in estimators:
        raise ValueError("estimators must include the reference 'reward-to-go'")
    policy = policy_for_env(env_id, hidden=hidden, seed=seed)
    constant, value_net = _pilot(policy, env_id, gamma, max(batch_steps, 2000), seed + 10_000)
    grads: dict[str, list[np.ndarray]] = {name: [] for name in estimators}
    lengths = []
    for b in track(range(n_batches), desc=f"{env_id}: gradient batches"):
        batch = collect_episodes(policy, env_id, batch_steps, seed + 1 + b)
        lengths.append(float(batch.lengths.double().mean()))
        weights = estimator_weights(batch, gamma, constant=constant, value_net=value_net,
                                    estimators=estimators)
        for name, g in batch_gradients(policy, batch, weights).items():
            grads[name].append(g)
    G = {name: np.stack(v) for name, v in grads.items()}
    dim = G["reward-to-go"].shape[1]
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((dim, n_projections))
    directions /= np.linalg.norm(directions, axis=0)
    half = n_batches // 2
    ref = G["reward-to-go"]
    rows = []
    for name in estimators:
        g = G[name]
        row: dict[str, Any] = {
            "env": env_id, "estimator": name, "batches": n_batches, "batch_steps": batch_steps,
            "parameters": dim, "mean_episode_length": float(np.mean(lengths)),
            "gradient_norm": float(np.linalg.norm(g.mean(0))),
            "total_variance": float(g.var(0, ddof=1).sum()),
            "variance_ratio_to_rtg": float(g.var(0, ddof=1).sum() / ref.var(0, ddof=1).sum()),
            "cosine_to_rtg_mean": float(g.mean(0) @ ref.mean(0)
                                        / (np.linalg.norm(g.mean(0)) * np.linalg.norm(ref.mean(0)))),
        }
        if name != "reward-to-go":
            paired = hotelling_test((g - ref) @ directions, np.zeros(n_projections), alpha=alpha)
            two = two_sample_test(ref[:half] @ directions, g[half:] @ directions, alpha=alpha)
            var = variance_ratio_test(g[half:], ref[:half], alpha=alpha)
            row.update({
                "paired_p": paired.p_value, "paired_equal_means": paired.passed,
                "paired_mahalanobis": paired.effect, "paired_detectable": paired.detectable_effect,
                "two_sample_p": two.p_value, "two_sample_equal_means": two.passed,
                "two_sample_mahalanobis": two.effect, "two_sample_detectable": two.detectable_effect,
                "variance_ratio_halves": var.effect, "variance_ratio_ci_low": var.ci[0],
                "variance_ratio_ci_high": var.ci[1], "variance_p": var.p_value})
        rows.append(row)
    return rows


def reinforce_step(policy: nn.Module, optimizer: torch.optim.Optimizer, batch: EpisodeBatch,
                   psi: Tensor) -> None:
    """One ascent step on ``(1/E) sum_i sum_t log pi(a_it|s_it) psi_it`` (``psi`` fixed)."""
    optimizer.zero_grad()
    loss = -(log_probs(policy, batch) * psi.detach()).sum() / batch.n_episodes
    loss.backward()
    optimizer.step()


@torch_threads(1)
def training_curves(env_id: str = "CartPole-v1", *, iterations: int = 30, seed: int = 0,
                    seeds: int = 3, batch_steps: int = 1000, gamma: float = 0.99,
                    lr: float = 1e-2, hidden: Sequence[int] = (32, 32),
                    estimators: Sequence[str] = BASELINES) -> list[dict[str, Any]]:
    """Short REINFORCE runs with each estimator: one row per (estimator, seed, iteration) with the
    mean return of the batch's complete episodes (the last, budget-cut one is excluded when the
    batch holds others). The constant and value baselines are fitted on the *previous* batch
    (so they never see the episodes they are applied to) and refitted after each step."""
    rows = []
    runs = [(name, s) for name in estimators for s in range(seeds)]
    for name, s in track(runs, desc=f"{env_id}: REINFORCE runs"):
        run_seed = seed + 1000 * s
        policy = policy_for_env(env_id, hidden=hidden, seed=run_seed)
        optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
        constant, value_net = 0.0, None
        for it in range(iterations):
            batch = collect_episodes(policy, env_id, batch_steps, run_seed + 1 + it)
            if value_net is None:
                value_net = fit_value_net(batch, torch.zeros_like(batch.rewards), steps=1,
                                          seed=run_seed)
            weights = estimator_weights(batch, gamma, constant=constant, value_net=value_net,
                                        estimators=(name,))
            complete = batch.complete
            if not bool(complete.any()):
                complete = torch.ones_like(complete)
            returns = (batch.rewards.sum(1))[complete]
            rows.append({"env": env_id, "estimator": name, "seed": s, "iteration": it,
                         "mean_return": float(returns.mean()), "episodes": batch.n_episodes})
            reinforce_step(policy, optimizer, batch, weights[name])
            targets = pg.reward_to_go(batch.rewards, gamma)
            constant = float(targets[batch.mask].mean())
            value_net = fit_value_net(batch, targets, steps=100, net=value_net)
    return rows


def summarise(rows: list[dict[str, Any]]) -> str:
    """One line over all estimators: variance ratio and the equal-means p-values."""
    lines = []
    for r in rows:
        extra = "" if r["estimator"] == "reward-to-go" else (
            f", paired p={r['paired_p']:.3g}, two-sample p={r['two_sample_p']:.3g}")
        lines.append(f"{r['estimator']}: variance x{r['variance_ratio_to_rtg']:.3g}{extra}")
    return "; ".join(lines)
