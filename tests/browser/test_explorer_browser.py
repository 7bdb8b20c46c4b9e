"""Every notebook, Run All in a real JupyterLab in headless Chromium, as a student meets it;
then the notebooks' explorers, driven.

Every notebook runs at SEED = seeds.BROWSER_SEED (29), as a student who changed the seed would
run it, so this part is also that seed's run of the seed test (tests/notebooks/seeds.py): an
assert that fails there is an error output, and fails the test.

What a student does: open a notebook, Run > Run All Cells, wait for the last cell. Every
notebook in notebooks/ is opened and Run All'd in turn, each in a fresh kernel, with the
environment a new user has: the JupyterLab server and its kernels start without any
OPENBLAS_*, OMP_*, NPY_* or MPLBACKEND variable (`make test` sets OPENBLAS_NUM_THREADS=1 for
its other parts; the notebooks set their BLAS threads themselves, rc.session.blas_threads(1)).
Each notebook's Run All time runs from the click on "Run All Cells" to the last cell
finishing (every code cell shows an execution count, none shows [*], the kernel is idle). A
notebook fails on any error output or traceback, on any output on stderr, on an error in the
browser console, and on a Run All time above RUN_ALL_BUDGET_S (45 s: a ceiling asserted once
per notebook, not a speed test; the issue's target on 2 cores). The last test prints the
table (notebook, seconds; `-rP` shows it) and holds the series to SERIES_BUDGET_S (3 minutes).

The explorers: after its Run All, a notebook with an explorer has its sliders moved and its
dropdowns switched. Each move must redraw the plot (the base64 PNG of the widget's <img>
changes), with no "Error displaying widget", no "Loading widget" left on screen, no
traceback in the notebook and no error in the browser console. The explorer's cell shows
one figure, not the live one and a static copy (the static output is emptied once the
widget renders), and its image carries alt text.

Which explorers and which moves: the table EXPLORERS below, one entry per notebook (the
notebook, the label of a control that finds its explorer's cell, the moves at its default
settings, then the moves to extreme settings). A notebook named there but absent from
notebooks/ fails; it is never skipped.

The browser is Debian's /usr/bin/chromium driven by Playwright's Python package; no
browser is ever downloaded. One JupyterLab serves every notebook, on 127.0.0.1 with a token,
from a temporary root that holds a copy of notebooks/, with its config, data, runtime and
IPython dirs in that root too. The root lives inside the venv (<venv>/test-home/browser-*),
and Chromium gets its own profile, HOME, XDG folders and TMPDIR there, so the test writes
nothing outside the repository and its venv (Chromium had written
~/.config/chromium/Crash Reports/settings.dat). The root is removed afterwards.

One Chromium page loads JupyterLab once for the module (the server runs with
--LabApp.expose_app_in_browser, so the page has the app as window.jupyterapp), and opens each
notebook inside it with the app's command docmanager:open, as a double click in the file
browser does, rather than loading the whole app again per notebook. Before each notebook
every tab is closed and every kernel shut down (and again after it), so the page holds one
notebook panel, every selector looks inside it, and each Run All has its kernel alone on
the machine. The browser console's messages are collected afresh for each notebook, and a
failure prints the server's log after its message (most messages say what the page shows).

Set RNN_BROWSER_SCREENSHOTS to a folder to keep screenshots of each explorer at its
default and at its extreme settings (<notebook>_default.png, <notebook>_extreme.png), and
of the page at each failure (last-<test>.png; without it that one goes into the root, and
is removed with it).
Run one notebook with `-k 04_activations`.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))
import seeds  # noqa: E402

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")
# The flags that keep Chromium quiet on a machine whose network is closed.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 90
RUN_ALL_S = 300  # the whole notebook, kernel start included
REDRAW_S = 60  # one redraw after one control change
RESTART_S = 120  # Restart Kernel and Run All Cells, when the first run stalled
# How often the waits outside Run All look again: a redraw, the static copy emptied, the
# first PNG (POLL_MS), a kernel idle (2 * POLL_MS, since each look asks the server too). A
# redraw takes about 0.2 s, and a poll of 200 ms lengthened each move by half that on
# average. (Run All's own wait, _wait_until_all_ran, keeps its 100 ms.)
POLL_MS = 50
# The targets on 2 cores, for a student's Run All: each notebook, and the series.
RUN_ALL_BUDGET_S = 45
SERIES_BUDGET_S = 180
# Left out of the server's environment: what a new user does not have. `make test` sets
# OPENBLAS_NUM_THREADS=1 for its own processes; OpenBLAS reads OMP_NUM_THREADS too, numpy
# reads NPY_* at import (the portability runs set NPY_DISABLE_CPU_FEATURES), and MPLBACKEND
# would take the kernel off the inline backend.
NOT_A_STUDENTS_ENV = re.compile(r"^(OPENBLAS_|OMP_|NPY_|GOTO_|MKL_)|^MPLBACKEND$")
# The notebook panel on show (the only one: each notebook's tab is closed before the next
# opens, which _open_notebook checks): every selector on a notebook looks inside it.
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# The JupyterLab workspace the test works in (its layout is reset when the app loads).
WORKSPACE = "rnn-browser-test"
# True while a cell of the notebook is queued or running (its prompt shows [*]).
QUEUED_JS = (f"() => [...document.querySelectorAll('{PANEL} .jp-InputPrompt')]"
             ".some(p => p.textContent.includes('[*]'))")

# JupyterLab settings for the test server: every cell in the DOM (no windowing), and
# no news or update checks (the machine may have no network).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": (
        '{"fetchNews": "false", "checkForUpdates": false}'
    ),
}


def student_environment(environ):
    """environ without the variables a new user's shell does not have (NOT_A_STUDENTS_ENV)."""
    return {k: v for k, v in environ.items() if not NOT_A_STUDENTS_ENV.search(k)}


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path, n=60):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="module")
def sync_playwright():
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is absent: install Debian's chromium "
            "(apt-get install --no-install-recommends chromium) to run the browser test"
        )
    api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not importable: run `make test-browser` (it installs requirements.txt)",
    )
    return api.sync_playwright


