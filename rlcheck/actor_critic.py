"""Batch actor-critic (CS285 lecture 6), on tabular MDPs and on gymnasium tasks.

One iteration: sample a batch with the current policy; fit the critic ``V_hat`` by bootstrapped
regression onto ``y_t = r_t + gamma V_hat(s_{t+1})``; form advantages from the critic, the TD
error ``delta_t = r_t + gamma V_hat(s_{t+1}) - V_hat(s_t)`` or GAE
``A_t = sum_l (gamma lam)^l delta_{t+l}`` (Schulman et al. 2016); take the actor step
``theta <- theta + lr mean_i sum_t grad log pi(a_t|s_t) A_t``.

On a finite-horizon :class:`~rlcheck.mdp.TabularMDP` the critic is time-indexed, ``V_hat_t(s)``,
so that an exact critic exists; :func:`expected_actor_gradient` gives the exact expectation of
the actor's gradient for *any* critic, which equals :func:`rlcheck.exact.policy_gradient` when the
critic is exact. Like most code, the actor weights step ``t`` by 1 (``target="causal"``); with
``discount_weighting=True`` it weights by ``gamma^t``, the gradient of ``J`` (``"discounted"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlcheck import exact
from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP, TrajectoryBatch
from rlcheck.pg import gae_advantages, gae_advantages_flat
from rlcheck.score import score_function_gradients

# ---------------------------------------------------------------------------------------------
# Tabular, finite horizon


def critic_q_values(mdp: TabularMDP, critic: np.ndarray) -> np.ndarray:
    """One-step lookahead of a time-indexed critic, ``Q_hat_t(s,a) = R(s,a) + gamma sum_s'
    P(s'|s,a) V_hat_{t+1}(s')`` with ``V_hat_T = 0``; ``critic [T, S]`` -> ``[T, S, A]``."""
    critic = np.asarray(critic, dtype=np.float64)
    if critic.shape != (mdp.horizon, mdp.n_states):
        raise ValueError(f"critic must have shape [T, S] = {(mdp.horizon, mdp.n_states)}, "
                         f"got {critic.shape}")
    v_next = np.vstack([critic[1:], np.zeros((1, mdp.n_states))])
    return mdp.R[None] + mdp.gamma * np.einsum("sak,tk->tsa", mdp.P, v_next)


def expected_actor_gradient(mdp: TabularMDP, logits: np.ndarray, critic: np.ndarray,
                            target: exact.Target = "causal") -> np.ndarray:
    """Exact expectation of the TD actor gradient ``sum_t w_t grad log pi(a_t|s_t) delta_t`` with
    ``delta_t = r_t + gamma V_hat_{t+1}(s_{t+1}) - V_hat_t(s_t)`` for a critic ``V_hat [T, S]``.

    ``E[delta_t | s, a] = Q_hat_t(s, a) - V_hat_t(s)`` and ``sum_a pi(a|s) grad log pi(a|s) = 0``,
    so the gradient is ``sum_t w_t sum_s mu_t(s) pi(a|s) (Q_hat_t(s,a) - sum_b pi(b|s) Q_hat_t(s,b))``
    with ``w_t = 1`` (``"causal"``) or ``gamma^t`` (``"discounted"``). The critic's own value at
    ``s_t`` cancels; its error enters only through ``V_hat_{t+1}``. With the exact critic this is
    :func:`rlcheck.exact.policy_gradient`.
    """
    probs = exact.softmax(logits)
    Q_hat = critic_q_values(mdp, critic)
    mu = exact.state_distributions(mdp, probs)
    weight = (mdp.gamma ** np.arange(mdp.horizon) if target == "discounted"
              else np.ones(mdp.horizon))
    advantage = Q_hat - (probs[None] * Q_hat).sum(axis=2, keepdims=True)
    return np.einsum("t,ts,sa,tsa->sa", weight, mu, probs, advantage)


def fit_tabular_critic(batch: TrajectoryBatch, n_states: int,
                       fallback: np.ndarray | None = None) -> np.ndarray:
    """Bootstrapped regression of a time-indexed tabular critic, backwards in time.

    ``V_hat_t(s) = mean {r_t + gamma V_hat_{t+1}(s_{t+1}) : s_t = s}`` with ``V_hat_T = 0``: the
    least-squares fit of one-hot ``(t, s)`` features to the bootstrapped targets. Cells without
    data keep ``fallback[t, s]`` (default 0). Returns ``[T, S]``.
    """
    N, T = batch.states.shape
    critic = np.zeros((T, n_states)) if fallback is None else np.array(fallback, dtype=np.float64)
    next_values = np.zeros(N)
    for t in range(T - 1, -1, -1):
        y = batch.rewards[:, t] + batch.gamma * next_values
        sums = np.bincount(batch.states[:, t], weights=y, minlength=n_states)
        counts = np.bincount(batch.states[:, t], minlength=n_states)
        critic[t] = np.where(counts > 0, sums / np.maximum(counts, 1), critic[t])
        next_values = critic[t, batch.states[:, t]]
    return critic


def critic_along(batch: TrajectoryBatch, critic: np.ndarray) -> np.ndarray:
    """``V_hat_t(s_t)`` for every sampled step, ``[N, T]``."""
    return np.asarray(critic)[np.arange(batch.horizon)[None, :], batch.states]


def critic_advantages(batch: TrajectoryBatch, critic: np.ndarray, lam: float) -> np.ndarray:
    """GAE advantages ``[N, T]`` from a time-indexed critic, via :func:`rlcheck.pg.gae_advantages`
    (``lam = 0``: the TD error; ``lam = 1``: reward-to-go minus ``V_hat``). Episodes end at the
    horizon, so nothing is bootstrapped after the last step."""
    return gae_advantages(batch.rewards, critic_along(batch, critic), batch.gamma, lam)


def actor_gradient(batch: TrajectoryBatch, probs: np.ndarray, advantages: np.ndarray,
                   discount_weighting: bool = False) -> np.ndarray:
    """Per-episode actor gradients ``sum_t w_t grad log pi(a_t|s_t) A_t``, ``[N, S, A]``, with
    ``w_t = gamma^t`` if ``discount_weighting`` else 1."""
    psi = advantages * (batch.discounts()[None] if discount_weighting else 1.0)
    return score_function_gradients(batch, probs, psi)


@dataclass(frozen=True)
class ActorCriticRun:
    """History of :func:`tabular_actor_critic`.

    Attributes:
        objective: exact ``J`` of the policy before each iteration and after the last, ``[K + 1]``.
        critic_error: ``max_{t,s} |V_hat_t(s) - V_t(s)|`` of each iteration's critic, ``[K]``.
        logits: final softmax logits ``[S, A]``.
    """

    objective: np.ndarray
    critic_error: np.ndarray
    logits: np.ndarray


def tabular_actor_critic(mdp: TabularMDP, *, n_iterations: int = 50, n_episodes: int = 200,
                         lr: float = 1.0, lam: float = 0.0, discount_weighting: bool = False,
                         seed: int = 0, logits0: np.ndarray | None = None) -> ActorCriticRun:
    """Batch actor-critic with a bootstrapped tabular critic refitted each iteration
    (:func:`fit_tabular_critic`) and GAE(``lam``) advantages; the actor takes one gradient-ascent
    step ``theta += lr * mean_i g_i`` per iteration."""
    rng = np.random.default_rng(seed)
    logits = (np.zeros((mdp.n_states, mdp.n_actions)) if logits0 is None
              else np.array(logits0, dtype=np.float64))
    objective, critic_error = [], []
    critic = np.zeros((mdp.horizon, mdp.n_states))
    for _ in range(int(n_iterations)):
        probs = exact.softmax(logits)
        objective.append(exact.evaluate(mdp, probs))
        batch = sample(mdp, probs, n_episodes, rng)
        critic = fit_tabular_critic(batch, mdp.n_states, fallback=critic)
        critic_error.append(float(np.abs(critic - exact.values(mdp, probs)).max()))
        advantages = critic_advantages(batch, critic, lam)
        logits = logits + lr * actor_gradient(batch, probs, advantages, discount_weighting).mean(0)
    objective.append(exact.evaluate(mdp, exact.softmax(logits)))
    return ActorCriticRun(np.array(objective), np.array(critic_error), logits)


# ---------------------------------------------------------------------------------------------
# Flat rollouts from gymnasium (episodes concatenated; terminated and truncated kept apart)


def episode_ends(episode: np.ndarray) -> np.ndarray:
    """``end_t``: whether step ``t`` is the last of its episode in a concatenated buffer."""
    episode = np.asarray(episode)
    return np.append(episode[1:] != episode[:-1], True)


def gym_actor_critic(env_id: str = "CartPole-v1", *, n_iterations: int = 30,
                     steps_per_iteration: int = 1000, gamma: float = 0.99, lam: float = 0.95,
                     actor_lr: float = 3e-3, critic_lr: float = 3e-3, critic_steps: int = 50,
                     hidden: tuple[int, ...] = (32, 32), normalise: bool = True, seed: int = 0,
                     progress: bool | None = None) -> dict[str, np.ndarray]:
    """Batch actor-critic on a discrete-action gymnasium task (CS285 hw2 style).

    Each iteration collects ``steps_per_iteration`` transitions with
    :func:`rlcheck.sampling.collect` (serial), refits the value network by ``critic_steps`` full-batch
    Adam steps on ``(V(s_t) - y_t)^2`` with bootstrapped targets
    ``y_t = r_t + gamma (1 - terminated_t) V(s'_t)`` recomputed every step (semi-gradient), forms
    GAE(``lam``) advantages with :func:`rlcheck.pg.gae_advantages_flat` (normalised if
    ``normalise``), and takes one Adam step on ``-mean_t log pi(a_t|s_t) A_t``.

    Returns ``mean_return [K]`` (mean return of the episodes that ended in each batch; NaN if none)
    and ``critic_loss [K]``.
    """
    import torch

    from rlcheck.distributions import CategoricalPolicy, mlp
    from rlcheck.progress import track
    from rlcheck.sampling import collect, policy_from_module
    from rlcheck.sampling.core import make_env

    env = make_env(env_id)
    obs_dim = int(np.prod(env.observation_space.shape))
    n_actions = int(env.action_space.n)
    env.close()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        actor = CategoricalPolicy(obs_dim, n_actions, hidden)
        critic = mlp(obs_dim, 1, hidden)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=actor_lr)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=critic_lr)
    mean_returns, critic_losses = [], []
    for it in track(range(int(n_iterations)), desc=f"actor-critic {env_id}", disable=progress):
        data = collect(policy_from_module(actor), env_id, steps_per_iteration, seed * 100_003 + it)
        obs = torch.as_tensor(data.observations, dtype=torch.float32)
        nxt = torch.as_tensor(data.next_observations, dtype=torch.float32)
        rew = torch.as_tensor(data.rewards, dtype=torch.float32)
        alive = torch.as_tensor(~data.terminated, dtype=torch.float32)
        for _ in range(int(critic_steps)):
            with torch.no_grad():
                y = rew + gamma * alive * critic(nxt).squeeze(-1)
            loss = ((critic(obs).squeeze(-1) - y) ** 2).mean()
            critic_opt.zero_grad()
            loss.backward()
            critic_opt.step()
        critic_losses.append(float(loss.detach()))
        with torch.no_grad():
            v, v_next = critic(obs).squeeze(-1).numpy(), critic(nxt).squeeze(-1).numpy()
        adv = gae_advantages_flat(data.rewards, v, v_next, data.terminated,
                                  episode_ends(data.episode),
                       gamma, lam)
        if normalise:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        log_prob = actor(obs).log_prob(torch.as_tensor(data.actions, dtype=torch.int64))
        actor_loss = -(log_prob * torch.as_tensor(adv, dtype=torch.float32)).mean()
        actor_opt.zero_grad()
        actor_loss.backward()
        actor_opt.step()
        finished = data.terminated | data.truncated
        complete = np.unique(data.episode[finished & (data.episode < data.episode[-1])])
        if complete.size == 0:
            complete = np.unique(data.episode[finished])
        returns = [data.rewards[data.episode == e].sum() for e in complete]
        mean_returns.append(float(np.mean(returns)) if returns else float("nan"))
    return {"mean_return": np.array(mean_returns), "critic_loss": np.array(critic_losses)}
