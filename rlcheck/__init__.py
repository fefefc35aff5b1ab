"""rlcheck: reference deep-RL algorithms with statistical checks that settle claims about them.

Start with :mod:`rlcheck.checks` (checks you run on your own code), :mod:`rlcheck.exact` (exact
answers on tabular MDPs) and :mod:`rlcheck.stats` (tests with declared error rates). The claims
registry is :mod:`rlcheck.claims`; importing ``rlcheck`` loads only the light core types below
(numpy, no torch, no registry), so ``from rlcheck import exact`` stays cheap. The floors of the
package and what each may import are described in ``docs/architecture.md``.
"""

from rlcheck.episodes import sample
from rlcheck.mdp import TabularMDP, TrajectoryBatch, random_mdp
from rlcheck.result import CheckResult

__version__ = "0.1.0"

__all__ = [
    "CheckResult",
    "TabularMDP",
    "TrajectoryBatch",
    "__version__",
    "random_mdp",
    "sample",
]
