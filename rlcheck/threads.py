"""Torch's intra-op thread count for a block of code: one limiter for the whole package.

rlcheck's networks are tiny: one thread is fastest, and on a shared machine several intra-op
threads per process spin against each other (the ``sampling-gil`` report measures the effect of
torch's thread team beside a busy thread). :func:`torch_threads` sets the count for a block (or,
as a decorator, for a function) and restores it afterwards. The process-wide limit of sampler
workers, which also caps BLAS/OpenMP through environment variables, is
:func:`rlcheck.sampling.core.limit_threads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block (or the decorated function) with ``torch.set_num_threads(n)`` and restore
    the previous count; ``None`` leaves it unchanged."""
    import torch

    previous = torch.get_num_threads()
    if n is not None:
        if n < 1:
            raise ValueError(f"n must be >= 1 or None, got {n!r}")
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