@pytest.fixture(scope="module")
def scratch():
    """A temporary folder inside the venv for everything this test writes; removed after."""
    base = Path(sys.prefix) / "test-home"
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="browser-", dir=base))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def lab_process(sync_playwright, scratch):
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of the notebooks, started
    but not waited for (the fixture `lab` waits): Chromium starts meanwhile."""
    root = scratch / "lab"
    root.mkdir()
    shutil.copytree(NOTEBOOKS, root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    # Each copy reads SEED = seeds.BROWSER_SEED, as a student who changed the seed has it: this
    # run is that seed's run of the seed test too (its outputs are not compared, only errors).
    import nbformat
    for copy_ in sorted((root / "notebooks").glob("*.ipynb")):
        nbformat.write(seeds.with_seed(nbformat.read(copy_, as_version=4), seeds.BROWSER_SEED,
                                       clear=False), copy_)
    home = root / "home"
    for rel, text in LAB_SETTINGS.items():
        f = home / "config" / "lab" / "user-settings" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    env = student_environment(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(home / "ipython"),
        MPLCONFIGDIR=str(home / "matplotlib"),
    )
    port, token = _free_port(), uuid.uuid4().hex
    log = root / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # window.jupyterapp: the test opens and closes notebooks through the app's commands.
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log, "wb") as logf:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=logf, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        yield {"base": base, "token": token, "root": root, "log": log, "pid": proc.pid,
               "proc": proc, "started": time.monotonic()}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def lab(lab_process):
    """The server of lab_process, once it answers."""
    proc, log = lab_process["proc"], lab_process["log"]
    deadline = lab_process["started"] + SERVER_START_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{lab_process['base']}/api/status?token="
                                        f"{lab_process['token']}", timeout=5) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{_tail(log)}")
        time.sleep(0.1)
    return {k: v for k, v in lab_process.items() if k not in ("proc", "started")}


@pytest.fixture(scope="module")
def app_page(sync_playwright, lab_process, scratch, request):
    """One Chromium page with a fresh profile for the whole module, showing JupyterLab: the
    app is loaded once, and each notebook is then opened inside it (open_notebook). Console
    messages and page errors go to page.console_all and page.console_errors, which the
    function-scoped fixture `page` empties before each notebook."""
    tmp_path = scratch / "chromium"
    home = tmp_path / "home"
    for d in ("home/.config", "home/.cache", "home/.local/share", "tmp"):
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
    # Chromium's own profile, home and temporary folder: it writes crash-report settings
    # under $XDG_CONFIG_HOME (else ~/.config), caches under $XDG_CACHE_HOME, and temporary
    # files under $TMPDIR. Playwright's driver inherits TMPDIR for its artefacts too.
    # A Unix socket path holds at most 107 bytes, and Chromium puts its SingletonSocket at
    # $TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket (46 more): where the clone lies
    # too deep for that, a fresh folder in the system's temporary directory, removed after.
    tmp = tmp_path / "tmp"
    if len(str(tmp)) + 46 > 107:
        tmp = Path(tempfile.mkdtemp(prefix="rnn-browser-"))
        request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    browser_env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                       XDG_CACHE_HOME=str(home / ".cache"),
                       XDG_DATA_HOME=str(home / ".local" / "share"),
                       TMPDIR=str(tmp))
    old_tmpdir = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = browser_env["TMPDIR"]
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                env=browser_env,
                viewport={"width": 1400, "height": 1000},
            )
            pg = context.pages[0] if context.pages else context.new_page()
            pg.console_errors, pg.console_all = [], []
            pg.shots = tmp_path

            def on_console(m):
                pg.console_all.append(f"{m.type}: {m.text}"[:300])
                if m.type == "error":
                    pg.console_errors.append(m.text)

            def on_pageerror(e):
                pg.console_all.append(f"page error: {e}"[:300])
                pg.console_errors.append(f"page error: {e}")

            pg.on("console", on_console)
            pg.on("pageerror", on_pageerror)
            throttle = float(os.environ.get("RNN_BROWSER_CPU_THROTTLE", "1"))
            if throttle > 1:  # to develop against a slow laptop: the page runs `throttle` times slower
                context.new_cdp_session(pg).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            try:
                lab = request.getfixturevalue("lab")   # Chromium has started meanwhile
                _load_app(pg, lab)
                yield pg
            finally:
                context.close()
    finally:
        if old_tmpdir is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_tmpdir


@pytest.fixture
def page(app_page, lab, request):
    """The module's page, for one notebook: no notebook open and the console lists empty
    before it, so that what the browser logs is the notebook's; on a failure, a screenshot
    and the server's log; after it, every notebook tab closed and every kernel shut down, so
    that the next notebook's kernel has the machine to itself."""
    pg = app_page
    failed_before = request.session.testsfailed
    _close_notebooks(pg, lab)
    pg.console_errors.clear()
    pg.console_all.clear()
    try:
        yield pg
    finally:
        if request.session.testsfailed > failed_before:  # diagnostics for the failure
            folder = Path(os.environ.get("RNN_BROWSER_SCREENSHOTS") or pg.shots)
            folder.mkdir(parents=True, exist_ok=True)
            shot = folder / ("last-" + re.sub(r"[^\w.-]", "_", request.node.name) + ".png")
            try:
                pg.screenshot(path=str(shot), full_page=True)
                print(f"last screenshot: {shot}")
            except Exception:
                pass
            print(f"JupyterLab log: {lab['log']}\n{_tail(lab['log'], 30)}")
        _close_notebooks(pg, lab)


