"""The course in a real JupyterLab, driven by a real (headless) Chromium.

What a lab session does: start JupyterLab, open a notebook, Run ▸ Run All Cells, look
at the GIFs, type a caption into the text-to-video widget and click. This test does
the same and asserts that no cell fails, that the GIFs are shown, and that the widget
renders (its front end is installed) and answers a click with a new video.

- JupyterLab runs on 127.0.0.1, a free port, with a token, in a temporary folder
  holding copies of the student notebooks, with temporary Jupyter config, data and
  runtime folders: nothing of the user's settings, kernels or workspaces leaks in.
  Its kernel is this Python, in the smoke setting (``T2V_SMOKE=1``, CPU, one thread).
- The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``T2V_CHROMIUM``)
  driven by the ``playwright`` Python package; ``playwright install`` is never needed.
  ``.ci/install_browser.sh`` installs both.
- Without chromium or playwright the tests skip, saying why, except under CI
  (``CI=true``) where they fail: CI must not pass by skipping its browser test.
- Screenshots and the JupyterLab log go to ``test-output/browser/``.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from t2v_edu import course

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output" / "browser"
WELCOME = ROOT / "notebooks" / "00_welcome.ipynb"
TEXT_TO_VIDEO = ROOT / "notebooks" / "06_text_to_video.ipynb"
RUN_ALL_TIMEOUT = 900  # seconds for one notebook in the smoke setting, on a busy CPU
CLICK_TIMEOUT = 120  # seconds for the widget to show a new video after a click

pytestmark = [pytest.mark.xdist_group("browser")]  # one JupyterLab, one worker


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_or_fail(reason: str):
    """Skip with ``reason`` on a learner's machine; fail under CI (``CI=true``)."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping; "
                    "run .ci/install_browser.sh)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """``T2V_CHROMIUM`` when set, else Debian's /usr/bin/chromium or chromium on PATH."""
    chosen = os.environ.get("T2V_CHROMIUM")
    candidates = [chosen] if chosen else ["/usr/bin/chromium", shutil.which("chromium"),
                                          shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


WIDGET_DEMO = "widget_demo.ipynb"


def widget_demo_notebook():
    """A caption -> video widget built like notebook 06's demo, from the package's
    renderer: it tests that widgets render and answer clicks in this JupyterLab, and
    tests the demo-finding logic below, before and apart from notebook 06."""
    from nbformat.v4 import new_code_cell, new_notebook

    code = """import ipywidgets as widgets
from IPython.display import display
import t2v_edu
from t2v_edu import data, viz
cfg = t2v_edu.setup()
caption = widgets.Text(value="a red circle moves left", description="Caption",
                       placeholder="type a caption")
button = widgets.Button(description="Generate")
shown = widgets.Output()

def show(_=None):
    shown.clear_output(wait=True)
    with shown:
        viz.show_videos(data.render(data.parse_caption(caption.value), seed=0), caption.value)

button.on_click(show)
show()
display(widgets.VBox([widgets.HBox([caption, button]), shown]))"""
    nb = new_notebook(cells=[new_code_cell(code)])
    nb.metadata.update(course.NOTEBOOK_METADATA)
    return nb


# ---------------------------------------------------------------------------------
# JupyterLab in a sandbox folder
# ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_environment(home: Path) -> dict[str, str]:
    """The server's environment (its kernels inherit it): the notebooks' smoke
    settings, and Jupyter/IPython/matplotlib folders inside ``home``."""
    env = course.notebook_env(smoke=True)
    for key in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "JUPYTER_PLATFORM_DIRS"):
        env.pop(key, None)
    folders = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data",
               "JUPYTER_RUNTIME_DIR": "runtime", "IPYTHONDIR": "ipython",
               "JUPYTERLAB_SETTINGS_DIR": "config/lab/user-settings",
               "JUPYTERLAB_WORKSPACES_DIR": "workspaces", "MPLCONFIGDIR": "matplotlib"}
    for key, name in folders.items():
        (home / name).mkdir(parents=True, exist_ok=True)
        env[key] = str(home / name)
    return env


