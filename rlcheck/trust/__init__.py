"""How much to trust rlcheck's checks: planted bugs, calibration, power and the flakiness budget.

The trust wing sits above :mod:`rlcheck.checks` (it feeds the checks implementations and reads
their :class:`~rlcheck.result.CheckResult`) and below the claims, ``verify`` and the report:

* :mod:`rlcheck.trust.levels`: the error-rate conventions every test and analysis shares;
* :mod:`rlcheck.trust.bugs`: the planted-bug catalogue, one module per area mirroring
  :mod:`rlcheck.checks` (``pg``, ``bellman``, ``bc``, ``imitation``, ``sampling``);
* :mod:`rlcheck.trust.catalogue`: runs the catalogue and scores it;
* :mod:`rlcheck.trust.calibration`: measured false-positive rates of correct implementations;
* :mod:`rlcheck.trust.power`: detection rate against the size of a planted bias;
* :mod:`rlcheck.trust.flakiness`: the pytest plugin that sums the declared alphas of the
  suite's statistical tests and reruns them with other seeds.

Importing this package imports none of them.
"""
