"""Policy heads over ``torch.distributions``: a categorical and a diagonal Gaussian policy.

A diagonal Gaussian over ``d`` action dimensions with mean ``mu`` and standard deviations
``sigma = exp(log_std)`` has the joint log-density

    log pi(a | s) = sum_k log N(a_k; mu_k, sigma_k²)
                  = -1/2 sum_k ((a_k - mu_k) / sigma_k)² - sum_k log sigma_k - d/2 log(2 pi),

the sum of its per-dimension log-densities (the dimensions are independent). In
``torch.distributions`` that sum is what ``Independent(Normal(mu, sigma), 1).log_prob(a)``
returns, while a bare ``Normal(mu, sigma).log_prob(a)`` keeps one log-density per dimension. A
density is not a probability: for ``sigma < 1 / sqrt(2 pi)`` it exceeds 1 at the mean and its
log is positive; probabilities of a categorical lie in ``[0, 1]`` and their logs in
``[-inf, 0]``.

Both policies sample with a numpy ``Generator`` in :meth:`GaussianPolicy.act` and
:meth:`CategoricalPolicy.act`, so rollouts are reproducible from an explicit seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Independent, Normal

__all__ = [
    "CategoricalPolicy",
    "GaussianPolicy",
    "categorical",
    "diagonal_gaussian",
    "mlp",
]


def _check_finite(name: str, x: Tensor) -> None:
    if torch.isnan(x).any():
        raise ValueError(f"{name} contains NaN")


def diagonal_gaussian(mean: Tensor, log_std: Tensor) -> Independent:
    """The diagonal Gaussian ``N(mean, diag(exp(log_std))²)`` over the last dimension.

    Returns ``Independent(Normal(mean, exp(log_std)), 1)``: batch shape ``mean.shape[:-1]``,
    event shape ``mean.shape[-1:]``, so ``log_prob(a)`` is the joint log-density
    ``sum_k log N(a_k; mean_k, std_k²)`` of each action vector.

    Args:
        mean: ``[..., d]`` means (at least one dimension, the action dimension).
        log_std: log standard deviations broadcastable to ``mean`` (e.g. ``[d]``, a
            state-independent learned parameter). The variance ``exp(log_std)²`` must be
            positive in the tensor's dtype: ``Normal.log_prob`` computes
            ``-(a - mu)² / (2 sigma²)``, which is ``0/0 = NaN`` at ``a = mu`` once ``sigma²``
            underflows to 0, i.e. for ``log_std`` below about ``-51.7`` (float32) or ``-372.5``
            (float64).

    Raises:
        ValueError: ``mean`` is a scalar, the shapes do not broadcast, an input holds NaN, or
            the variance under- or overflows.
    """
    if mean.ndim < 1:
        raise ValueError("mean must have at least one (action) dimension, got a scalar")
    try:
        shape = torch.broadcast_shapes(mean.shape, log_std.shape)
    except RuntimeError as err:
        raise ValueError(f"log_std of shape {tuple(log_std.shape)} does not broadcast to mean "
                         f"of shape {tuple(mean.shape)}") from err
    if shape != mean.shape:
        raise ValueError(f"log_std of shape {tuple(log_std.shape)} would enlarge mean's shape "
                         f"{tuple(mean.shape)} to {tuple(shape)}")
    _check_finite("mean", mean)
    _check_finite("log_std", log_std)
    std = torch.exp(log_std).expand_as(mean)
    if (std * std <= 0).any():
        raise ValueError(f"exp(log_std)² underflows to 0 in {std.dtype} (min log_std "
                         f"{log_std.min().item():.4g}): Normal.log_prob would return NaN")
    if torch.isinf(std).any():
        raise ValueError("exp(log_std) overflows to inf: log_std is too large for its dtype")
    return Independent(Normal(mean, std), 1)


def categorical(logits: Tensor) -> Categorical:
    """The categorical distribution ``p_i = exp(l_i) / sum_j exp(l_j)`` over the last dimension.

    Built from logits (not probabilities), so ``log_prob`` is the numerically stable
    ``l_i - logsumexp(l)``: finite for any finite logits, even huge ones. A logit of ``-inf``
    masks its action (probability 0, log-probability ``-inf``).

    Raises:
        ValueError: ``logits`` is a scalar, holds NaN or +inf, or a row is entirely ``-inf``.
    """
    if logits.ndim < 1:
        raise ValueError("logits must have at least one (action) dimension, got a scalar")
    _check_finite("logits", logits)
    if torch.isposinf(logits).any():
        raise ValueError("logits contain +inf")
    if torch.isneginf(logits).all(-1).any():
        raise ValueError("a row of logits is entirely -inf: no action has positive probability")
    return Categorical(logits=logits)


def mlp(in_dim: int, out_dim: int, hidden: Sequence[int] = (64, 64),
        activation: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    """A multilayer perceptron ``in_dim -> hidden... -> out_dim`` with ``activation`` between
    layers and a linear output (the CS285 hw1 policy network is ``hidden=(64, 64)``).

    Raises:
        ValueError: a size is not a positive integer.
    """
    sizes = [in_dim, *hidden, out_dim]
    for size in sizes:
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
            raise ValueError(f"layer sizes must be positive integers, got {sizes}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(int(n_in), int(n_out)))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _observations(obs: np.ndarray | Tensor, obs_dim: int, dtype: torch.dtype) -> Tensor:
    """Observations as a ``[B, obs_dim]`` tensor of the policy's dtype (a single ``[obs_dim]``
    observation is accepted by :meth:`act` and becomes a batch of one)."""
    x = torch.as_tensor(np.asarray(obs) if not isinstance(obs, Tensor) else obs, dtype=dtype)
    if x.ndim != 2 or x.shape[1] != obs_dim:
        raise ValueError(f"observations must have shape [B, {obs_dim}], got {tuple(x.shape)}")
    if torch.isnan(x).any():
        raise ValueError("observations contain NaN")
    return x


def _act_input(obs: np.ndarray, obs_dim: int, dtype: torch.dtype) -> tuple[Tensor, bool]:
    arr = np.asarray(obs)
    single = arr.ndim == 1
    return _observations(arr[None] if single else arr, obs_dim, dtype), single


class GaussianPolicy(nn.Module):
    """``pi(a | s) = N(mu_theta(s), diag(exp(log_std))²)``: an MLP mean and a learned,
    state-independent log standard deviation (the CS285 hw1 policy).

    Args:
        obs_dim: observation size.
        act_dim: action size.
        hidden: hidden layer sizes of the mean network.
        log_std_init: initial value of every ``log_std`` entry.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int] = (64, 64),
                 log_std_init: float = 0.0) -> None:
        super().__init__()
        self.obs_dim = int(obs_dim)
        self.act_dim = int(act_dim)
        self.mean_net = mlp(obs_dim, act_dim, hidden)
        self.log_std = nn.Parameter(torch.full((self.act_dim,), float(log_std_init)))

    def forward(self, obs: Tensor) -> Independent:
        """The action distribution for observations ``[B, obs_dim]``: batch ``[B]``, event
        ``[act_dim]``."""
        x = _observations(obs, self.obs_dim, self.log_std.dtype)
        return diagonal_gaussian(self.mean_net(x), self.log_std)

    @torch.no_grad()
    def act(self, obs: np.ndarray, rng: np.random.Generator,
            deterministic: bool = False) -> np.ndarray:
        """Actions ``mu(s) + exp(log_std) * z`` with ``z ~ N(0, I)`` drawn from ``rng``
        (``mu(s)`` when ``deterministic``). ``obs`` is ``[B, obs_dim]`` (returns ``[B, act_dim]``)
        or one observation ``[obs_dim]`` (returns ``[act_dim]``)."""
        x, single = _act_input(obs, self.obs_dim, self.log_std.dtype)
        mean = self.mean_net(x).numpy().astype(np.float64)
        if not deterministic:
            std = np.exp(self.log_std.numpy().astype(np.float64))
            mean = mean + std * rng.standard_normal(mean.shape)
        return mean[0] if single else mean