def _load_app(page, lab):
    """Load JupyterLab in the test's workspace, reset (nothing open), and wait until the app
    has started and restored its layout: once per module, and again only when closing the
    notebooks failed."""
    page.goto(f"{lab['base']}/lab/workspaces/{WORKSPACE}?reset&token={lab['token']}",
              wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started",
                           timeout=SERVER_START_S * 1000, polling=100)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")


# Close every tab of the main area (a notebook, the launcher) without asking: disposing a
# document's widget closes it without the "save your changes?" dialog that a notebook changed
# by Run All would show. Returns how many notebook panels remain in the page (0 expected).
CLOSE_JS = """() => {
  const app = window.jupyterapp;
  for (const w of Array.from(app.shell.widgets('main'))) w.dispose();
  return document.querySelectorAll('.jp-NotebookPanel').length;
}"""


def _close_notebooks(page, lab):
    """Close every notebook tab, then shut down every kernel (its own and any left over)."""
    try:
        left = page.evaluate(CLOSE_JS)
    except Exception as e:  # a page that crashed or is loading: the app is loaded again
        left = f"unknown ({e})"
    if left != 0:
        print(f"closing the notebooks left {left} notebook panel(s): reloading JupyterLab")
        _load_app(page, lab)
    _shut_down_kernels(lab)


def _open_notebook(page, lab, path):
    """Open `path` (a notebook of the server's notebooks/) inside the running JupyterLab, as
    a double click in the file browser does, and wait until it shows a cell and its kernel
    is idle. Exactly one notebook panel must then be in the page: every selector below
    looks inside it."""
    page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', {path: p})"
                  ".then(() => true)", f"notebooks/{path.name}")
    _wait_visible(page, lab, page.locator(f"{PANEL} .jp-Cell").first, 90,
                  "the notebook did not show a cell")
    panels = page.locator(".jp-NotebookPanel").count()
    assert panels == 1, f"{panels} notebook panels in the page, not one\n{_describe(page, lab)}"
    _wait_for_kernel_idle(page, lab, 90)


def _describe(page, lab):
    """What the page shows, in text: printed with every failure, since CI keeps no screenshot."""
    out = []
    try:
        out.append(f"kernels (server): {_kernels(lab)}")
    except Exception as e:  # the server may be the problem
        out.append(f"kernels (server): unavailable ({e})")
    try:
        out.append("page: " + json.dumps(page.evaluate("""panel => {
            const txt = el => (el ? el.innerText : '').replace(/\\s+/g, ' ').trim();
            const cells = [...document.querySelectorAll(panel + ' .jp-Cell')];
            return {
              url: location.pathname,
              notebook_panels: document.querySelectorAll('.jp-NotebookPanel').length,
              indicator: (document.querySelector('.jp-Notebook-ExecutionIndicator') || {}).dataset,
              kernel_name: txt(document.querySelector('.jp-KernelName')),
              dialogs: [...document.querySelectorAll('.jp-Dialog')].map(d => txt(d).slice(0, 300)),
              menus_open: document.querySelectorAll('.lm-Menu').length,
              active: document.activeElement ? document.activeElement.className : null,
              sliders: document.querySelectorAll('.widget-slider').length,
              loading_widget: txt(document.body).includes('Loading widget'),
              error_widget: txt(document.body).includes('Error displaying widget'),
              cells: cells.map(c => ({
                prompt: txt(c.querySelector('.jp-InputPrompt')),
                outputs: txt(c.querySelector('.jp-OutputArea')).slice(0, 160),
              })).filter(c => c.prompt),
            };
        }""", PANEL), indent=1, default=str))
    except Exception as e:
        out.append(f"page: unavailable ({e})")
    out.append("console (last 40):\n  " + "\n  ".join(page.console_all[-40:]))
    return "\n".join(out)


