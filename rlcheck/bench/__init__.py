"""Benchmarks and performance experiments, reported as ratios measured in one run.

The top floor beside ``verify`` and the report: it may import anything below it, nothing
imports it but the command line and the ``sampling-gil`` analysis.

* :mod:`rlcheck.bench.run`: ``python -m rlcheck.bench`` (``nox -s bench``, ``rlcheck bench``):
  tabular sampling against a Python loop, then the trajectory-sampling throughput;
* :mod:`rlcheck.bench.checks`: ``check_pg_weights`` per call at its defaults (under 1 s);
* :mod:`rlcheck.bench.runners`: the job runners' overhead per job and speedup on 1 and 2 workers;
* :mod:`rlcheck.bench.throughput`: every sampler against a plain serial gymnasium loop;
* :mod:`rlcheck.bench.gil`: does a workload hold the GIL? (probes beside a counter thread).
"""
