"""Policies as samplers see them, with noise that does not depend on how observations are batched.

A sampler calls a policy as ``policy(obs[B, obs_dim], rng) -> actions[B, ...]``. Batched samplers
step several environments with one call, and a reproducible sampler must then draw each
environment's noise from that environment's own generator, otherwise the actions would depend on
the batch layout. A policy may therefore also offer ``act_rows(obs[B, obs_dim], rngs)`` with one
generator per row; :func:`act_batch` uses it when present. The adapters here provide it:
:func:`policy_from_module` for a torch module returning a distribution (e.g.
``rlcheck.distributions.GaussianPolicy``), :func:`deterministic` for an ``obs -> action``
function such as an expert. Both are picklable, so process samplers can ship them to workers.

For a Gaussian ``N(mu(s), diag sigma(s)^2)`` a row's action is ``a = mu(s) + sigma(s) * z`` with
``z ~ N(0, I)`` drawn from that row's generator; for a categorical distribution ``a`` is the
inverse CDF of the row's probabilities at ``u ~ U(0, 1)`` from that row's generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    """``policy(obs[B, obs_dim], rng) -> actions[B, ...]``."""

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


def act_batch(policy: Callable[..., np.ndarray], obs: np.ndarray,
              rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """Actions for a batch of observations, row ``i`` drawing its noise from ``rngs[i]``.

    Uses ``policy.act_rows(obs, rngs)`` when the policy has it; otherwise calls
    ``policy(obs, rngs[0])`` (then the noise of a batch comes from its first row's generator,
    which is reproducible but depends on the batch layout).
    """
    if len(rngs) != len(obs):
        raise ValueError(f"act_batch got {len(obs)} observations but {len(rngs)} generators")
    act_rows = getattr(policy, "act_rows", None)
    actions = act_rows(obs, rngs) if act_rows is not None else policy(obs, rngs[0])
    actions = np.asarray(actions)
    if len(actions) != len(obs):
        raise ValueError(
            f"policy returned {len(actions)} actions for a batch of {len(obs)} observations; "
            "a policy maps obs[B, obs_dim] to actions[B, ...]"
        )
    return actions


class ModulePolicy:
    """A torch module ``obs -> Distribution`` (or ``obs -> action tensor``) as a sampler policy.

    Build it with :func:`policy_from_module`. Inference runs under ``torch.no_grad`` in the
    module's parameter dtype (float32 unless the module was converted, e.g. ``.double()``).
    """

    def __init__(self, module: Any, deterministic: bool = False) -> None:
        self.module = module
        self.deterministic = deterministic

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._act(obs, lambda shape: rng.standard_normal(shape),
                         lambda n: rng.random(n))

    def act_rows(self, obs: np.ndarray, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Actions with row ``i``'s noise drawn from ``rngs[i]`` (batch-layout independent)."""
        return self._act(
            obs,
            lambda shape: np.stack([r.standard_normal(shape[1:]) for r in rngs]),
            lambda n: np.array([r.random() for r in rngs]),
        )

    def _act(self, obs: np.ndarray, normal: Callable[[tuple[int, ...]], np.ndarray],
             uniform: Callable[[int], np.ndarray]) -> np.ndarray:
        import torch

        obs = np.asarray(obs)
        if obs.ndim != 2:
            raise ValueError(f"policy expects obs[B, obs_dim], got shape {obs.shape}")
        x = torch.as_tensor(obs, dtype=module_dtype(self.module))
        fast = gaussian_parts(self.module)
        if fast is not None:  # skip building (and validating) a distribution object
            mean_net, log_std = fast
            with torch.no_grad():
                mean = mean_net(x).numpy().astype(np.float64)
                if self.deterministic:
                    return mean
                std = np.broadcast_to(log_std.exp().numpy().astype(np.float64), mean.shape)
            return mean + std * normal(mean.shape)
        with torch.no_grad():
            out = self.module(x)
        if isinstance(out, torch.Tensor):
            return out.numpy()
        base = out.base_dist if isinstance(out, torch.distributions.Independent) else out
        if isinstance(base, torch.distributions.Normal):
            mean = out.mean.numpy().astype(np.float64)
            if self.deterministic:
                return mean
            std = out.stddev.numpy().astype(np.float64)
            return mean + std * normal(mean.shape)
        if isinstance(base, torch.distributions.Categorical):
            probs = base.probs.numpy().astype(np.float64)
            if self.deterministic:
                return probs.argmax(-1)
            cdf = np.cumsum(probs, axis=-1)
            u = uniform(len(probs)) * cdf[:, -1]
            return np.minimum((cdf <= u[:, None]).sum(-1), probs.shape[-1] - 1)
        raise TypeError(
            f"module returned {type(out).__name__}; policy_from_module supports a Tensor of "
            "actions, Normal / Independent(Normal) or Categorical distributions"
        )