def _png_sources(cell):
    """The src of every PNG image the explorer widgets of one cell show, in order."""
    return cell.locator(".widget-html img.rnn-figure").evaluate_all(
        "imgs => imgs.map(i => i.getAttribute('src') || '')"
        ".filter(s => s.startsWith('data:image/png;base64,'))"
    )


def _wait_for_new_plot(page, lab, cell, before, what):
    deadline = time.monotonic() + REDRAW_S
    while time.monotonic() < deadline:
        now = _png_sources(cell)
        if now and now != before:
            return now
        page.wait_for_timeout(POLL_MS)
    pytest.fail(f"the explorer's plot did not change within {REDRAW_S} s after {what}\n"
                f"{_describe(page, lab)}")


# The explorer's style sheet, tried on a stand-in for the static PNG output placed right
# after the explorer's output in the real page: "hidden" when the rule applies.
STATIC_STANDIN_JS = """cell => {
  const live = cell.querySelector('.rnn-explorer');
  const child = live && live.closest('.jp-OutputArea-child');
  if (!child) return 'no explorer output';
  const standin = child.cloneNode(false);
  const out = document.createElement('div');
  out.className = 'jp-OutputArea-output';
  out.dataset.mimeType = 'image/png';
  out.appendChild(document.createElement('img'));
  standin.appendChild(out);
  child.after(standin);
  const shown = out.getClientRects().length > 0;
  standin.remove();
  return shown ? 'shown' : 'hidden';
}"""


def _check_one_figure(page, lab, cell):
    """The explorer's cell shows one figure (the live one, with alt text), not two.

    Two things keep the static PNG below the live widget out of sight
    (rnn_core/widgets/base.py): the widget's style sheet hides it at once, and the widget's
    first view, reported by the front end, empties it from the kernel. Both are checked:
    one figure is shown from the start, the style sheet hides a stand-in for the static
    copy, and the static copy is emptied within REDRAW_S (else a message from the page did
    not reach the kernel)."""
    deadline = time.monotonic() + REDRAW_S
    while True:
        imgs = cell.locator(".jp-OutputArea img").evaluate_all(
            "imgs => imgs.map(i => [i.className, i.getAttribute('alt') || '',"
            " i.getClientRects().length > 0 && getComputedStyle(i).visibility !== 'hidden'])")
        shown = [(cls, alt) for cls, alt, visible in imgs if visible]
        if len(shown) != 1:
            pytest.fail(f"the explorer's cell shows {len(shown)} images, not one: {imgs}\n"
                        f"{_describe(page, lab)}")
        (cls, alt), = shown
        assert cls == "rnn-figure" and alt.startswith("Figure: "), imgs
        if len(imgs) == 1:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the static copy below the live figure was not emptied within "
                        f"{REDRAW_S} s: the widget's view count did not reach the kernel: "
                        f"{imgs}\n{_describe(page, lab)}")
        page.wait_for_timeout(POLL_MS)
    assert cell.evaluate(STATIC_STANDIN_JS) == "hidden", \
        "the explorer's style sheet does not hide an image output placed after it"
    body = cell.inner_text()
    assert "JupyterLab" not in body, body[:500]


