"""Progress: a bar on a terminal, plain periodic lines in a log, nothing with RLCHECK_PROGRESS=0."""

from __future__ import annotations

import io
import warnings

import pytest

from rlcheck import progress, v4_notice


def test_without_a_terminal_progress_is_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    for _ in progress.track(range(1000), desc="work"):
        pass
    with progress.progress_bar("manual", total=3) as bar:
        bar.update(3)
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    # one line at the start, one at the end (the loop is faster than LINE_INTERVAL_S)
    assert len([line for line in lines if line.startswith("work")]) == 2
    assert "1000/1000" in lines[1] and "3/3" in lines[-1]


def test_progress_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.ENV_VAR, "0")
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    for _ in progress.track(range(10), desc="work"):
        pass
    assert log.getvalue() == ""


def test_the_v4_deprecation_is_said_once_with_why(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(v4_notice, "_state", {"installed": False, "said": False})
    with warnings.catch_warnings():
        v4_notice.explain_v4_once(out)
        for env in ("Ant-v4", "Hopper-v4", "Ant-v4"):
            warnings.warn(f"\x1b[33mWARN: The environment {env} is out of date. You should "
                          "consider upgrading to version `v5`.\x1b[0m", DeprecationWarning,
                          stacklevel=1)
    said = out.getvalue().splitlines()
    assert len(said) == 1 and "trained on v4" in said[0]
