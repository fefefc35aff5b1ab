"""The report as a reader sees it: every claim page opened in headless Chromium at 1400 px.

Builds the site once (or reuses ``docs/_build/html`` when it is newer than the data, the docs
sources and the report generator), then checks each claim page: at most ``MAX_HEIGHT_PX`` tall,
no table wider than its container, every image loaded with real alt text, no raw TeX left
(MathJax, served from the site itself, has rendered every formula), every local link and anchor
resolves, and the verdict and the key figure start in the first screen, the figure's smallest
text at least 12 px (9 pt) on screen. Screenshots go
to ``docs/_build/screenshots/``. Chromium is Debian's ``/usr/bin/chromium`` (``.ci/run``
installs it) or Playwright's own; the test is skipped, saying why, only when neither exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlcheck.claims import ALL_CLAIMS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HTML = DOCS / "_build" / "html"
SCREENSHOTS = DOCS / "_build" / "screenshots"
WIDTH_PX = 1400
SCREEN_PX = 900
MAX_HEIGHT_PX = 6000
SOURCES = [ROOT / "reports", ROOT / "rlcheck", ROOT / "analyses", DOCS / "conf.py", DOCS / "_static",
           *DOCS.glob("*.md")]
"""What the site is built from: a site older than any of these is rebuilt."""

pytestmark = pytest.mark.slow


def newest_mtime(paths: list[Path]) -> float:
    """The latest modification time of any file under ``paths``."""
    times = [0.0]
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        times += [f.stat().st_mtime for f in files if f.is_file()]
    return max(times)


def chromium_path() -> str | None:
    """Debian's Chromium, or ``None`` (Playwright's bundled browser is then tried)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def site() -> Path:
    """The built site (built here when missing or older than its sources)."""
    index = HTML / "claims" / "index.html"
    if not index.exists() or index.stat().st_mtime < newest_mtime(SOURCES):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MUJOCO_GL": "disable"}
        subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(DOCS), str(HTML)],
                       check=True, env=env, cwd=ROOT, timeout=900)
    return HTML


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                   "(pip install -e '.[test]')")
    executable = chromium_path()
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, headless=True,
                                        args=["--no-sandbox"])
        except Exception as exc:  # no Chromium at all on this machine
            pytest.skip(f"no Chromium can be started here ({exc.__class__.__name__}); install "
                        "Debian's chromium (apt-get install chromium, as .ci/run does)")
        yield browser
        browser.close()


PAGE_REPORT = r"""() => {
  const tex = new RegExp(String.raw`\\\(|\\\)|\\\[|\\\]|\$[^$\s][^$]*\$|` +
    String.raw`\\(frac|log|sum|sigma|mathbb|mathcal|nabla|big|tfrac|operatorname|infty)\b`);
  const walker = document.createTreeWalker(document.querySelector('article') || document.body,
                                           NodeFilter.SHOW_TEXT);
  const rawTex = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const parent = n.parentElement;
    if (parent.closest('pre, code, script, style, mjx-container, .MathJax')) continue;
    if (tex.test(n.textContent)) rawTex.push(n.textContent.trim().slice(0, 80));
  }
  const overflow = [...document.querySelectorAll('article table')].filter(t => {
    const box = t.parentElement;
    return t.offsetParent !== null && t.scrollWidth > box.clientWidth + 1;
  }).map(t => (t.querySelector('th, td') || t).textContent.trim().slice(0, 40));
  const images = [...document.images].filter(i => i.offsetParent !== null || i.closest('details'))
    .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));
  const alts = [...document.querySelectorAll('article img')].filter(i => {
    const alt = (i.getAttribute('alt') || '').trim();
    return alt.length < 15 || /\.(png|svg|jpg)$/.test(alt);
  }).map(i => i.getAttribute('src'));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
    .filter(h => !/^(https?:|mailto:|javascript:)/.test(h));
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const first = document.querySelector('article img');
  const key = first && {src: first.getAttribute('src'), natural: first.naturalWidth,
                        shown: first.clientWidth,
                        top: first.getBoundingClientRect().top + window.scrollY};
  const verdict = [...document.querySelectorAll('article p')].find(
    p => p.textContent.trim().startsWith('Verdict:'));
  const verdictTop = verdict ? verdict.getBoundingClientRect().top + window.scrollY : null;
  const mathRendered = document.querySelectorAll('mjx-container').length;
  const mathSource = document.querySelectorAll('.math').length;
  return {height: document.documentElement.scrollHeight, rawTex, overflow, images, alts, links,
          ids, mathRendered, mathSource, key, verdictTop};
}"""


