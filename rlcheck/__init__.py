"""rlcheck: reference deep-RL algorithms with statistical checks that settle claims about them.

Start with :mod:`rlcheck.checks` (checks you run on your own code), :mod:`rlcheck.exact` (exact
answers on tabular MDPs) and :mod:`rlcheck.stats` (tests with declared error rates)."""

from rlcheck.claims import CLAIMS, Claim, Outcome
from rlcheck.mdp import TabularMDP, TrajectoryBatch, random_mdp, sample
from rlcheck.result import CheckResult

__version__ = "0.1.0"

__all__ = [
    "CLAIMS",
    "CheckResult",
    "Claim",
    "Outcome",
    "TabularMDP",
    "TrajectoryBatch",
    "__version__",
    "random_mdp",
    "sample",
]
