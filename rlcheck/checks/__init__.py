"""Public checks to run on your own implementations, e.g. from your pytest suite.

Each returns a :class:`~rlcheck.result.CheckResult`; call ``.assert_passed()`` in a test. The
user guide (``docs/usage.md``) has a copy-paste example for every one.

============================== ===================================================== =============
check                          what it tests                                         module
============================== ===================================================== =============
``check_pg_weights``           per-step policy-gradient weights are unbiased         ``pg``
``check_bellman_backup``       a Bellman optimality backup is exact                  ``bellman``
``check_fitted_q_iteration``   linear fitted Q iteration reaches the exact iterates  ``bellman``
``check_bc_loss``              a behaviour-cloning loss has the right gradient       ``bc``
``check_dagger``               a tabular DAgger loop labels, aggregates and samples  ``imitation``
``check_sampler``              a trajectory collector returns what the env produced  ``sampling``
``check_td_targets``           TD / DQN / double DQN / n-step / soft targets, exact  ``td``
``check_collected_pg``         advantages from your own loop on a time-limited env   ``collected``
``check_collection_loop``      the same, running your loop on the default problems   ``collected``
============================== ===================================================== =============
"""

from rlcheck.checks.bc import check_bc_loss
from rlcheck.checks.bellman import check_bellman_backup, check_fitted_q_iteration
from rlcheck.checks.collected import check_collected_pg, check_collection_loop
from rlcheck.checks.imitation import check_dagger
from rlcheck.checks.pg import check_pg_weights
from rlcheck.checks.sampling import check_sampler
from rlcheck.checks.td import check_td_targets

__all__ = [
    "check_bc_loss",
    "check_bellman_backup",
    "check_collected_pg",
    "check_collection_loop",
    "check_dagger",
    "check_fitted_q_iteration",
    "check_pg_weights",
    "check_sampler",
    "check_td_targets",
]