def test_every_claim_page_reads_well_in_chromium(site: Path, browser: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": WIDTH_PX, "height": SCREEN_PX})
    outside: list[str] = []
    page.route("**/*", lambda route: offline_only(route, outside))
    problems: list[str] = []
    heights: dict[str, int] = {}
    pages = ["index", *(c.id for c in ALL_CLAIMS)]
    for name in pages:
        path = site / "claims" / f"{name}.html"
        assert path.exists(), f"{path} was not built"
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function("() => !window.MathJax || !MathJax.startup || "
                               "MathJax.startup.promise !== undefined", timeout=10_000)
        page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        found = page.evaluate(PAGE_REPORT)
        heights[name] = found["height"]
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-first-screen.png"))
        if found["height"] > MAX_HEIGHT_PX:
            problems.append(f"{name}: {found['height']} px tall (limit {MAX_HEIGHT_PX})")
        for key, what in (("rawTex", "raw TeX"), ("overflow", "table wider than the page"),
                          ("images", "image not loaded"), ("alts", "image without alt text")):
            problems += [f"{name}: {what}: {item!r}" for item in found[key]]
        if found["mathSource"] and found["mathRendered"] < found["mathSource"]:
            problems.append(f"{name}: {found['mathSource']} formulas, "
                            f"{found['mathRendered']} rendered by MathJax")
        problems += broken_links(path, found["links"], set(found["ids"]))
        if name != "index":
            problems += first_screen(name, path, found)
    page.close()
    problems += [f"the site asked the network for {url}" for url in sorted(set(outside))]
    print("page heights at 1400 px:", heights)
    assert not problems, "\n".join(problems)


def offline_only(route: Any, outside: list[str]) -> None:
    """Serve local files; refuse (and record) anything from the network: the site must render
    offline, MathJax included."""
    url = route.request.url
    if url.startswith(("file:", "data:", "blob:", "about:")):
        route.continue_()
    else:
        outside.append(url)
        route.abort()


def check_page(page: Any, html: str, tmp_path: Path) -> dict[str, Any]:
    """Run the page checks on a small HTML document (for the planted-defect test)."""
    path = tmp_path / "planted.html"
    path.write_text(html)
    page.goto(path.as_uri(), wait_until="load")
    found = page.evaluate(PAGE_REPORT)
    found["broken"] = broken_links(path, found["links"], set(found["ids"]))
    return found


def test_the_page_checks_catch_planted_defects(browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": WIDTH_PX, "height": SCREEN_PX})
    planted = ("<html><body><article style='width:600px'>"
               "<div><table><tr><td>" + "x" * 400 + "</td></tr></table></div>"
               "<p>the density $\\sum_k \\big[-\\frac{x}{2}</p><ul><li>\\log\\sigma_k$</li></ul>"
               "<img src='missing.png' alt='x.png'>"
               "<a href='nowhere.html'>a</a><a href='#no-such-anchor'>b</a>"
               "</article></body></html>")
    found = check_page(page, planted, tmp_path)
    assert found["overflow"] and found["rawTex"] and found["images"] and found["alts"]
    assert any("broken link nowhere.html" in p for p in found["broken"])
    assert any("missing anchor #no-such-anchor" in p for p in found["broken"])
    clean = ("<html><body><article style='width:600px'><h2 id='a'>A</h2>"
             "<div><table><tr><td>short</td></tr></table></div>"
             "<a href='#a'>a</a><p>plain text</p></article></body></html>")
    found = check_page(page, clean, tmp_path)
    assert not (found["overflow"] or found["rawTex"] or found["images"] or found["broken"])
    page.close()


def first_screen(name: str, path: Path, found: dict[str, Any]) -> list[str]:
    """The verdict and the key figure start in the first screen, and the figure's smallest text
    reads as at least ``MIN_TEXT_PX`` at the width it is shown."""
    from PIL import Image

    from rlcheck.legible import MIN_TEXT_PX, TEXT_PX_KEY

    problems = []
    if found["verdictTop"] is None or found["verdictTop"] > SCREEN_PX:
        problems.append(f"{name}: the verdict is not in the first screen")
    key = found["key"]
    if key is None:
        return [*problems, f"{name}: no figure"]
    if key["top"] > SCREEN_PX:
        problems.append(f"{name}: the key figure starts at {key['top']:.0f} px, below the first "
                        f"screen ({SCREEN_PX} px)")
    with Image.open((path.parent / key["src"]).resolve()) as image:
        saved = image.text.get(TEXT_PX_KEY) if hasattr(image, "text") else None
    if saved is None:
        return [*problems, f"{name}: {key['src']} was not saved by rlcheck.claims.save_figure"]
    shown = float(saved) * key["shown"] / key["natural"]
    print(f"{name}: key figure {key['src']}: smallest text {shown:.1f} px on screen")
    if shown < MIN_TEXT_PX:
        problems.append(f"{name}: the key figure's smallest text is {shown:.1f} px on screen "
                        f"(at least {MIN_TEXT_PX})")
    return problems


def broken_links(page: Path, links: list[str], ids: set[str]) -> list[str]:
    """Local links of ``page`` whose file does not exist or whose anchor is not in it."""
    problems = []
    for href in links:
        target, _, anchor = href.partition("#")
        file = (page.parent / target).resolve() if target else page
        if target and not file.exists():
            problems.append(f"{page.name}: broken link {href}")
            continue
        if anchor and file.suffix == ".html":
            targets = ids if file == page else anchor_ids(file)
            if anchor not in targets:
                problems.append(f"{page.name}: missing anchor {href}")
    return problems


def anchor_ids(file: Path) -> set[str]:
    """The ``id`` attributes of an HTML file."""
    import re

    return set(re.findall(r'\bid="([^"]+)"', file.read_text(errors="replace")))
