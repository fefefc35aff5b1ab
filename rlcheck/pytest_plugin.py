"""rlcheck's pytest plugin: reseed every check, render failed checks, tabular fixtures.

Installed with rlcheck (the ``pytest11`` entry point ``rlcheck.pytest_plugin``), or loaded with
``pytest -p rlcheck.pytest_plugin``. It adds:

* ``--rlcheck-seed=K``: mixes ``K`` into every seed of the run (each ``numpy.random.default_rng``
  and ``torch.manual_seed`` call, so every rlcheck check called with a fixed ``seed=``), by the
  re-seeding of :class:`rlcheck.trust.flakiness.Reseeder`. Running a suite with a few values of
  ``K`` measures its flakiness: a check that passes only for its seed fails for another one with
  about its declared ``alpha``. ``K = 0`` (or no option) leaves the seeds unchanged.
* A readable report when ``CheckResult.assert_passed()`` fails: a section ``rlcheck`` with the
  check's verdict, alpha, p-value, effect and its confidence interval, the smallest detectable
  effect, the sample size and seed, and every failing part (:func:`render_failure`).
* Fixtures for a user's own collection loop on a tabular problem
  (:mod:`rlcheck.tabular_env`): ``tabular_problem`` (parametrised over
  :func:`~rlcheck.tabular_env.default_problems`: a discounted ring cut by a time limit, and a
  chain with a terminal goal), ``tabular_env`` (its ``TimeLimit`` environment, index
  observations), ``tabular_policy`` and ``tabular_critic`` (torch modules).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from rlcheck.result import CheckFailed, CheckResult

OPTION = "--rlcheck-seed"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--rlcheck-seed``."""
    group = parser.getgroup("rlcheck")
    group.addoption(OPTION, action="store", type=int, default=None, metavar="K",
                    help="mix K into every seed (numpy default_rng, torch.manual_seed) so that "
                         "every rlcheck check runs on other samples; 0 keeps the seeds")


def _seed_offset(config: pytest.Config) -> int:
    value = config.getoption(OPTION, default=None)
    return 0 if value is None else int(value)


_RESEEDER_KEY = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    """With ``--rlcheck-seed=K`` (K != 0), wrap numpy's ``default_rng`` now and
    ``torch.manual_seed`` once torch is imported."""
    offset = _seed_offset(config)
    if offset == 0:
        return
    from rlcheck.trust.flakiness import Reseeder

    reseeder = Reseeder(offset)
    reseeder.install_numpy()
    config.stash[_RESEEDER_KEY] = reseeder


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say that the seeds are mixed, and with which ``K``."""
    offset = _seed_offset(config)
    return f"rlcheck: every seed mixed with --rlcheck-seed={offset}" if offset else None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Re-seed ``torch.manual_seed`` too, once a test module has imported torch."""
    reseeder = item.config.stash.get(_RESEEDER_KEY, None)
    if reseeder is not None:
        reseeder.install_torch()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore ``default_rng`` and ``torch.manual_seed``."""
    reseeder = config.stash.get(_RESEEDER_KEY, None)
    if reseeder is not None:
        reseeder.remove()
        del config.stash[_RESEEDER_KEY]


# ----------------------------------------------------------------------------- failure report

def _number(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def render_failure(result: CheckResult, indent: str = "") -> str:
    """A failed :class:`~rlcheck.result.CheckResult` as lines a person reads: its verdict and
    numbers, then each failing part (recursively)."""
    lines = [f"{indent}{result.name}: {'PASS' if result.passed else 'FAIL'}",
             f"{indent}  verdict: {result.verdict}"]
    numbers = [("alpha", _number(result.alpha)), ("p-value", _number(result.p_value)),
               ("statistic", _number(result.statistic))]
    if not math.isnan(result.effect):
        effect = _number(result.effect)
        if not any(math.isnan(c) for c in result.ci):
            effect += f" (CI [{_number(result.ci[0])}, {_number(result.ci[1])}])"
        numbers.append((result.effect_name or "effect", effect))
    if not math.isnan(result.detectable_effect):
        numbers.append(("detectable effect", _number(result.detectable_effect)))
    numbers += [("n", str(result.n)), ("seed", str(result.seed))]
    lines.append(indent + "  " + ", ".join(f"{k} = {v}" for k, v in numbers))
    failing = [c for c in result.children if not c.passed]
    if failing:
        lines.append(f"{indent}  failing parts ({len(failing)} of {len(result.children)}):")
        lines += [render_failure(c, indent + "    ") for c in failing]
    return "\n".join(lines)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Attach :func:`render_failure` of a failed check to the report, as section ``rlcheck``."""
    outcome: Any = yield
    if call.excinfo is None or not isinstance(call.excinfo.value, CheckFailed):
        return
    report = outcome.get_result()
    text = render_failure(call.excinfo.value.result)
    offset = _seed_offset(item.config)
    if offset:
        text += f"\n(seeds mixed with --rlcheck-seed={offset})"
    report.sections.append(("rlcheck", text))


# ----------------------------------------------------------------------------- fixtures

def _problems() -> tuple[Any, ...]:
    from rlcheck.tabular_env import default_problems

    return default_problems()


@pytest.fixture(params=range(2), ids=("cut-ring", "goal-chain"))
def tabular_problem(request: pytest.FixtureRequest) -> Any:
    """A :class:`~rlcheck.tabular_env.TabularProblem`: the ring cut by a time limit, then the
    chain with a terminal goal."""
    return _problems()[request.param]


@pytest.fixture
def tabular_env(tabular_problem: Any) -> Iterator[Any]:
    """The problem's environment (``TimeLimit``, index observations), closed afterwards."""
    env = tabular_problem.make_env()
    yield env
    env.close()


@pytest.fixture
def tabular_policy(tabular_problem: Any) -> Any:
    """The problem's policy: ``obs -> Categorical`` (a torch module)."""
    return tabular_problem.policy()


@pytest.fixture
def tabular_critic(tabular_problem: Any) -> Any:
    """The problem's critic: exact values, a planted value on terminal states."""
    return tabular_problem.critic()