def _screenshot(page, cell, name):
    """Keep a screenshot of the explorer's cell in $RNN_BROWSER_SCREENSHOTS, if set."""
    folder = os.environ.get("RNN_BROWSER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(Path(folder) / name))
        print(f"screenshot: {Path(folder) / name}")


def _kernels(lab):
    """The server's list of kernels.

    jupyter_server answers 500 for a moment while a kernel starts (its `last_activity` is
    still None: seen once under a load of 12 on 2 cores), so a 5xx is asked again for 10 s.
    """
    url = f"{lab['base']}/api/kernels?token={lab['token']}"
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code < 500 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _wait_for_kernel_idle(page, lab, timeout_s):
    """Wait until the page is connected to an idle kernel.

    The toolbar's indicator says "idle" for a moment before the kernel connects, so the
    server is asked too: a kernel with a connection and nothing to do.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        ready = any(k["connections"] > 0 and k["execution_state"] == "idle" for k in _kernels(lab))
        if ready and page.locator(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']"
        ).count():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the notebook's kernel was not idle within {timeout_s} s\n"
                        f"{_describe(page, lab)}")
        page.wait_for_timeout(2 * POLL_MS)   # each look asks the server too


KERNEL_DIALOG_JS = ("() => [...document.querySelectorAll('.jp-Dialog')]"
                    ".some(d => d.textContent.includes('Select Kernel'))")


def _accept_kernel_dialog(page):
    """A notebook whose kernelspec is unknown here asks which kernel to use: the default.
    Returns whether the dialog was there (checked at once: the caller waits for it or for
    the run, whichever comes first, so that no fixed wait is counted in the Run All time)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if not dialog.count():
        return False
    dialog.first.locator(".jp-mod-accept").click()
    return True


def _run_all_cells(page, lab):
    """Run > Run All Cells, as a student does, until a cell is seen queued or running.

    Returns the number of tries it took and the time of the click that started the run. Up
    to 3 tries are allowed, each reported with what the page showed, for a menu opened
    before the notebook was ready for it.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    # A cell shows [*] only while it is queued or running: watch every change of the
    # notebook's DOM, so that a notebook that runs faster than a poll is still seen.
    page.evaluate("""() => {
        window.__rnnQueued = false;
        const queued = QUEUED;
        new MutationObserver(() => { if (!window.__rnnQueued && queued()) window.__rnnQueued = true; })
            .observe(document.querySelector('PANEL'),
                     {subtree: true, childList: true, characterData: true});
    }""".replace("QUEUED", QUEUED_JS).replace("PANEL", PANEL))
    started = "() => window.__rnnQueued"
    for attempt in (1, 2, 3):
        # Run All acts on the current notebook: click into it first, as a student does
        # (on the first cell's prompt area, which selects the cell and holds no link).
        page.locator(f"{PANEL} .jp-Cell .jp-InputPrompt").first.click()
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        item = page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first
        item.wait_for(timeout=10_000)
        if "lm-mod-disabled" in (item.get_attribute("class") or ""):
            # Disabled (no current notebook yet, say): clicking it would do nothing. Close
            # the menu and try again.
            print(f"Run All Cells, try {attempt}: the menu item was disabled\n{_describe(page, lab)}")
            page.keyboard.press("Escape")
            page.wait_for_timeout(2_000)
            continue
        t_click = time.monotonic()
        item.click()
        try:
            page.wait_for_function(f"() => ({started})() || ({KERNEL_DIALOG_JS})()",
                                   timeout=30_000, polling=100)
            if _accept_kernel_dialog(page):
                page.wait_for_function(started, timeout=30_000, polling=100)
            return attempt, t_click
        except PlaywrightTimeout:
            print(f"Run All Cells, try {attempt}: no cell queued within 30 s\n{_describe(page, lab)}")
    pytest.fail("Run All Cells started nothing in 3 tries (see the page above)")


def _wait_visible(page, lab, locator, timeout_s, what):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        locator.wait_for(timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        pytest.fail(f"{what} within {timeout_s} s\n{_describe(page, lab)}")


# JupyterLab 4 renders an error (a traceback) and a stream on stderr alike: an output of
# MIME type application/vnd.jupyter.stderr (a selector on application/vnd.jupyter.error, as
# this test had, matches nothing).
STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
# The notebook's code cells as the page shows them: how many, how many queued or running
# ([*]), how many show an execution count, and how many error or stderr outputs it shows.
CELLS_JS = """stderr => {
  const panel = document.querySelector('PANEL');
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
  return {
    code: prompts.length,
    queued: prompts.filter(p => p.includes('[*]')).length,
    counted: prompts.filter(p => /\\[\\d+\\]/.test(p)).length,
    errors: panel.querySelectorAll(stderr).length,
  };
}""".replace("PANEL", PANEL)


def _wait_until_all_ran(page, lab, path, t_click, slider=None, what=None):
    """Wait for the end of Run All: no cell queued or running, every code cell with an
    execution count (or an error shown, after which JupyterLab runs no further cell), the
    kernel idle; for a notebook with an explorer, its control `slider` shown too.

    Returns (end time, start time, kernel restarts), the start being the click that started
    the run that ended. If cells stay queued for 30 s while the server says the kernel is
    idle (the execute requests never reached the kernel: seen once in a fresh clone, every
    cell [*] for 300 s, the kernel idle since its start), or every cell ran and 30 s later
    the explorer's control is still missing, the page is reported, reloaded (JupyterLab
    loaded again, showing the notebook `path`), and
    Kernel > Restart Kernel and Run All Cells is tried once, as a student would; the test
    then passes only if that run ends well, says it needed the restart, and its time runs
    from the restart's click.
    """
    deadline, done_since, stalled_since, restarts = t_click + RUN_ALL_S, None, None, 0
    while True:
        now = time.monotonic()
        cells = page.evaluate(CELLS_JS, STDERR)
        kernels = _kernels(lab)
        idle = bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)
        ran = cells["queued"] == 0 and (cells["counted"] == cells["code"] or cells["errors"] > 0)
        if ran and idle and page.locator(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
            if slider is None or slider.is_visible():
                return now, t_click, restarts
            done_since = done_since or now
        else:
            done_since = None
        if now > deadline:
            pytest.fail(f"Run All Cells had not ended {RUN_ALL_S if not restarts else RESTART_S} s "
                        f"after its click ({cells})\n{_describe(page, lab)}")
        # Cells shown queued ([*]) while the server says the kernel is idle: a student restarts.
        stalled_since = (stalled_since or now) if (cells["queued"] and idle) else None
        stalled = stalled_since is not None and now - stalled_since > 30
        missing = done_since is not None and now - done_since > 30
        if (stalled or missing) and restarts == 0:
            why = ("cells stayed queued with the kernel idle for 30 s" if stalled
                   else f"every cell ran but no {what} showed within 30 s")
            print(f"{why}: reloading the page and restarting\n{_describe(page, lab)}")
            # A fresh page first: when execute requests were lost on the way to the kernel,
            # later messages on the same connection (the widget's view count, which empties
            # the static copy) were lost too (seen once: two images after a restart alone).
            page.goto(f"{lab['base']}/lab/workspaces/{WORKSPACE}/tree/notebooks/{path.name}"
                      f"?reset&token={lab['token']}", wait_until="domcontentloaded")
            _wait_visible(page, lab, page.locator(f"{PANEL} .jp-Cell").first, 90,
                          "the notebook did not show a cell after reloading")
            _wait_for_kernel_idle(page, lab, 90)
            page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Kernel$")).click()
            page.locator(".lm-Menu-item",
                         has_text=re.compile(r"^Restart Kernel and Run All Cells")).first.click()
            t_click = time.monotonic()
            page.locator(".jp-Dialog .jp-mod-accept").click()
            # The restart clears every count: wait until the new run shows a queued cell.
            page.wait_for_function(f"() => ({QUEUED_JS})()", timeout=60_000, polling=100)
            restarts, done_since, stalled_since = 1, None, None
            deadline = t_click + RESTART_S
        elif (stalled or missing) and restarts:
            pytest.fail(f"the run after the kernel restart stalled too\n{_describe(page, lab)}")
        page.wait_for_timeout(100)


def _kernel_environments(lab):
    """{pid: the names in its environment} of the server's child processes (its kernels),
    read from /proc; {} where there is no /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == lab["pid"]:
                names = (stat.parent / "environ").read_bytes().split(b"\0")
                found[int(stat.parent.name)] = {n.split(b"=", 1)[0].decode() for n in names if n}
        except (OSError, ValueError, IndexError):
            continue                               # a process that ended meanwhile
    return found


