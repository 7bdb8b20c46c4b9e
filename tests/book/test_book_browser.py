"""The web book (`make book`), opened page by page in headless Chromium, offline.

A static server on 127.0.0.1 serves build/book; every request to any other host is aborted
and counted. Each page of the site is opened at a desktop width (1280 px) and checked, then
resized to a phone width (390 px) and checked again:
- formulas are rendered: every formula Sphinx wrote (an element of class "math") holds
  MathJax's output (mjx-container), and no raw TeX ($...$, \\(, \\[, $$) is left in the
  visible text outside code; each formula carries MathJax's assistive MathML, which
  screen readers read;
- every <img> has an alt text that is the figure's description from its notebook (or the
  fallback of docs/book/pages.yml), not empty and not a file name; on notebook pages the
  alts are exactly the descriptions of that notebook's figures, in order;
- every image keeps its aspect ratio: rendered width / height within 2 % of the PNG's;
- no request left the site, and no page logged a console error.
A page that fails to load, or a request to 127.0.0.1 that fails (a missing script or
font), fails the test.

The browser is Debian's /usr/bin/chromium with the flags of the explorer's browser test;
Playwright never downloads one. Without /usr/bin/chromium the test skips. Set
RNN_BOOK_SCREENSHOTS to a folder to keep screenshots of the landing page and notebook 03
at both widths, in the light and the dark theme.
"""
import functools
import http.server
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "build" / "book"
PAGES = REPO / "docs" / "book" / "pages.yml"
CHROMIUM = Path("/usr/bin/chromium")
sys.path.insert(0, str(REPO / "tests" / "browser"))
from test_explorer_browser import CHROMIUM_ARGS  # noqa: E402  (the same flags)
sys.path.insert(0, str(REPO / "tools"))
import colab_cell  # noqa: E402  (REPOSITORY: the links every page must carry)

WIDTHS = {"desktop": 1280, "phone": 390}
SCREENSHOT_PAGES = ("index.html", "notebooks/03_vanishing_exploding.html")
MATHJAX_S = 30
# Raw TeX a reader would see if MathJax had not run (or a formula was cut in two): a
# delimiter, a $...$ pair or a TeX command such as \\gamma, outside code.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$[^$\s][^$\n]{0,200}?\$|\\[A-Za-z]{2,}")


def site_pages():
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if not p.relative_to(SITE).as_posix().startswith("_static/"))


def expected_alts(stem):
    """The alt texts notebook `stem` should give its figures, in order (as the build does)."""
    nb = json.loads((REPO / "notebooks" / f"{stem}.ipynb").read_text())
    fallbacks = (yaml.safe_load(PAGES.read_text()).get("alt_fallbacks") or {}).get(stem, {})
    alts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                text = "".join(data.get("text/plain", "")).strip()
                alts.append(text if text.startswith("Figure: ")
                            else " ".join(fallbacks.get(cell.get("id"), "").split()))
    return alts


def plan_problems(where, stem, plan):
    """What is wrong with the box that opens a notebook page (objectives, times, links)."""
    if not plan:
        return [f"{where}: no 'Before you start' box"]
    page = next(p for p in yaml.safe_load(PAGES.read_text())["pages"] if p.get("notebook") == stem)
    path = f"notebooks/{stem}.ipynb"
    want = [colab_cell.colab_url(path), colab_cell.binder_url(path)] + [
        f"https://github.com/{colab_cell.REPOSITORY}/blob/{colab_cell.BRANCH}/homework/{hw}/{hw}.ipynb"
        for hw in page["homework"]]
    out = [f"{where}: the box lacks the link {url}" for url in want if url not in plan["links"]]
    if not plan["first"]:
        out.append(f"{where}: the 'Before you start' box is not the first thing under the title")
    for needed in ("You will be able to", "reading about", "minutes", "running every cell",
                   "Prerequisites"):
        if needed not in plan["text"]:
            out.append(f"{where}: the box does not say {needed!r}: {plan['text'][:300]!r}")
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE} holds no built book: run `make test-book` (it runs `make book` first)")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium "
                    "(apt-get install --no-install-recommends chromium) to run the book's browser test")
    api = pytest.importorskip("playwright.sync_api",
                              reason="playwright is not importable: run `make test-book`")
    # Chromium's profile, HOME, XDG folders and TMPDIR inside the venv (as the explorer's
    # test does), so that nothing is written under ~; a short TMPDIR for its socket.
    base = Path(sys.prefix) / "test-home"
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="book-", dir=base))
    tmp = root / "tmp" if len(str(root / "tmp")) + 46 <= 107 else Path(tempfile.mkdtemp(prefix="rnn-book-"))
    home = root / "home"
    for d in (home / ".config", home / ".cache", home / ".local" / "share", tmp):
        d.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local" / "share"),
               TMPDIR=str(tmp))
    old_tmpdir = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp)
    try:
        with api.sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(root / "profile"), executable_path=str(CHROMIUM), headless=True,
                args=CHROMIUM_ARGS, env=env, viewport={"width": WIDTHS["desktop"], "height": 900})
            context.blocked = []          # requests to another host, aborted
            context.failed = []           # requests to the site that failed

            def route(r):
                url = urlsplit(r.request.url)
                if url.scheme in ("http", "https") and url.netloc != urlsplit(site).netloc:
                    context.blocked.append(r.request.url)
                    r.abort()
                else:
                    r.continue_()

            context.route("**/*", route)
            try:
                yield context
            finally:
                context.close()
    finally:
        if old_tmpdir is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_tmpdir
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