def write_lab_settings(env: dict[str, str]) -> None:
    """This Python as the "python3" kernel, and no news or update checks (offline)."""
    import ipykernel.kernelspec

    kernel = Path(env["JUPYTER_DATA_DIR"]) / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps(ipykernel.kernelspec.get_kernel_dict()))
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab"
    notification = settings / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))


def wait_for_server(url: str, token: str, process: subprocess.Popen, log: Path,
                    timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n"
                               + log.read_text()[-3000:])
        try:
            request = urllib.request.Request(f"{url}/api/status",
                                             headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n"
                       + log.read_text()[-3000:])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback: yields (base url, token, notebook folder)."""
    pytest.importorskip("jupyterlab")
    home = tmp_path_factory.mktemp("lab")
    folder = home / "course"
    folder.mkdir()
    for path in (WELCOME, TEXT_TO_VIDEO):
        shutil.copy(path, folder / path.name)  # both are part of the course
    nbformat.write(widget_demo_notebook(), folder / WIDGET_DEMO)
    env = lab_environment(home)
    write_lab_settings(env)
    port, token = free_port(), secrets.token_hex(16)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = OUTPUT / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
               "--ServerApp.allow_root=True"]
    with open(log, "w") as log_file:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url, token, process, log)
        yield url, token, folder
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from the system, driven by Playwright."""
    executable = chromium_path()
    if executable is None:
        skip_or_fail("no Chromium found at /usr/bin/chromium, on PATH or at T2V_CHROMIUM="
                     f"{os.environ.get('T2V_CHROMIUM', '')!r} (Debian/Ubuntu: apt-get "
                     "install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (pip install playwright; "
                     "no `playwright install` needed: the system Chromium is used)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


BROWSER_ERRORS: list[str] = []  # console errors and uncaught exceptions of this test


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    BROWSER_ERRORS.clear()
    page.on("console", lambda m: m.type in ("error", "warning")
            and BROWSER_ERRORS.append(f"console.{m.type}: {m.text}"))
    page.on("pageerror", lambda e: BROWSER_ERRORS.append(f"uncaught exception: {e}"))
    try:
        yield page
    finally:
        with (OUTPUT / "console.log").open("a") as log:
            log.writelines(line + "\n" for line in BROWSER_ERRORS)
        context.close()


def widget_errors() -> list[str]:
    """Uncaught exceptions, and console errors of the widget manager."""
    return [m for m in BROWSER_ERRORS if m.startswith("uncaught") or
            (m.startswith("console.error") and re.search(r"widget|model|view", m, re.I))]


# ---------------------------------------------------------------------------------
# What a learner does, step by step
# ---------------------------------------------------------------------------------
def open_notebook(page, lab, name: str) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel is idle."""
    url, token, _ = lab
    page.goto(f"{url}/lab/tree/{name}?token={token}&reset", wait_until="domcontentloaded")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    wait_for_kernel_idle(page, timeout=120)


def kernel_status(page) -> str:
    """The kernel status the status bar shows ("Idle", "Busy", "Initializing"...);
    "" while the notebook has no kernel yet."""
    text = page.evaluate("""() => {
        const bar = document.querySelector('#jp-main-statusbar');
        return bar ? bar.innerText : '';
    }""") or ""
    match = re.search(r"\|\s*(\w[\w ]*)", text) if "No Kernel" not in text else None
    return match.group(1).strip() if match else ""


def accept_kernel_dialog(page) -> None:
    """Click "Select" if JupyterLab asks which kernel to use (as a learner would)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count():
        dialog.locator("button.jp-mod-accept").click()


def wait_for_kernel_idle(page, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while kernel_status(page) != "Idle":
        if time.monotonic() > deadline:
            raise AssertionError(f"the kernel did not start (status {kernel_status(page)!r}); "
                                 "see test-output/browser/jupyterlab.log")
        accept_kernel_dialog(page)
        page.wait_for_timeout(500)


PROMPTS_JS = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt'))
    .map(p => p.textContent.trim())"""


def run_all_cells(page, timeout: float = RUN_ALL_TIMEOUT) -> float:
    """Run ▸ Run All Cells, through the menu as a learner would; wait until every cell
    ran or one failed. Returns the seconds it took."""
    start = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    deadline = start + timeout
    while True:
        prompts = page.evaluate(PROMPTS_JS)
        busy = any("*" in p for p in prompts)
        all_ran = prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
        if not busy and (all_ran or error_texts(page)) and kernel_status(page) == "Idle":
            return time.monotonic() - start
        if time.monotonic() > deadline:
            raise AssertionError(f"Run All Cells did not finish in {timeout} s; prompts: "
                                 f"{prompts}")
        accept_kernel_dialog(page)
        page.wait_for_timeout(1000)


def error_texts(page) -> list[str]:
    """Tracebacks shown in the notebook, and widgets that failed to render."""
    return page.evaluate("""() => {
        const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
        if (!panel) return [];
        const found = [];
        for (const out of panel.querySelectorAll('.jp-OutputArea-output')) {
            const text = out.textContent || '';
            if (/Traceback \\(most recent call last\\)/.test(text)
                || /Error displaying widget|Failed to (load|create) (view|model)/.test(text))
                found.push(text.slice(0, 2000));
        }
        return found;
    }""")


def save_and_read(page, folder: Path, name: str):
    """Save the notebook (Ctrl+S) and read what JupyterLab wrote to disk."""
    path = folder / name
    before = path.stat().st_mtime_ns
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").click(
        position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 60
    while path.stat().st_mtime_ns == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"JupyterLab did not save {name} within 60 s")
        page.wait_for_timeout(250)
    page.wait_for_timeout(500)  # let the write finish
    return nbformat.read(path, as_version=4)


def saved_errors(nb) -> list[str]:
    return [f"cell {k + 1}: {o.get('ename')}: {o.get('evalue')}"
            for k, cell in enumerate(nb.cells) for o in cell.get("outputs", [])
            if o.get("output_type") == "error"]


GIFS_JS = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img[src^="data:image/gif"]'))
    .map(img => img.complete ? img.naturalWidth : 0)"""


def assert_runs_clean(page, lab, name: str) -> None:
    """Run all cells of ``name``; no error shown, none saved, a GIF decoded."""
    _, _, folder = lab
    seconds = run_all_cells(page)
    shown = error_texts(page)
    nb = save_and_read(page, folder, name)
    assert not shown and not saved_errors(nb), (
        f"{name} failed in JupyterLab:\n" + "\n".join(saved_errors(nb) + shown))
    unexecuted = [k + 1 for k, c in enumerate(nb.cells)
                  if c.cell_type == "code" and c.get("execution_count") is None]
    assert not unexecuted, f"{name}: cells {unexecuted} did not run"
    assert not widget_errors(), f"{name}: errors in the browser:\n" + "\n".join(widget_errors())
    widths = page.evaluate(GIFS_JS)
    assert widths and all(w > 0 for w in widths), (
        f"{name}: no GIF shown (decoded image widths {widths})")
    print(f"{name}: Run All Cells took {seconds:.0f} s in the browser")


def screenshot(page, name: str, target=None) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    for _ in range(2 if target is not None else 0):  # cells above may resize once painted
        target.evaluate("el => el.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(1000)
    page.screenshot(path=str(path))
    return path


# ---------------------------------------------------------------------------------
# The caption -> video widget of notebook 06
# ---------------------------------------------------------------------------------
FIND_DEMO_JS = """() => {
    // The demo is one cell's output: a text field for the caption (inside a widget),
    // a button, and the video. Prefer fields whose placeholder, description or value
    // mention a caption, then fields with a button beside them (else Enter submits).
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const fields = Array.from(panel.querySelectorAll(
        '.jp-OutputArea-output .jupyter-widgets input[type="text"], '
        + '.jp-OutputArea-output .jupyter-widgets textarea'));
    const about = f => {
        const box = f.closest('.jupyter-widgets');
        const label = box && box.querySelector('.widget-label');
        return [f.placeholder, f.value, label && label.textContent].join(' ').toLowerCase();
    };
    const buttonsNear = f => Array.from(f.closest('.jp-OutputArea-output')
        .querySelectorAll('button.jupyter-button'));
    const score = f => 2 * /caption|prompt/.test(about(f)) + (buttonsNear(f).length > 0);
    fields.sort((a, b) => score(b) - score(a));
    if (!fields.length) return null;
    const field = fields[0];
    const verb = /generate|make|show|draw|go|run/i;
    const buttons = buttonsNear(field).sort((a, b) => verb.test(b.textContent)
                                                    - verb.test(a.textContent));
    field.setAttribute('data-t2v-test', 'caption');
    if (buttons.length) buttons[0].setAttribute('data-t2v-test', 'button');
    field.closest('.jp-OutputArea-output').setAttribute('data-t2v-test', 'demo');
    return {value: field.value, buttons: buttons.map(b => b.textContent.trim())};
}"""

DEMO_IMAGES_JS = """() => {
    const demo = document.querySelector('[data-t2v-test="demo"]');
    return demo ? Array.from(demo.querySelectorAll('img'))
        .filter(img => img.complete && img.naturalWidth > 0).map(img => img.src) : [];
}"""


def demo_caption(current: str) -> str:
    for caption in ("a blue square moves up", "a red circle moves left"):
        if caption != current.strip():
            return caption
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------
def test_welcome_notebook_runs_in_jupyterlab(page, lab):
    open_notebook(page, lab, WELCOME.name)
    assert_runs_clean(page, lab, WELCOME.name)
    gif = page.locator('.jp-OutputArea-output img[src^="data:image/gif"]').first
    screenshot(page, "00_welcome", target=gif)


def click_demo_and_wait(page, name: str) -> None:
    """Find the caption widget, type a new caption, click; a new video must appear."""
    demo = page.evaluate(FIND_DEMO_JS)
    assert demo is not None, (
        f"{name}: no caption widget rendered (no text field inside a widget): is the "
        "ipywidgets front end (jupyterlab_widgets) installed where JupyterLab runs?")
    field = page.locator('[data-t2v-test="caption"]')
    before = page.evaluate(DEMO_IMAGES_JS)
    screenshot(page, f"{Path(name).stem}_widget_before", target=field)
    field.fill(demo_caption(demo["value"]))
    if demo["buttons"]:
        page.locator('[data-t2v-test="button"]').click()
    else:  # a text field that submits on Enter
        field.press("Enter")
    deadline = time.monotonic() + CLICK_TIMEOUT
    while (after := page.evaluate(DEMO_IMAGES_JS)) == before or not after:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: the widget showed no new video within "
                                 f"{CLICK_TIMEOUT} s of the click (images before: "
                                 f"{len(before)}, after: {len(after)})")
        page.wait_for_timeout(500)
    assert not error_texts(page) and not widget_errors(), "\n".join(
        error_texts(page) + widget_errors())
    screenshot(page, f"{Path(name).stem}_widget_after", target=field)


def test_widgets_render_and_answer_a_click(page, lab):
    open_notebook(page, lab, WIDGET_DEMO)
    assert_runs_clean(page, lab, WIDGET_DEMO)
    click_demo_and_wait(page, WIDGET_DEMO)


def test_text_to_video_notebook_and_its_widget(page, lab):
    # notebook 06 is part of the course: a missing or renamed copy fails, never skips
    assert TEXT_TO_VIDEO.exists(), f"notebooks/{TEXT_TO_VIDEO.name} is missing"
    open_notebook(page, lab, TEXT_TO_VIDEO.name)
    assert_runs_clean(page, lab, TEXT_TO_VIDEO.name)
    click_demo_and_wait(page, TEXT_TO_VIDEO.name)