def _outputs(page):
    """The text of every error or stderr output in the notebook, after its cell's prompt."""
    return page.evaluate("""sel => [...document.querySelectorAll('PANEL .jp-CodeCell')]
        .flatMap(c => [...c.querySelectorAll(sel)]
          .map(o => (c.querySelector('.jp-InputPrompt') || {}).textContent + ' '
                    + o.innerText.slice(0, 1500)))""".replace("PANEL", PANEL), STDERR)


# ---- what each notebook's explorer is asked to do ---------------------------------------

@dataclass(frozen=True)
class Slide:
    """Press `key` on the handle of the slider labelled `label` ("step": one step, right,
    or left when the handle is at its maximum; "End"/"Home": to the maximum/minimum)."""
    label: str
    key: str = "step"


@dataclass(frozen=True)
class Choose:
    """Select `value` in the dropdown labelled `label` (OTHER: an option other than the
    current one; BACK: the option that was current before the last OTHER of this label)."""
    label: str
    value: str


OTHER, BACK = "<another option>", "<the previous option>"


@dataclass(frozen=True)
class Explorer:
    notebook: str          # a file in notebooks/
    anchor: str            # the label of a slider only this explorer has: it finds the cell
    moves: tuple           # at the default settings: each must redraw the plot
    extremes: tuple        # then to the settings a student may try last: each must redraw


E03 = Explorer("03_vanishing_exploding.ipynb", anchor="T",
               moves=(Slide("T"), Choose("activation", OTHER), Choose("activation", BACK)),
               extremes=(Slide("T", "End"), Choose("activation", "sigmoid"),
                         Choose("W_h family", "nonnormal"), Slide("input scale", "End")))
E04 = Explorer("04_activations.ipynb", anchor="mean of a",
               moves=(Slide("mean of a"), Choose("activation", OTHER), Choose("activation", BACK),
                      Slide("spread (std) of a")),
               extremes=(Slide("mean of a", "End"), Slide("spread (std) of a", "End"),
                         Choose("activation", "sigmoid")))
# The control names of rnn_core.widgets.gates.cell_explorer and remedies.cliff_explorer.
E05 = Explorer("05_lstm_gru.ipynb", anchor="rho",
               moves=(Slide("rho"), Choose("cell", OTHER), Choose("cell", BACK)),
               extremes=(Slide("forget bias (LSTM)", "End"), Slide("T", "End"),
                         Slide("rho", "End"), Choose("cell", "gru (cudnn)"),
                         Slide("input scale", "End")))
E07 = Explorer("07_remedies.ipynb", anchor="learning rate",
               moves=(Slide("learning rate"), Slide("clipping threshold c")),
               extremes=(Slide("learning rate", "End"), Slide("clipping threshold c", "Home")))
