"""Behaviour cloning and DAgger with a Gaussian MLP policy (CS285 hw1 defaults).

Behaviour cloning (BC) fits ``pi_theta(a | s)`` to expert state-action pairs ``D = {(s_i,
a*_i)}`` by stochastic gradient descent on a loss such as the negative log-likelihood::

    L(theta) = -1/B sum_i log pi_theta(a*_i | s_i)          (minibatches of B pairs from D).

Its states come from the expert's state distribution, while the learner visits its own; the
error this causes compounds over the horizon (Ross, Gordon & Bagnell 2011, see
:mod:`rlcheck.compounding`). DAgger (Ross et al. 2011, Algorithm 3.1) removes the mismatch by
labelling the learner's own states with the expert::

    D_0 = expert data;  pi_1 = BC(D_0)
    for i = 1..N-1:  run pi_i' = beta_i pi* + (1 - beta_i) pi_i (the expert acts with
                     probability beta_i at each step); D_i = {(s, pi*(s)) : s visited};
                     D = D_0 ∪ ... ∪ D_i;  pi_{i+1} = continue training on D.

The defaults follow CS285 hw1: policy ``GaussianPolicy(obs, act, hidden=(64, 64))``, Adam with
learning rate 5e-3, minibatches of 100, 1000 gradient steps per iteration, 10 iterations, 1000
environment steps collected per DAgger iteration, ``beta = 0`` (the learner alone acts).

Longer than 400 lines because BC, DAgger and their shared rollout and evaluation helpers are one
training loop whose seeds and step budgets must match between the two methods.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from rlcheck import bc_losses
from rlcheck.distributions import GaussianPolicy, gaussian_policy
from rlcheck.progress import track
from rlcheck.threads import torch_threads

__all__ = [
    "BetaMixture",
    "DaggerResult",
    "beta_schedule",
    "compare_bc_dagger",
    "dagger",
    "episode_seed",
    "evaluate_policy",
    "expert_dataset",
    "gaussian_policy",
    "make_expert_data",
    "mean_action",
    "rollout_episodes",
    "train_bc",
]

ActionFn = Callable[[np.ndarray], np.ndarray]
"""A deterministic policy ``obs [B, obs_dim] -> actions [B, act_dim]``."""


def _as_tensor(name: str, x: np.ndarray | torch.Tensor, ndim: int) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x,
                        dtype=torch.float32)
    if t.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return t


def train_bc(policy: nn.Module, observations: np.ndarray, actions: np.ndarray, *,
             loss: bc_losses.BCLoss = bc_losses.nll, steps: int = 1000, batch_size: int = 100,
             lr: float = 5e-3, seed: int = 0,
             optimizer: torch.optim.Optimizer | None = None,
             threads: int | None = 1) -> list[float]:
    """Fit ``policy`` (``obs -> Distribution``) to expert pairs by ``steps`` Adam steps.

    Each step draws ``batch_size`` indices uniformly with replacement (from a
    ``torch.Generator`` seeded with ``seed``) and descends ``loss(policy(s_batch), a_batch)``.
    Pass ``optimizer`` to continue training with its state (DAgger does); otherwise a fresh
    ``Adam(policy.parameters(), lr)`` is made. Runs on ``threads`` torch threads
    (:func:`torch_threads`).

    Returns:
        the loss of every step.

    Raises:
        ValueError: shapes that do not match, NaN data, or non-positive sizes.
    """
    obs = _as_tensor("observations", observations, 2)
    act = _as_tensor("actions", actions, 2)
    if len(obs) != len(act) or len(obs) == 0:
        raise ValueError(f"need as many observations as actions (> 0), got {len(obs)} and "
                         f"{len(act)}")
    if steps < 0 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need steps >= 0, batch_size >= 1 and lr > 0, got {steps}, "
                         f"{batch_size}, {lr}")
    opt = optimizer if optimizer is not None else torch.optim.Adam(policy.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    idx_all = torch.randint(len(obs), (steps, batch_size), generator=gen)
    losses = []
    with torch_threads(threads):
        for idx in idx_all:
            value = loss(policy(obs[idx]), act[idx])
            opt.zero_grad()
            value.backward()
            opt.step()
            losses.append(float(value.detach()))
    return losses


def mean_action(policy: nn.Module) -> ActionFn:
    """The deterministic policy ``s -> E[a | s]`` (the distribution's mean), in numpy."""
    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return policy(torch.as_tensor(np.asarray(obs), dtype=torch.float32)).mean.numpy(
            ).astype(np.float64)
    return act


def episode_seed(seed: int, episode: int) -> int:
    """Reset seed of evaluation episode ``episode``: ``SeedSequence(seed, spawn_key=(episode,))``."""
    return int(np.random.SeedSequence(seed, spawn_key=(episode,)).generate_state(1)[0])


def rollout_episodes(policy_fn: ActionFn, env_id: str, n_episodes: int, seed: int, *,
                     max_steps: int = 1000, threads: int | None = 1) -> dict[str, np.ndarray]:
    """Run ``n_episodes`` episodes of a deterministic policy, episode ``k`` reset with
    :func:`episode_seed` ``(seed, k)``, each cut after ``max_steps`` steps or the env's limit.

    Torch policies run on ``threads`` threads (:func:`torch_threads`). Returns the
    transitions like :func:`rlcheck.experts.load_expert_data` (``observations``,
    ``actions``, ``rewards``, ``next_observations``, ``terminals`` (true terminations only),
    ``truncated``, ``episode``, ``episode_returns``).
    """
    import gymnasium as gym

    from rlcheck.sampling.core import validate_env_id

    validate_env_id(env_id)
    if n_episodes < 1 or max_steps < 1:
        raise ValueError(f"need n_episodes >= 1 and max_steps >= 1, got {n_episodes}, "
                         f"{max_steps}")
    rows: dict[str, list[Any]] = {k: [] for k in ("observations", "actions", "rewards",
                                                  "next_observations", "terminals",
                                                  "truncated", "episode")}
    env = gym.make(env_id)
    with torch_threads(threads):
        try:
            obs_dim = int(np.prod(env.observation_space.shape or ()))
            for k in range(n_episodes):
                obs, _ = env.reset(seed=episode_seed(seed, k))
                for t in range(max_steps):
                    action = np.asarray(policy_fn(np.asarray(obs, dtype=np.float64)[None]))[0]
                    nxt, reward, terminated, truncated, _ = env.step(action)
                    truncated = truncated or (t == max_steps - 1 and not terminated)
                    for key, value in zip(rows, (obs, action, reward, nxt, terminated, truncated, k),
                                          strict=True):
                        rows[key].append(value)
                    obs = nxt
                    if terminated or truncated:
                        break
        finally:
            env.close()
    data = {k: np.asarray(v) for k, v in rows.items()}
    data["observations"] = data["observations"].reshape(-1, obs_dim).astype(np.float64)
    data["next_observations"] = data["next_observations"].reshape(-1, obs_dim).astype(np.float64)
    data["terminals"] = data["terminals"].astype(bool)
    data["truncated"] = data["truncated"].astype(bool)
    data["episode_returns"] = np.bincount(data["episode"], weights=data["rewards"],
                                          minlength=n_episodes)
    return data


def evaluate_policy(policy_fn: ActionFn, env_id: str, n_episodes: int, seed: int, *,
                    max_steps: int = 1000) -> np.ndarray:
    """Undiscounted returns ``sum_t r_t`` of ``n_episodes`` seeded episodes (see
    :func:`rollout_episodes`) of a deterministic policy ``obs [B, obs] -> actions [B, act]``."""
    return rollout_episodes(policy_fn, env_id, n_episodes, seed, max_steps=max_steps)[
        "episode_returns"]


def make_expert_data(expert: ActionFn, env_id: str, *, n_episodes: int = 2, seed: int = 0,
                     max_steps: int = 1000) -> dict[str, np.ndarray]:
    """Expert data made by rolling the expert out (e.g. for Humanoid-v4, which ships none):
    ``n_episodes`` episodes of up to ``max_steps`` steps, as CS285 made its data files."""
    return rollout_episodes(expert, env_id, n_episodes, seed, max_steps=max_steps)


def expert_dataset(env_id: str, *, mirror: str | None = None, seed: int = 0
                   ) -> dict[str, np.ndarray]:
    """The expert data to imitate in ``env_id``: CS285's published trajectories
    (:func:`rlcheck.experts.load_expert_data`), or for Humanoid-v4, which ships none, its expert
    with the explicit normaliser adapter (near-constant dimensions held at their training mean)
    rolled out for 2 x 1000 steps from ``seed``, as CS285 made its data files."""
    from rlcheck import experts

    if env_id != "Humanoid-v4":
        return experts.load_expert_data(env_id, mirror=mirror)
    with warnings.catch_warnings():  # the adapter is asked for: its mismatch warning is known
        warnings.simplefilter("ignore", experts.NormaliserMismatchWarning)
        expert = experts.load_expert(env_id, hold_at_training_mean=True, mirror=mirror)
    return make_expert_data(expert, env_id, n_episodes=2, seed=seed, max_steps=1000)


class BetaMixture:
    """The DAgger behaviour policy ``beta pi* + (1 - beta) pi``: at each step the expert acts
    with probability ``beta`` and the learner (sampling its Gaussian) otherwise.

    Sampler interface: ``mixture(obs [B, obs], rng) -> actions [B, act]``; with ``act_rows`` each
    row draws the learner's noise and then the coin from its own generator. Picklable.
    """

    def __init__(self, learner: Any, expert: ActionFn, beta: float) -> None:
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must lie in [0, 1], got {beta}")
        from rlcheck.sampling import policy_from_module

        self.learner = policy_from_module(learner) if isinstance(learner, nn.Module) else learner
        self.expert = expert
        self.beta = float(beta)

    def _mix(self, obs: np.ndarray, actions: np.ndarray, u: np.ndarray) -> np.ndarray:
        use_expert = u < self.beta
        if use_expert.any():
            actions = np.array(actions, dtype=np.float64)
            actions[use_expert] = self.expert(np.asarray(obs)[use_expert])
        return actions

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        actions = self.learner(obs, rng)
        return self._mix(obs, actions, rng.random(len(obs)))

    def act_rows(self, obs: np.ndarray, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        actions = self.learner.act_rows(obs, rngs)
        return self._mix(obs, actions, np.array([r.random() for r in rngs]))


def beta_schedule(n_iterations: int, beta0: float = 0.0, decay: float = 1.0) -> np.ndarray:
    """``beta_i = beta0 * decay^(i-1)`` for DAgger iterations ``i = 1..N-1`` (iteration 0 is
    BC on the expert data, so its entry is 1: only the expert's data)."""
    i = np.arange(n_iterations, dtype=np.float64)
    return np.where(i == 0, 1.0, beta0 * decay ** np.maximum(i - 1, 0))


@dataclass
class DaggerResult:
    """What :func:`dagger` returns.

    Attributes:
        policy: the trained learner.
        losses: training losses, one list per iteration.
        n_labels: size of the aggregated data set after each iteration.
        returns: evaluation returns after each iteration count in ``evaluated_at``.
        evaluated_at: the (1-based) iteration counts after which the learner was evaluated.
        behaviour_returns: returns of the episodes collected in each iteration (iteration 0:
            the expert data's episodes).
    """

    policy: GaussianPolicy
    losses: list[list[float]] = field(default_factory=list)
    n_labels: list[int] = field(default_factory=list)
    returns: list[np.ndarray] = field(default_factory=list)
    evaluated_at: list[int] = field(default_factory=list)
    behaviour_returns: list[np.ndarray] = field(default_factory=list)


def dagger(env_id: str, expert: ActionFn, expert_data: dict[str, np.ndarray], *,
           policy: GaussianPolicy | None = None, n_iterations: int = 10,
           steps_per_iteration: int = 1000, env_steps_per_iteration: int = 1000,
           batch_size: int = 100, lr: float = 5e-3, loss: bc_losses.BCLoss = bc_losses.nll,
           betas: Sequence[float] | np.ndarray | None = None, seed: int = 0,
           eval_episodes: int = 0, eval_at: Sequence[int] | None = None, eval_seed: int = 0,
           max_episode_steps: int = 1000, progress: bool = True,
           threads: int | None = 1) -> DaggerResult:
    """DAgger: BC on ``expert_data`` then ``n_iterations - 1`` rounds of collecting
    ``env_steps_per_iteration`` steps with ``beta_i pi* + (1 - beta_i) pi_i`` (via
    :func:`rlcheck.sampling.collect`), relabelling every visited state with ``expert``,
    aggregating, and continuing to train for ``steps_per_iteration`` steps on all the data.

    ``n_iterations=1`` is BC. ``betas`` (default :func:`beta_schedule` with ``beta0 = 0``) gives
    ``beta_i`` per iteration; entry 0 is unused. ``expert`` maps environment observations to
    actions, with any adapters already applied (:class:`rlcheck.experts.Expert`), so the labels
    match the expert data. With ``eval_episodes > 0`` the learner's mean action is evaluated
    (:func:`evaluate_policy` with ``eval_seed``) after each iteration count in ``eval_at``
    (1-based; default: after the last), recorded in ``returns`` and ``evaluated_at``. Torch
    runs on ``threads`` threads (:func:`torch_threads`).
    """
    from rlcheck.sampling import collect

    obs = np.asarray(expert_data["observations"], dtype=np.float64)
    act = np.asarray(expert_data["actions"], dtype=np.float64)
    if obs.ndim != 2 or act.ndim != 2 or len(obs) != len(act):
        raise ValueError(f"expert_data observations {obs.shape} and actions {act.shape} must "
                         "be [N, obs] and [N, act]")
    if n_iterations < 1:
        raise ValueError(f"n_iterations must be >= 1, got {n_iterations}")
    betas = beta_schedule(n_iterations) if betas is None else np.asarray(betas, dtype=float)
    if betas.shape != (n_iterations,) or np.any((betas < 0) | (betas > 1)):
        raise ValueError(f"betas must be {n_iterations} values in [0, 1], got {betas}")
    learner = policy if policy is not None else gaussian_policy(
        obs.shape[1], act.shape[1], seed=_seed(seed, 0, "init"))
    eval_after = {n_iterations} if eval_at is None else {int(k) for k in eval_at}
    if any(k < 1 or k > n_iterations for k in eval_after):
        raise ValueError(f"eval_at must lie in 1..{n_iterations}, got {sorted(eval_after)}")
    opt = torch.optim.Adam(learner.parameters(), lr=lr)
    result = DaggerResult(policy=learner)
    ep_returns = expert_data.get("episode_returns")
    result.behaviour_returns.append(np.asarray(ep_returns if ep_returns is not None else []))
    all_obs, all_act = [obs], [act]
    iterations = track(range(n_iterations), desc=f"DAgger {env_id}", total=n_iterations) \
        if progress else range(n_iterations)
    with torch_threads(threads):
        for i in iterations:
            if i > 0:
                behaviour = BetaMixture(learner, expert, float(betas[i]))
                rollouts = collect(behaviour, env_id, env_steps_per_iteration,
                                   _seed(seed, i, "collect"))
                all_obs.append(np.asarray(rollouts.observations, dtype=np.float64))
                all_act.append(np.asarray(expert(rollouts.observations), dtype=np.float64))
                result.behaviour_returns.append(_complete_episode_returns(rollouts))
            data_obs, data_act = np.concatenate(all_obs), np.concatenate(all_act)
            result.losses.append(train_bc(learner, data_obs, data_act, loss=loss,
                                          steps=steps_per_iteration, batch_size=batch_size,
                                          seed=_seed(seed, i, "train"), optimizer=opt))
            result.n_labels.append(len(data_obs))
            if eval_episodes and i + 1 in eval_after:
                result.returns.append(evaluate_policy(mean_action(learner), env_id, eval_episodes,
                                                      eval_seed, max_steps=max_episode_steps))
                result.evaluated_at.append(i + 1)
    return result


def _seed(seed: int, iteration: int, purpose: str) -> int:
    """Seed of one purpose in one DAgger iteration, independent of the number of iterations
    (so a longer run continues a shorter one exactly)."""
    index = ("init", "collect", "train").index(purpose)
    return int(np.random.SeedSequence(seed, spawn_key=(iteration, index)).generate_state(1)[0])


def _complete_episode_returns(rollouts: Any) -> np.ndarray:
    """Returns of the episodes in a rollout batch (the last may be cut by the step budget)."""
    episode = np.asarray(rollouts.episode)
    _, inverse = np.unique(episode, return_inverse=True)
    return np.bincount(inverse, weights=np.asarray(rollouts.rewards, dtype=np.float64))


def compare_bc_dagger(env_id: str, expert: ActionFn, expert_data: dict[str, np.ndarray],
                      seed: int, *, iterations: int = 10, many_iterations: int | None = None,
                      steps_per_iteration: int = 1000, env_steps_per_iteration: int = 1000,
                      batch_size: int = 100, lr: float = 5e-3, eval_episodes: int = 5,
                      max_episode_steps: int = 1000,
                      methods: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One seed of the BC-versus-DAgger comparison, every learner the same ``GaussianPolicy``
    (same initial weights) evaluated on the same seeded episodes.

    Methods (``K = iterations``, ``n = steps_per_iteration``, ``m = env_steps_per_iteration``):

    * ``bc_1iter``: BC on ``expert_data`` for ``n`` steps (the course's BC run);
    * ``bc``: the same run continued to ``K n`` steps (equal gradient steps with ``dagger``);
    * ``dagger``: DAgger for ``K`` iterations (``K n`` steps, ``N + (K-1) m`` labels);
    * ``bc_equal_data``: BC for ``K n`` steps on ``expert_data`` plus ``(K-1) m`` further expert
      transitions (equal labels and steps with ``dagger``);
    * ``dagger_many``: the ``dagger`` run continued to ``many_iterations`` iterations, if given.

    ``methods`` selects a subset (default: all); a run computed in separate calls is the
    same run (every method draws its seeds from ``seed`` alone). Returns one row per method:
    ``method``, ``score`` (mean evaluation return), ``returns``, ``grad_steps``, ``labels``,
    ``seed``, ``env``.
    """
    known = ("bc_1iter", "bc", "dagger", "dagger_many", "bc_equal_data")
    wanted = set(known if methods is None else methods)
    if not wanted <= set(known):
        raise ValueError(f"unknown methods {sorted(wanted - set(known))}; known: {known}")
    if "dagger_many" in wanted and many_iterations is None:
        raise ValueError("method dagger_many needs many_iterations")
    from rlcheck.sampling import collect, deterministic

    ss = np.random.SeedSequence([seed, 7919])
    init_seed, bc_seed, dagger_seed, data_seed, eq_seed = (
        int(x) for x in ss.generate_state(5))
    eval_seed = int(np.random.SeedSequence([seed, 104729]).generate_state(1)[0])
    obs = np.asarray(expert_data["observations"], dtype=np.float64)
    act = np.asarray(expert_data["actions"], dtype=np.float64)
    rows: list[dict[str, Any]] = []

    def record(method: str, policy: nn.Module, grad_steps: int, labels: int,
               returns: np.ndarray | None = None) -> None:
        if returns is None:
            returns = evaluate_policy(mean_action(policy), env_id, eval_episodes, eval_seed,
                                      max_steps=max_episode_steps)
        rows.append({"env": env_id, "seed": seed, "method": method,
                     "score": float(np.mean(returns)), "returns": np.asarray(returns).tolist(),
                     "grad_steps": grad_steps, "labels": labels})

    def fresh() -> GaussianPolicy:
        return gaussian_policy(obs.shape[1], act.shape[1], seed=init_seed)

    if wanted & {"bc_1iter", "bc"}:
        bc = fresh()
        opt = torch.optim.Adam(bc.parameters(), lr=lr)
        train_bc(bc, obs, act, steps=steps_per_iteration, batch_size=batch_size, seed=bc_seed,
                 optimizer=opt)
        if "bc_1iter" in wanted:
            record("bc_1iter", bc, steps_per_iteration, len(obs))
        if "bc" in wanted:
            train_bc(bc, obs, act, steps=(iterations - 1) * steps_per_iteration,
                     batch_size=batch_size, seed=bc_seed + 1, optimizer=opt)
            record("bc", bc, iterations * steps_per_iteration, len(obs))

    if wanted & {"dagger", "dagger_many"}:
        total = (many_iterations or iterations) if "dagger_many" in wanted else iterations
        eval_at = sorted(({iterations} if "dagger" in wanted else set())
                         | ({total} if "dagger_many" in wanted else set()))
        run = dagger(env_id, expert, expert_data, policy=fresh(), n_iterations=total,
                     steps_per_iteration=steps_per_iteration,
                     env_steps_per_iteration=env_steps_per_iteration, batch_size=batch_size,
                     lr=lr, seed=dagger_seed, eval_episodes=eval_episodes, eval_at=eval_at,
                     eval_seed=eval_seed, max_episode_steps=max_episode_steps, progress=False)
        for k, returns in zip(run.evaluated_at, run.returns, strict=True):
            record("dagger" if k == iterations and "dagger" in wanted else "dagger_many",
                   run.policy, k * steps_per_iteration, run.n_labels[k - 1], returns)

    if "bc_equal_data" not in wanted:
        return rows
    extra = (iterations - 1) * env_steps_per_iteration
    if extra:
        more = collect(deterministic(expert), env_id, extra, data_seed)
        eq_obs = np.concatenate([obs, np.asarray(more.observations, dtype=np.float64)])
        eq_act = np.concatenate([act, np.asarray(more.actions, dtype=np.float64)])
    else:
        eq_obs, eq_act = obs, act
    bc_eq = fresh()
    train_bc(bc_eq, eq_obs, eq_act, steps=iterations * steps_per_iteration,
             batch_size=batch_size, seed=eq_seed)
    record("bc_equal_data", bc_eq, iterations * steps_per_iteration, len(eq_obs))
    return rows
