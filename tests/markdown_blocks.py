"""Code blocks of the docs' Markdown pages, for the tests that run them as written."""

from __future__ import annotations

from pathlib import Path


def python_blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown page, in order."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        if current is None and line.strip() == "```python":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks
