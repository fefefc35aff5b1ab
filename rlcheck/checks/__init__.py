"""Public checks to run on your own implementations, e.g. from your pytest suite.

Each returns a :class:`~rlcheck.result.CheckResult`; call ``.assert_passed()`` in a test."""
