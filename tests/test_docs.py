"""Docs that cannot drift: every public symbol has a docstring, every check is in the guide."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_blocks import python_blocks

import rlcheck
import rlcheck.checks

DOCS = Path(__file__).resolve().parents[1] / "docs"
MODULES = ["rlcheck", *sorted(m.name for m in pkgutil.walk_packages(rlcheck.__path__, "rlcheck.")
                              if not m.name.rsplit(".", 1)[-1].startswith("_"))]


def public_symbols(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    return [(name, obj) for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == module_name]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_function_and_class_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert inspect.getdoc(module), f"module {module_name} has no docstring"
    missing = [name for name, obj in public_symbols(module_name) if not inspect.getdoc(obj)]
    assert not missing, f"{module_name}: public symbols without a docstring: {missing}"


def test_every_public_check_is_in_the_user_guide() -> None:
    guide = (DOCS / "usage.md").read_text()
    checks = [name for name in dir(rlcheck.checks) if name.startswith("check_")]
    assert checks, "rlcheck.checks exports no check_* function"
    missing = [name for name in checks if name not in guide]
    assert not missing, f"docs/usage.md does not mention {missing}"




@pytest.mark.slow
@pytest.mark.parametrize("block", python_blocks(DOCS / "usage.md"),
                         ids=lambda b: b.split("import ")[-1].split("\n")[0][:40])
def test_user_guide_examples_run(block: str) -> None:
    exec(compile(block, "docs/usage.md", "exec"), {"__name__": "usage_example"})


# ----------------------------------------------------------------- the built HTML, without a browser

HTML = DOCS / "_build" / "html"
SKIPPED_TAGS = {"script", "style", "pre", "code", "kbd", "samp"}
RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\)|\\\[|\\\]|\\(frac|log|sum|mathbb|mathcal|sigma|"
                     r"nabla|pi|gamma|mu|operatorname|big|tfrac|infty)\b")


class TextOutsideMath(HTMLParser):
    """Collects the text of an HTML page outside code, scripts and MathJax's ``.math`` sources,
    and the MathJax sources themselves."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.text: list[str] = []
        self.math: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "img", "hr", "meta", "link", "input", "wbr"}:
            return
        classes = (dict(attrs).get("class") or "").split()
        self.stack.append((tag, tag in SKIPPED_TAGS or "math" in classes))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if any(skip for _, skip in self.stack):
            self.math.append(data)
            return
        self.text.append(data)


def built_pages() -> list[Path]:
    """The claim pages and guide pages of a site built earlier in this run (or by nox)."""
    pages = sorted((HTML / "claims").glob("*.html")) + [HTML / "usage.html", HTML / "index.html"]
    return [p for p in pages if p.exists()]


def raw_tex(html: str) -> list[str]:
    """Text outside code and math that still looks like TeX (delimiters or commands)."""
    parser = TextOutsideMath()
    parser.feed(html)
    text = " ".join(parser.text)
    return [m.group(0) for m in RAW_TEX.finditer(text)]


def test_raw_tex_is_detected() -> None:
    # the logprob-ranges defect: a continuation line "- \log\sigma_k" read as a bullet
    broken = "<p>is $\\sum_k \\big[-\\frac{x}{2}</p><ul><li>\\log\\sigma_k\\big]$</li></ul>"
    assert raw_tex(broken)
    fine = ('<p>is <span class="math notranslate nohighlight">\\(\\sum_k \\log\\sigma_k\\)</span>'
            "</p><pre>$ echo \\(x\\)</pre><code>a $b$</code>")
    assert raw_tex(fine) == []


@pytest.mark.slow
def test_built_pages_have_no_raw_tex_and_bundle_mathjax() -> None:
    pages = built_pages()
    if not pages:
        pytest.skip("the site is not built here: sphinx-build -b html docs docs/_build/html "
                    "(nox -s tests builds it, and tests/test_browser.py builds it when missing)")
    problems = []
    for page in pages:
        html = page.read_text()
        problems += [f"{page.name}: raw TeX {found!r}" for found in raw_tex(html)]
        if 'class="math' in html:
            if re.search(r'<script[^>]+src="https?://[^"]*mathjax', html, re.I):
                problems.append(f"{page.name}: MathJax from a CDN")
            if "_static/mathjax/tex-chtml.js" not in html:
                problems.append(f"{page.name}: no bundled MathJax")
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax is not bundled"
    assert not problems, "\n".join(problems)
