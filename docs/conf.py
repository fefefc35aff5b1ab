"""Sphinx configuration. Pages under ``claims/`` and ``api/`` are generated at every build."""

from __future__ import annotations

import pkgutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import rlcheck  # noqa: E402
from rlcheck.architecture import write_architecture_page_data  # noqa: E402
from rlcheck.report import generate  # noqa: E402

project = "rlcheck"
author = "rlcheck developers"
copyright = "2026, rlcheck developers"
release = rlcheck.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served from the site itself: formulas render offline
    "sphinx.ext.viewcode",
]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
html_theme = "furo"
html_title = f"rlcheck {release}"
html_static_path = ["_static"]
html_css_files = ["report.css"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# rlcheck documents its own symbols; docstrings inherited from gymnasium or torch classes are
# theirs (and not always valid reST under -W)
autodoc_inherit_docstrings = False
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
nitpicky = False
suppress_warnings = ["myst.header"]


def write_api_pages() -> None:
    """One page per rlcheck module, so every public function is documented from its docstring."""
    api = DOCS / "api"
    api.mkdir(exist_ok=True)
    for stale in api.glob("*.md"):  # pages of modules that were moved or removed
        stale.unlink()
    found = [m for m in pkgutil.walk_packages(rlcheck.__path__, "rlcheck.")
             if not m.name.rsplit(".", 1)[-1].startswith("_")]
    names = ["rlcheck", *sorted(m.name for m in found)]
    packages = {"rlcheck", *(m.name for m in found if m.ispkg)}
    for name in names:
        # Packages re-export names from their modules: document those once, in the module.
        options = "   :no-members:\n" if name in packages else ""
        (api / f"{name}.md").write_text(
            f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n{options}```\n")
    toc = "\n".join(names)
    (api / "index.md").write_text(
        "# API reference\n\nGenerated from the docstrings; every function states its "
        f"equation.\n\n```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n")


write_api_pages()
write_architecture_page_data(DOCS / "_generated" / "architecture")  # read by architecture.md
generate(DOCS)