def module_dtype(module: Any) -> Any:
    """The floating dtype of a module's first parameter (``torch.float32`` if it has none)."""
    import torch

    params = getattr(module, "parameters", None)
    for p in params() if callable(params) else ():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def gaussian_parts(module: Any) -> tuple[Any, Any] | None:
    """``(mean_net, log_std)`` of a module shaped like ``rlcheck.distributions.GaussianPolicy``.

    Such a module's distribution is ``N(mean_net(s), diag(exp(log_std))^2)`` with a
    state-independent ``log_std``; sampling from these two directly gives the same numbers as
    building the distribution, at a fraction of the per-call cost (``None`` otherwise).
    """
    import torch

    mean_net = getattr(module, "mean_net", None)
    log_std = getattr(module, "log_std", None)
    if callable(mean_net) and isinstance(log_std, torch.Tensor):
        return mean_net, log_std
    return None


def policy_from_module(module: Any, *, deterministic: bool = False) -> ModulePolicy:
    """Adapt a torch module ``obs[B, obs_dim] -> Distribution`` to the sampler interface.

    Args:
        module: e.g. ``GaussianPolicy`` or ``CategoricalPolicy`` from
            ``rlcheck.distributions``, or any ``nn.Module`` returning ``Normal``,
            ``Independent(Normal)``, ``Categorical`` or an action tensor.
        deterministic: act with the mean (Gaussian) or the most likely action (categorical).
    """
    return ModulePolicy(module, deterministic=deterministic)


class DeterministicPolicy:
    """``obs -> action`` as a sampler policy that ignores its generator(s)."""

    def __init__(self, fn: Callable[[np.ndarray], Any]) -> None:
        self.fn = fn

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self.fn(obs))

    def act_rows(self, obs: np.ndarray, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        return np.asarray(self.fn(obs))


def deterministic(fn: Callable[[np.ndarray], Any]) -> DeterministicPolicy:
    """Wrap a deterministic ``obs[B, obs_dim] -> actions[B, ...]`` callable (e.g. an expert)."""
    if not callable(fn):
        raise TypeError(f"deterministic() needs a callable, got {type(fn).__name__}")
    return DeterministicPolicy(fn)


class LinearSoftmaxPolicy:
    """``pi(a | s) = softmax(s W + b)_a``, a small picklable stochastic policy for tests and checks.

    Row ``i`` draws ``u ~ U(0, 1)`` from its own generator and takes the inverse CDF.
    """

    def __init__(self, weights: np.ndarray, bias: np.ndarray) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64)
        if self.weights.ndim != 2 or self.bias.shape != (self.weights.shape[1],):
            raise ValueError(
                f"weights must be [obs_dim, n_actions] and bias [n_actions], got "
                f"{self.weights.shape} and {self.bias.shape}"
            )

    def probabilities(self, obs: np.ndarray) -> np.ndarray:
        logits = np.asarray(obs, dtype=np.float64) @ self.weights + self.bias
        logits -= logits.max(-1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(-1, keepdims=True)

    def _sample(self, obs: np.ndarray, u: np.ndarray) -> np.ndarray:
        cdf = np.cumsum(self.probabilities(obs), axis=-1)
        return np.minimum((cdf <= (u * cdf[:, -1])[:, None]).sum(-1), cdf.shape[1] - 1)

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._sample(obs, rng.random(len(obs)))

    def act_rows(self, obs: np.ndarray, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        return self._sample(obs, np.array([r.random() for r in rngs]))