class CategoricalPolicy(nn.Module):
    """``pi(a | s) = softmax(f_theta(s))_a`` over ``n_actions`` discrete actions.

    Args:
        obs_dim: observation size.
        n_actions: number of actions.
        hidden: hidden layer sizes of the logit network.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.obs_dim = int(obs_dim)
        self.n_actions = int(n_actions)
        self.logits_net = mlp(obs_dim, n_actions, hidden)

    def forward(self, obs: Tensor) -> Categorical:
        """The action distribution for observations ``[B, obs_dim]`` (batch ``[B]``)."""
        dtype = next(self.parameters()).dtype
        return categorical(self.logits_net(_observations(obs, self.obs_dim, dtype)))

    @torch.no_grad()
    def act(self, obs: np.ndarray, rng: np.random.Generator,
            deterministic: bool = False) -> np.ndarray:
        """Integer actions sampled by inverting the CDF at ``u ~ U[0, 1)`` drawn from ``rng``
        (the argmax when ``deterministic``). ``obs`` is ``[B, obs_dim]`` (returns ``[B]``) or one
        observation ``[obs_dim]`` (returns a 0-d array)."""
        x, single = _act_input(obs, self.obs_dim, next(self.parameters()).dtype)
        logits = self.logits_net(x).double()
        if deterministic:
            actions = logits.argmax(-1).numpy()
        else:
            cdf = torch.softmax(logits, -1).cumsum(-1).numpy()
            u = rng.random((cdf.shape[0], 1)) * cdf[:, -1:]
            actions = np.minimum((cdf <= u).sum(-1), self.n_actions - 1)
        actions = actions.astype(np.int64)
        return actions[0] if single else actions


def gaussian_policy(obs_dim: int, act_dim: int, *, seed: int = 0, hidden: Sequence[int] = (64, 64),
                    log_std_init: float = 0.0) -> GaussianPolicy:
    """A :class:`GaussianPolicy` whose initial weights depend on ``seed`` alone (drawn inside
    ``torch.random.fork_rng``, so the caller's global torch RNG state is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GaussianPolicy(obs_dim, act_dim, hidden=hidden, log_std_init=log_std_init)


def policy_for_env(env_id: str, *, hidden: Sequence[int] = (32, 32), seed: int = 0,
                   log_std_init: float = -0.5) -> nn.Module:
    """A float32 MLP policy sized for ``env_id``'s spaces: :class:`CategoricalPolicy` for
    discrete actions, :class:`GaussianPolicy` (via :func:`gaussian_policy`) for continuous ones,
    initialised from ``seed`` without touching the global torch generator."""
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        obs_dim = int(np.prod(env.observation_space.shape or ()))
        space = env.action_space
    finally:
        env.close()
    if isinstance(space, gym.spaces.Discrete):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return CategoricalPolicy(obs_dim, int(space.n), hidden)
    return gaussian_policy(obs_dim, int(np.prod(space.shape or ())), seed=seed, hidden=hidden,
                           log_std_init=log_std_init)
