"""Files that are either complete or absent: write to a temporary file, fsync, rename.

A process killed while writing ``outcome.json`` with ``Path.write_text`` leaves a truncated or
empty file that every later reader trips over. Each writer here writes a temporary file in the
target's folder (same filesystem), flushes it to disk (``fsync``), and renames it over the
target with ``os.replace``, which POSIX and Windows perform atomically: a reader sees the old
file or the new one, never a part. A failed or interrupted write removes its temporary file.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "outcome.json"
>>> write_json_atomic(path, {"verdict": "confirmed"})
>>> path.read_text()
'{\\n  "verdict": "confirmed"\\n}\\n'
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_bytes_atomic", "write_csv_atomic", "write_json_atomic",
           "write_text_atomic"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block ends
    without an exception (after an ``fsync``), removed otherwise. For writers that want a
    file name (``figure.savefig``, ``DataFrame.to_csv``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (temporary file, fsync, rename)."""
    write_bytes_atomic(path, text.encode(encoding))


def write_json_atomic(path: str | os.PathLike[str], value: Any, **dumps: Any) -> None:
    """``json.dumps(value, indent=2) + "\\n"`` written atomically (``dumps`` adds options)."""
    write_text_atomic(path, json.dumps(value, **{"indent": 2, **dumps}) + "\n")


def write_csv_atomic(frame: Any, path: str | os.PathLike[str], **to_csv: Any) -> None:
    """``frame.to_csv(path, index=False)`` (a pandas DataFrame) written atomically."""
    write_text_atomic(path, frame.to_csv(**{"index": False, **to_csv}))