# A notebook named here that is absent from notebooks/ fails (test_every_explorer_is_a_notebook).
EXPLORERS = [
    E03,
    E04,
    E05,
    E07,
]


def _control(cell, page, kind, label):
    """The slider box or the <select> labelled `label` in the explorer's cell (exactly one)."""
    name = re.compile(rf"^\s*{re.escape(label)}\s*$")
    box = cell.locator(f".widget-{kind}").filter(has=page.locator(".widget-label", has_text=name))
    if kind == "dropdown":
        box = box.locator("select")
    n = box.count()
    assert n == 1, f"expected one {kind} labelled {label!r} in the explorer's cell, found {n}"
    return box


def _move(page, lab, cell, move, plot, previous):
    """Do one move and wait for the plot to change; returns (new plot, what was done)."""
    if isinstance(move, Slide):
        box = _control(cell, page, "slider", move.label)
        handle, readout = box.locator(".noUi-handle").first, box.locator(".widget-readout").first
        key = move.key
        if key == "step":
            at_max = float(handle.get_attribute("aria-valuenow")) >= float(
                handle.get_attribute("aria-valuemax"))
            key = "ArrowLeft" if at_max else "ArrowRight"
        before = readout.inner_text()
        # ipywidgets 8 renders sliders with noUiSlider: its handle takes the keyboard focus
        # and moves per key, as for a keyboard user.
        handle.focus()
        handle.press(key)
        page.wait_for_function("([el, old]) => el.textContent.trim() !== old.trim()",
                               arg=[readout.element_handle(), before], timeout=10_000)
        what = f"pressing {key} on the slider {move.label!r} ({before} -> {readout.inner_text()})"
    else:
        select = _control(cell, page, "dropdown", move.label)
        current = select.input_value()
        options = select.locator("option").evaluate_all("os => os.map(o => o.value)")
        value = move.value
        if value == OTHER:
            value = next((o for o in options if o != current), None)
            assert value is not None, f"the dropdown {move.label!r} offers only {options}"
            previous[move.label] = current
        elif value == BACK:
            value = previous[move.label]
        assert value in options, f"the dropdown {move.label!r} offers {options}, not {value!r}"
        assert value != current, f"the dropdown {move.label!r} shows {value!r} already"
        select.select_option(value)
        what = f"choosing {value!r} in {move.label!r}"
    t = time.monotonic()
    return _wait_for_new_plot(page, lab, cell, plot, what), what, time.monotonic() - t


def _shut_down_kernels(lab):
    """Stop the notebook's kernel, so the next entry's kernel has the machine to itself."""
    for k in _kernels(lab):
        req = urllib.request.Request(f"{lab['base']}/api/kernels/{k['id']}", method="DELETE",
                                     headers={"Authorization": f"token {lab['token']}"})
        with urllib.request.urlopen(req, timeout=20):
            pass


NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
BY_NOTEBOOK = {e.notebook: e for e in EXPLORERS}
RUN_ALL_SECONDS = {}     # notebook stem -> its Run All time, for the table of the last test


def test_every_explorer_is_a_notebook():
    missing = [e.notebook for e in EXPLORERS if not (NOTEBOOKS / e.notebook).exists()]
    assert not missing, (f"EXPLORERS names {missing}, absent from notebooks/: this test drives "
                         "them; merge the notebook or take its entry out")
    assert len(BY_NOTEBOOK) == len(EXPLORERS), "one entry per notebook in EXPLORERS"


def test_the_server_gets_a_new_users_environment():
    env = student_environment({"OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell",
                               "NPY_DISABLE_CPU_FEATURES": "X86_V4", "MPLBACKEND": "Agg",
                               "OMP_NUM_THREADS": "1", "HOME": "/h", "PATH": "/bin"})
    assert env == {"HOME": "/h", "PATH": "/bin"}, env


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.stem for p in NOTEBOOK_PATHS])
def test_notebook_runs_all_in_jupyterlab(lab, page, path):
    explorer = BY_NOTEBOOK.get(path.name)
    stem = path.stem
    t0 = time.monotonic()
    # Inside the JupyterLab the module loaded once; the previous notebook's tab is closed.
    _open_notebook(page, lab, path)
    t_open = time.monotonic()

    clicks, t_click = _run_all_cells(page, lab)
    anchor = what = None
    panel = page.locator(PANEL)
    if explorer:
        label = page.locator(".widget-label",
                             has_text=re.compile(rf"^\s*{re.escape(explorer.anchor)}\s*$"))
        anchor = panel.locator(".widget-slider").filter(has=label)
        # The same, to find the cell that holds it: a locator in `has=` looks inside the
        # element it filters, so it names no PANEL.
        slider = page.locator(".widget-slider").filter(has=label)
        what = f"slider labelled {explorer.anchor!r}"
    t_done, t_click, restarts = _wait_until_all_ran(
        page, lab, path, t_click, anchor.first if explorer else None, what)
    seconds = t_done - t_click
    RUN_ALL_SECONDS[stem] = seconds
    if Path("/proc/self/environ").exists():     # the kernel had a new user's environment
        kernels = _kernel_environments(lab)
        assert kernels, f"no kernel process found under the server (pid {lab['pid']})"
        for pid, names in kernels.items():
            extra = sorted(n for n in names if NOT_A_STUDENTS_ENV.search(n))
            assert not extra, f"{stem}: the kernel (pid {pid}) had {extra} in its environment"
    cells = page.evaluate(CELLS_JS, STDERR)
    errors = _outputs(page)
    assert not errors, (f"{stem}: Run All showed {len(errors)} error or stderr output(s); the "
                        f"first:\n{errors[0]}")
    assert cells["counted"] == cells["code"], (
        f"{stem}: {cells['code'] - cells['counted']} code cell(s) without an execution count "
        f"after Run All ({cells})\n{_describe(page, lab)}")

    redraws = []
    if explorer:
        assert anchor.count() == 1, f"expected one slider labelled {explorer.anchor!r} in the notebook"
        # The explorer is the cell whose output holds the anchor slider.
        cell = panel.locator(".jp-CodeCell").filter(has=slider).first
        deadline = time.monotonic() + REDRAW_S
        while not _png_sources(cell):
            if time.monotonic() > deadline:
                pytest.fail(f"no PNG appeared in the explorer's output within {REDRAW_S} s "
                            f"of the end of Run All\n{_describe(page, lab)}")
            page.wait_for_timeout(POLL_MS)
        plot = _png_sources(cell)
        _check_one_figure(page, lab, cell)
        _screenshot(page, cell, f"{stem}_default.png")

        previous = {}
        for move in explorer.moves:
            plot, _, seconds_move = _move(page, lab, cell, move, plot, previous)
            redraws.append(seconds_move)
        _wait_for_kernel_idle(page, lab, REDRAW_S)
        for move in explorer.extremes:
            plot, _, seconds_move = _move(page, lab, cell, move, plot, previous)
            redraws.append(seconds_move)
        _wait_for_kernel_idle(page, lab, REDRAW_S)
        _check_one_figure(page, lab, cell)
        _screenshot(page, cell, f"{stem}_extreme.png")
        assert "could not be drawn" not in cell.inner_text(), cell.inner_text()[:2000]

    body = page.locator("#main").inner_text()
    assert "Error displaying widget" not in body
    assert "Loading widget" not in body
    tracebacks = page.locator(f"{PANEL} {STDERR}")   # after the moves: a callback's traceback
    assert tracebacks.count() == 0, tracebacks.first.inner_text()[:2000]
    assert page.console_errors == [], "browser console errors:\n" + "\n".join(page.console_errors)
    # Its tab, then its kernel: the next notebook's kernel has the machine to itself. (Closing
    # a tab with live widgets logs "Could not send widget sync message" from ipywidgets, the
    # views' last sync after the kernel connection closed: the `page` fixture empties the
    # console lists before the next notebook, as a fresh page did.)
    _close_notebooks(page, lab)
    print(f"{stem}: open {t_open - t0:.1f} s, Run All Cells ({clicks} tr{'ies' if clicks > 1 else 'y'}) "
          f"{seconds:.1f} s"
          + (f", {len(redraws)} redraws, median {sorted(redraws)[len(redraws) // 2]:.2f} s, "
             f"slowest {max(redraws):.2f} s" if redraws else "")
          + f", total {time.monotonic() - t0:.1f} s"
          + (f"; the run needed {restarts} kernel restart (see above)" if restarts else ""))
    assert seconds <= RUN_ALL_BUDGET_S, (
        f"{stem}: Run All took {seconds:.1f} s from the click to the last cell, above the "
        f"budget of {RUN_ALL_BUDGET_S} s per notebook")


def test_run_all_times_table():
    """The table of Run All times (shown with -rP), and the series within SERIES_BUDGET_S."""
    import platform
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"Run All Cells in JupyterLab at SEED = {seeds.BROWSER_SEED}, default environment, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}"
          + (f", load average now {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" if load else ""))
    print(f"{'notebook':28s} {'seconds':>8s}")
    for p in NOTEBOOK_PATHS:
        t = RUN_ALL_SECONDS.get(p.stem)
        print(f"{p.stem:28s} {'not run' if t is None else f'{t:8.1f}':>8s}")
    total = sum(RUN_ALL_SECONDS.values())
    print(f"{'series':28s} {total:8.1f}   (budgets: {RUN_ALL_BUDGET_S} s each, {SERIES_BUDGET_S} s in all)")
    if len(RUN_ALL_SECONDS) < len(NOTEBOOK_PATHS):
        print(f"{len(NOTEBOOK_PATHS) - len(RUN_ALL_SECONDS)} notebook(s) not run in this session "
              "(deselected, or failed before the end of Run All): the series is not timed")
        return
    assert total <= SERIES_BUDGET_S, (
        f"the series took {total:.1f} s of Run All, above the budget of {SERIES_BUDGET_S} s")
