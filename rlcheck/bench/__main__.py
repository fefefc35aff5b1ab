"""``python -m rlcheck.bench``: the performance benchmarks (see :mod:`rlcheck.bench.run`)."""

from rlcheck.bench.run import main

raise SystemExit(main())
