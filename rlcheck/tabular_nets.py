"""Tabular policies and critics as torch modules, so that code written for networks runs on them.

A tabular function of the state is a linear layer on a one-hot observation: ``f(s) = e_s^T W``.
Each module accepts either one-hot observations ``[B, S]`` (float) or state indices ``[B]``
(integer), so it plugs into code that feeds a network the observations an environment returned.

* :class:`TabularQ`: ``Q(s, .) = W[s]``, shape ``[B, A]``;
* :class:`TabularValue`: ``V(s) = w[s]``, shape ``[B]`` (exact values, or planted ones);
* :class:`TabularPolicy`: ``pi(.|s) = Categorical(logits=theta[s])``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.distributions import Categorical


def state_index(obs: Tensor | np.ndarray, n_states: int) -> Tensor:
    """The state indices ``[B]`` of one-hot observations ``[B, S]`` or of indices ``[B]``.

    Raises ``ValueError`` naming ``obs`` when it is neither (wrong width, not one-hot, out of range).
    """
    obs = torch.as_tensor(obs)
    if obs.ndim == 2 and obs.shape[1] == n_states:
        index = obs.argmax(dim=1)
        if not torch.equal(obs.to(torch.float64), nn.functional.one_hot(index, n_states).double()):
            raise ValueError("obs [B, S] must be one-hot rows (one 1, the rest 0)")
        return index
    if obs.ndim == 2 and obs.shape[1] == 1:
        obs = obs[:, 0]
    if obs.ndim == 1 and (not obs.is_floating_point() or torch.equal(obs, obs.round())):
        index = obs.long()
        if ((index < 0) | (index >= n_states)).any():
            raise ValueError(f"obs holds a state index outside [0, {n_states})")
        return index
    raise ValueError(f"obs must be one-hot [B, {n_states}] or state indices [B], got shape "
                     f"{tuple(obs.shape)}")


def _parameter(table: np.ndarray | Tensor, ndim: int, name: str,
               requires_grad: bool) -> nn.Parameter:
    tensor = torch.as_tensor(np.asarray(table, dtype=np.float64))
    if tensor.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} contains a non-finite value")
    return nn.Parameter(tensor.clone(), requires_grad=requires_grad)


class TabularQ(nn.Module):
    """``Q(s, a) = table[s, a]``; ``forward(obs) -> [B, A]`` (float64)."""

    def __init__(self, table: np.ndarray | Tensor, *, requires_grad: bool = False) -> None:
        super().__init__()
        self.table = _parameter(table, 2, "table [S, A]", requires_grad)

    def forward(self, obs: Tensor) -> Tensor:
        """The row ``table[s]`` of each observation's state."""
        return self.table[state_index(obs, self.table.shape[0])]


class TabularValue(nn.Module):
    """``V(s) = table[s]``; ``forward(obs) -> [B]`` (float64)."""

    def __init__(self, table: np.ndarray | Tensor, *, requires_grad: bool = False) -> None:
        super().__init__()
        self.table = _parameter(table, 1, "table [S]", requires_grad)

    def forward(self, obs: Tensor) -> Tensor:
        """``table[s]`` for each observation's state."""
        return self.table[state_index(obs, self.table.shape[0])]


class TabularPolicy(nn.Module):
    """Softmax policy ``pi(a|s) = softmax(logits[s])_a``; ``forward(obs) -> Categorical``."""

    def __init__(self, logits: np.ndarray | Tensor, *, requires_grad: bool = False) -> None:
        super().__init__()
        self.logits = _parameter(logits, 2, "logits [S, A]", requires_grad)

    def forward(self, obs: Tensor) -> Categorical:
        """``Categorical(logits=logits[s])`` for each observation's state."""
        return Categorical(logits=self.logits[state_index(obs, self.logits.shape[0])])

    def probs(self) -> np.ndarray:
        """The policy table ``pi(a|s)`` as a float64 array ``[S, A]``."""
        return torch.softmax(self.logits.detach(), dim=1).numpy()
