"""Atomic writes: a file is complete or absent, even when its writer is killed mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rlcheck.atomic import (
    atomic_path,
    write_bytes_atomic,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)


def test_writers_round_trip(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a" / "x.txt", "hé")
    assert (tmp_path / "a" / "x.txt").read_text(encoding="utf-8") == "hé"
    write_bytes_atomic(tmp_path / "b.bin", b"\0\1")
    assert (tmp_path / "b.bin").read_bytes() == b"\0\1"
    write_json_atomic(tmp_path / "c.json", {"k": [1, 2]})
    assert (tmp_path / "c.json").read_text() == '{\n  "k": [\n    1,\n    2\n  ]\n}\n'
    write_csv_atomic(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), tmp_path / "d.csv")
    assert (tmp_path / "d.csv").read_text() == "a,b\n1,x\n2,y\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b.bin", "c.json", "d.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "outcome.json"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError, match="mid-write"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["outcome.json"]


KILLED_WRITER = """
import sys
from rlcheck.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "w") as fh:
        fh.write("partial")
        fh.flush()
        print("writing", flush=True)
        import time; time.sleep(60)
"""


def test_a_killed_writer_leaves_the_old_file_intact(tmp_path: Path) -> None:
    """A kill during write_text of outcome.json left a 0-byte file."""
    target = tmp_path / "outcome.json"
    target.write_text('{"verdict": "confirmed"}\n')
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER)
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": root})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert target.read_text() == '{"verdict": "confirmed"}\n'


def test_report_shows_a_corrupt_outcome_instead_of_crashing(tmp_path: Path) -> None:
    """A 0-byte outcome.json made report.best_run raise JSONDecodeError and broke the docs."""
    from rlcheck import report
    from rlcheck.claims import CLAIMS

    claim = CLAIMS[0]
    out = tmp_path / claim.id / "quick"
    out.mkdir(parents=True)
    (out / "outcome.json").write_text("")
    (out / "provenance.json").write_text('{"tier": "qu')
    run = report.best_run(claim.id, tmp_path)
    assert run is not None and run["outcome"]["verdict"] == "error"
    assert "outcome.json" in run["outcome"]["summary"] and "corrupt" in run["outcome"]["summary"]
    assert run["provenance"] == {}
    page = report.claim_page(claim, tmp_path, tmp_path)
    assert "empty or corrupt" in page


def test_verify_writes_its_outputs_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """verify's outcome.json, provenance.json, error.txt and verdicts go through atomic_path."""
    from rlcheck import atomic, verify
    from rlcheck.claims import CLAIMS

    written: list[str] = []
    real = atomic.write_text_atomic

    def spy(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
        written.append(Path(path).name)
        real(path, text, encoding)

    monkeypatch.setattr(verify, "write_text_atomic", spy)
    record = verify.Record(CLAIMS[0].id, "s", "confirmed", "confirmed", "x", None, "quick", "c",
                           0.0)
    verify.write_verdicts([record], tmp_path / "verdicts-partial.json")
    assert written == ["verdicts-partial.json"]
    assert '"confirmed"' in (tmp_path / "verdicts-partial.json").read_text()


def test_verify_and_the_analyses_write_only_through_rlcheck_atomic() -> None:
    """Every file verify and the analyses write is complete or absent: no direct writes."""
    import re

    root = Path(__file__).resolve().parents[1]
    direct = re.compile(r"\.to_csv\(|\.write_text\(|\.write_bytes\(|\bopen\([^)]*[\"']w|"
                        r"\.open\([\"']w|\.savefig\(")
    allowed = re.compile(r"atomic_path\(|savefig\(tmp")
    offenders = [f"{path.relative_to(root)}:{i}: {line.strip()}"
                 for path in [*sorted((root / "analyses").glob("*.py")),
                              root / "rlcheck" / "verify.py", root / "rlcheck" / "claims.py"]
                 for i, line in enumerate(path.read_text().splitlines(), 1)
                 if direct.search(line) and not allowed.search(line)]
    assert offenders == []