# Waits for MathJax's first typesetting (if the page loads it) and every image's decoding.
SETTLE_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return true;
}"""

# What a page shows: its formulas, the raw TeX left in visible text outside code, its images.
INSPECT_JS = """() => {
  const main = document.querySelector('main') || document.body;
  const clone = main.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight, .output')
       .forEach(e => e.remove());
  const maths = [...main.querySelectorAll('.math')];
  const plan = document.querySelector('.book-plan');
  const h1 = document.querySelector('main article h1, main section > h1');
  return {
    plan: plan && {
      // the box opens the page: the first thing after the title's heading
      first: !!(h1 && plan.closest('section') === h1.closest('section') &&
                [...h1.closest('section').children].filter(e => e.tagName !== 'SPAN')[1] === plan),
      text: plan.innerText,
      links: [...plan.querySelectorAll('a')].map(a => a.href),
    },
    maths: maths.length,
    rendered: maths.filter(m => m.querySelector('mjx-container')).length,
    mjx: document.querySelectorAll('mjx-container').length,
    assistive: document.querySelectorAll('mjx-container mjx-assistive-mml math').length,
    text: clone.innerText,
    imgs: [...document.images].map(i => ({
      src: i.getAttribute('src') || '', alt: i.getAttribute('alt'),
      natural: [i.naturalWidth, i.naturalHeight],
      shown: [i.getBoundingClientRect().width, i.getBoundingClientRect().height],
      visible: i.getClientRects().length > 0,
    })),
  };
}"""


def _open(context, url, width):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}")
            if urlsplit(r.url).netloc == urlsplit(url).netloc else None)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    page.wait_for_function(SETTLE_JS, timeout=MATHJAX_S * 1000)
    return page, errors


def test_every_page_renders_offline_with_formulas_alt_texts_and_true_aspect(site, browser):
    pages = site_pages()
    notebooks = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
    assert {f"notebooks/{n}.html" for n in notebooks} <= set(pages), pages
    assert {"index.html", "docs/theory.html"} <= set(pages), pages
    counts = {"pages": 0, "formulas": 0, "images": 0}
    problems = []
    for rel in pages:
        # One load per page, then the phone width by resizing the same page (MathJax and
        # the layout reflow; loading again would only double the time).
        page, errors = _open(browser, f"{site}/{rel}", WIDTHS["desktop"])
        for width_name, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => r(true)))")
            seen = page.evaluate(INSPECT_JS)
            where = f"{rel} at {width} px"
            if seen["rendered"] != seen["maths"]:
                problems.append(f"{where}: {seen['maths'] - seen['rendered']} of {seen['maths']} "
                                "formulas not rendered by MathJax")
            if seen["assistive"] != seen["mjx"]:
                problems.append(f"{where}: {seen['mjx'] - seen['assistive']} of {seen['mjx']} "
                                "formulas carry no MathML for screen readers (assistive-mml)")
            raw = RAW_TEX.findall(seen["text"])
            if raw:
                problems.append(f"{where}: raw TeX in the text: {raw[:5]}")
            for img in seen["imgs"]:
                alt = img["alt"] or ""
                if (not alt.strip() or alt.strip() == img["src"] or
                        re.search(r"\.(png|svg|jpe?g|gif)$|^[\w./-]+$", alt.strip())):
                    problems.append(f"{where}: image {img['src']} has alt {alt!r}")
                nw, nh = img["natural"]
                if not nw or not nh:
                    problems.append(f"{where}: image {img['src']} did not load")
                    continue
                w, h = img["shown"]
                if img["visible"] and w and h and abs((w / h) / (nw / nh) - 1) > 0.02:
                    problems.append(f"{where}: image {img['src'][-20:]} shown {w:.0f} x {h:.0f}, "
                                    f"its PNG is {nw} x {nh}: the aspect ratio moved "
                                    f"{100 * abs((w / h) / (nw / nh) - 1):.1f} %")
            if rel.startswith("notebooks/"):
                problems += plan_problems(where, Path(rel).stem, seen["plan"])
                want = expected_alts(Path(rel).stem)
                got = [i["alt"] for i in seen["imgs"]]
                assert all(a.startswith("Figure: ") for a in want), (rel, want)
                if got != want:
                    problems.append(f"{where}: alt texts {got} are not the notebook's figure "
                                    f"descriptions {want}")
                if not seen["maths"]:
                    problems.append(f"{where}: no formula found on a notebook page")
            if width_name == "desktop":
                counts["pages"] += 1
                counts["formulas"] += seen["rendered"]
                counts["images"] += sum(1 for i in seen["imgs"] if (i["alt"] or "").strip())
        if errors:
            problems.append(f"{rel}: console errors: {errors}")
        page.close()
    print(f"book: {counts['pages']} pages at {' and '.join(map(str, WIDTHS.values()))} px, "
          f"{counts['formulas']} formulas rendered, {counts['images']} images with alt text, "
          f"{len(browser.blocked)} requests to other hosts")
    if browser.blocked:
        problems.insert(0, f"{len(browser.blocked)} requests left the site: "
                           f"{sorted(set(browser.blocked))[:20]}")
    assert not problems, "\n".join(problems)
    assert counts["formulas"] > 0 and counts["images"] > 0, counts


# In the page's theme: the worst WCAG contrast ratio of the text in the article (paragraphs,
# list items, links, the box, table cells, text outputs; code's own highlighting colours
# aside) against the background it is drawn on, and the figures whose PNG is not opaque
# (a transparent figure would show its black axes on the dark background).
LEGIBILITY_JS = """() => {
  const lum = c => {
    const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const alpha = c => { const m = c.match(/[\\d.]+/g); return m.length > 3 ? Number(m[3]) : 1; };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (alpha(bg) > 0.5) return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  let worst = {ratio: 99};
  const texts = document.querySelectorAll(
    'main article p, main article li, main article a, main article td, main article th, ' +
    '.book-plan p, .cell_output pre, main article h1, main article h2');
  for (const el of texts) {
    if (!el.innerText.trim() || !el.getClientRects().length) continue;
    const fg = getComputedStyle(el).color, bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < worst.ratio) worst = {ratio, fg, bg, text: el.innerText.slice(0, 60)};
  }
  const transparent = [];
  for (const img of document.querySelectorAll('main img')) {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let opaque = true;
    for (let k = 3; k < d.length; k += 4 * 97) if (d[k] < 255) { opaque = false; break; }
    if (!opaque) transparent.push(img.getAttribute('src'));
  }
  return {worst, transparent};
}"""


def test_both_themes_are_legible(site, browser):
    """Every page in the light and the dark theme (the theme follows the reader's colour
    scheme): its text contrasts with its background by at least 4.5 : 1 (WCAG AA), and
    every figure is opaque, so it reads on a dark page. Set RNN_BOOK_SCREENSHOTS to keep
    screenshots of SCREENSHOT_PAGES at both widths in both themes."""
    out = os.environ.get("RNN_BOOK_SCREENSHOTS")
    problems = []
    for rel in site_pages():
        widths = WIDTHS if out and rel in SCREENSHOT_PAGES else {"desktop": WIDTHS["desktop"]}
        for width_name, width in widths.items():
            # One load, then the other colour scheme on the same page: the theme follows it.
            page = browser.new_page()
            page.emulate_media(color_scheme="light")
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{site}/{rel}", wait_until="load")
            page.wait_for_function(SETTLE_JS, timeout=MATHJAX_S * 1000)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                try:
                    page.wait_for_function(f"() => document.documentElement.dataset.theme === '{scheme}'",
                                           timeout=5000)
                except Exception:
                    theme = page.evaluate("() => document.documentElement.dataset.theme")
                    pytest.fail(f"{rel}: data-theme {theme!r} under a {scheme} colour scheme")
                seen = page.evaluate(LEGIBILITY_JS)
                if seen["worst"]["ratio"] < 4.5:
                    problems.append(f"{rel} ({scheme}): text contrast {seen['worst']}")
                if seen["transparent"]:
                    problems.append(f"{rel} ({scheme}): figures not opaque: {seen['transparent']}")
                if out and rel in SCREENSHOT_PAGES:
                    Path(out).mkdir(parents=True, exist_ok=True)
                    name = f"{Path(rel).stem}_{width_name}_{scheme}"
                    page.evaluate("() => window.scrollTo(0, 0)")
                    page.screenshot(path=str(Path(out) / f"{name}.png"))
                    if page.locator("main img").count():     # and its first figure
                        page.locator("main img").first.scroll_into_view_if_needed()
                        page.screenshot(path=str(Path(out) / f"{name}_figure.png"))
            page.close()
    assert not browser.blocked, f"requests left the site: {sorted(set(browser.blocked))[:20]}"
    assert not problems, "\n".join(problems)
