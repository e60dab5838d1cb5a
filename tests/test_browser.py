"""Every workbook as a person opens it: JupyterLab on 127.0.0.1, headless Chromium, Run All.

For each student and solution notebook: it renders (maths included), Run All goes through to the
last cell, the only errors in a student notebook are its stubs' "not implemented yet" lines and a
solution has none, every widget renders, and a screenshot is saved (build/screenshots/ unless
SCREENSHOT_DIR says otherwise).  One widget is also answered from the keyboard.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package; .ci/run installs
chromium, and elsewhere the module is skipped with the reason.
"""
import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import lab_server
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "build" / "screenshots"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for folder in ("notebooks", "solutions")
                   for p in (ROOT / folder).glob("*.ipynb"))

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
                allow_module_level=True)

# Notebook settings for the test run: keep every cell in the DOM so outputs can be inspected.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                   "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free loopback port, with no token, over a copy of the workbooks."""
    work = tmp_path_factory.mktemp("lab")
    for folder in ("notebooks", "solutions"):
        shutil.copytree(ROOT / folder, work / folder)
    settings = work / ".lab-settings"
    for name, values in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / ".lab-workspaces"), "JUPYTER_RUNTIME_DIR": str(work / ".runtime")}
    args = ["--ServerApp.password=", f"--ServerApp.root_dir={work}", "--ServerApp.allow_root=True",
            "--LabApp.extension_manager=readonly", "--ServerApp.disable_check_xsrf=True"]
    with lab_server.running(args, cwd=work, env=env, log=work / "lab.log") as url:
        yield url, work


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield chromium
        chromium.close()


def _open(browser, url, rel):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{url}/lab/tree/{rel}?reset")  # reset: no tabs restored from an earlier page
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    select = page.locator(".jp-Dialog button", has_text="Select")
    try:  # JupyterLab may still ask which kernel to start: take the notebook's own, python3
        select.wait_for(timeout=5_000)
        select.click()
    except sync_api.TimeoutError:
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    return page


def _shut_down_kernels(url):
    with urllib.request.urlopen(f"{url}/api/sessions", timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(f"{url}/api/sessions/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def _menu(page, menu, item):
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


ALL_CODE_CELLS_RAN = """() => {
    // a collapsed input (the setup cell) shows a placeholder whose prompt stays empty: not counted
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt:not(.jp-Placeholder-prompt)')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def _run_all_and_save(page, saved: Path):
    before = saved.stat().st_mtime_ns
    _menu(page, "Run", "Run All Cells")
    page.wait_for_function(ALL_CODE_CELLS_RAN, timeout=240_000, polling=500)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # saved, complete, and no longer being written
        stamp = saved.stat().st_mtime_ns
        if stamp != before:
            try:
                nb = nbformat.read(saved, as_version=4)
            except (nbformat.reader.NotJSONError, ValueError):
                nb = None
            if nb is not None and saved.stat().st_mtime_ns == stamp:
                return nb
        time.sleep(0.3)
    pytest.fail(f"JupyterLab did not save {saved.name} within 60 s")


def _shoot(page, rel, what, locator=None):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if locator is not None and locator.count():
        locator.first.scroll_into_view_if_needed()
    name = rel.replace("/", "__").removesuffix(".ipynb")
    page.screenshot(path=str(SCREENSHOTS / f"{name}__{what}.png"))


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_run_all_in_jupyterlab(lab, browser, rel):
    url, work = lab
    page = _open(browser, url, rel)
    try:
        page.locator(".jp-Notebook .jp-Cell").first.scroll_into_view_if_needed()
        nb = _run_all_and_save(page, work / rel)

        errors = [(i, out.ename) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                  for out in cell.outputs if out.output_type == "error"]
        if rel.startswith("notebooks/"):
            assert errors, "a student notebook with stubs should show their not-implemented lines"
            for i, ename in errors:
                assert ename == "NotImplementedYet", f"cell {i}: {ename}"
                assert "raises-exception" in nb.cells[i].metadata.get("tags", []), f"cell {i} is not a stub cell"
            shown = page.locator(".jp-OutputArea-output", has_text="not implemented yet")
            assert shown.count() >= len(errors)
        else:
            assert errors == []

        text = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in text
        n_widgets = sum(1 for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
                        if WIDGET_MIME in out.get("data", {}))
        rendered = page.locator(".jp-OutputArea-output:has(> .jupyter-widgets)")
        assert rendered.count() >= n_widgets
        if any("$" in c.source for c in nb.cells if c.cell_type == "markdown"):
            assert page.locator("mjx-container, .MathJax").count() > 0, "maths did not render"
        assert page.locator(".jp-Notebook h1").count() == 1

        _shoot(page, rel, "top", page.locator(".jp-Notebook .jp-Cell"))
        _shoot(page, rel, "maths", page.locator("mjx-container"))
        _shoot(page, rel, "figure", page.locator(".jp-OutputArea-output img"))
        _shoot(page, rel, "widget", rendered)
        _shoot(page, rel, "feedback", page.locator(".jp-OutputArea-output", has_text="Passed"))
    finally:
        page.close()
        _shut_down_kernels(url)


def test_a_choice_widget_answers_the_keyboard(lab, browser):
    url, work = lab
    rel = next((r for r in NOTEBOOKS if r.startswith("solutions/")
                and WIDGET_MIME in (work / r).read_text()), None)
    if rel is None:
        pytest.skip("no notebook stores a widget output")
    page = _open(browser, url, rel)
    try:
        _run_all_and_save(page, work / rel)
        widget = page.locator(".widget-radio-box").first.locator(
            "xpath=ancestor::div[contains(@class,'jupyter-widgets')][last()]")
        radios = page.locator(".widget-radio-box").first.locator("input[type=radio]")
        radios.first.focus()
        page.keyboard.press("Space")                  # select the first option
        output = widget.locator(".widget-output")
        before = output.inner_text()
        button = widget.locator("button", has_text="Check")
        button.focus()
        page.keyboard.press("Enter")                  # press Check from the keyboard
        page.wait_for_function("([el, old]) => el.innerText !== old && /Passed|Not passed/.test(el.innerText)",
                               arg=[output.element_handle(), before], timeout=30_000)
        assert "Passed" in output.inner_text() or "Not passed" in output.inner_text()
        _shoot(page, rel, "widget-answered", widget)
    finally:
        page.close()
        _shut_down_kernels(url)


VISIBLE_SETUP_LINES = """(cell) => {
    const input = cell.querySelector('.jp-Cell-inputWrapper');
    const lines = [...input.querySelectorAll('.cm-line')].filter(l => l.getBoundingClientRect().height > 0);
    return {lines: lines.length, collapsed: !!input.querySelector('.jp-Placeholder'),
            height: Math.round(input.getBoundingClientRect().height)};
}"""


def test_a_student_sees_at_most_ten_lines_of_the_setup_cell(lab, browser):
    """What JupyterLab shows of the setup cell when a student opens a workbook: a collapsed input."""
    url, work = lab
    rel = next(r for r in NOTEBOOKS if r.startswith("notebooks/"))
    page = _open(browser, url, rel)
    try:
        setup = page.locator(".jp-Notebook .jp-CodeCell").first
        seen = setup.evaluate(VISIBLE_SETUP_LINES)
        print(f"setup cell of {rel} as opened: {seen}")
        assert seen["collapsed"] and seen["lines"] <= 10, seen
        _shoot(page, rel, "setup-cell", setup)
    finally:
        page.close()
        _shut_down_kernels(url)
