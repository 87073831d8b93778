"""The course in a real browser: JupyterLab, headless Chromium, Playwright.

Each test opens a notebook, waits until its kernel is really ready, runs all
cells from the Run menu, asserts that no cell shows an error, moves a widget
and checks the displayed numbers follow, and saves a screenshot under
artifacts/e2e/. Select with ``pytest -m e2e``; leave out with ``-m "not e2e"``.
"""

import json
import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

WIDGET_TEXT = ".widget-html-content"
SLIDER_HANDLE = ".widget-slider .noUi-handle"


class LabNotebook:
    """One notebook open in JupyterLab, driven like a student would."""

    def __init__(self, page, server, path):
        self.page, self.server, self.path = page, server, path

    def open(self):
        # A workspace of its own, so no tab of an earlier test is restored.
        workspace = re.sub(r"\W", "-", self.path)
        self.page.goto(f"{self.server.url}/lab/workspaces/{workspace}/tree/{self.path}"
                       f"?token={self.server.token}")
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        self.kernel_id = self.server.wait_kernel_ready(self.path)
        self._dismiss_notifications()

    def _dismiss_notifications(self):
        for button in self.page.locator(".jp-toast-button, .Toastify__close-button").all():
            if button.is_visible():
                button.click()

    def run_all(self, timeout=90):
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        deadline = time.monotonic() + timeout
        time.sleep(0.5)
        while time.monotonic() < deadline:
            prompts = self.page.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()
            busy = any("*" in p for p in prompts)
            unrun = any(p.strip() in ("[ ]:", "") for p in prompts)
            if not busy and not unrun and self.server.kernel_state(self.kernel_id) == "idle":
                return prompts
            time.sleep(0.5)
        raise TimeoutError(f"{self.path} did not finish running within {timeout} s")

    def error_outputs(self):
        errors = self.page.locator('.jp-OutputArea-output[data-mime-type='
                                   '"application/vnd.jupyter.stderr"]').all_text_contents()
        return [e for e in errors if "Error" in e or "Traceback" in e]

    def widget_text(self):
        return "\n".join(self.page.locator(WIDGET_TEXT).all_text_contents())

    def nudge_slider(self, index, presses=1, key="ArrowRight"):
        handle = self.page.locator(SLIDER_HANDLE).nth(index)
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(presses):
            handle.press(key)

    def wait_until(self, condition, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_for_text_change(self, before, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.widget_text()
            if now != before:
                time.sleep(0.3)  # let the rest of the update land
                return self.widget_text()
            time.sleep(0.2)
        raise AssertionError("the widget's numbers did not change after moving a slider")

    def screenshot(self, directory, name):
        deadline = time.monotonic() + 20  # let a widget's redraw finish first
        while self.server.kernel_state(self.kernel_id) != "idle" and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        self.page.screenshot(path=str(directory / f"{name}.png"), full_page=False)


@pytest.fixture
def notebook(browser, lab_server, screenshot_dir, request):
    page = browser.new_page()
    opened = []

    def open_notebook(path):
        nb = LabNotebook(page, lab_server, path)
        nb.open()
        opened.append(nb)
        return nb

    yield open_notebook
    if opened:
        opened[-1].screenshot(screenshot_dir, request.node.name.replace("/", "_"))
    page.close()


def _numbers(text):
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text)]


def _widget_image(nb):
    """The src of the first explorer's plot (a new blob URL for every redraw)."""
    return nb.page.locator(".widget-image").first.get_attribute("src")


def _neuron_follows_its_sliders(nb):
    nb.page.wait_for_selector(SLIDER_HANDLE, timeout=30_000)
    before, plot_before = nb.widget_text(), _widget_image(nb)
    assert "6.000" in before  # the chapter's neuron: output 6.0
    nb.nudge_slider(0)  # x0 from 1.0 to 1.1: s = 6 + 0.1 * w0 = 6 - 0.3
    after = nb.wait_for_text_change(before)
    assert "5.700" in after and "6.000" not in after
    nb.wait_until(lambda: _widget_image(nb) != plot_before, "the neuron's plot to redraw")


def _numbers_follow_the_first_slider(nb):
    nb.page.wait_for_selector(SLIDER_HANDLE, timeout=30_000)
    before, plot_before = nb.widget_text(), _widget_image(nb)
    nb.nudge_slider(0, presses=3)
    after = nb.wait_for_text_change(before)
    assert _numbers(after) != _numbers(before)
    nb.wait_until(lambda: _widget_image(nb) != plot_before, "the plot to redraw")


def _progress_bar_fills(nb):
    bar = nb.page.locator(".widget-hprogress .progress-bar").first
    bar.scroll_into_view_if_needed()
    nb.wait_until(lambda: bar.evaluate("el => el.style.width") == "100%",
                  "the training progress bar to fill")


def _play_replays_training(nb):
    nb.page.wait_for_selector(SLIDER_HANDLE, timeout=30_000)
    epoch = re.compile(r"epoch (\d+)")
    first = int(epoch.search(nb.widget_text()).group(1))
    nb.page.locator(".widget-play button").first.click()  # the play button
    nb.wait_until(lambda: int(epoch.search(nb.widget_text()).group(1)) > first,
                  "the replay to move past the first snapshot")


# What to do with each lesson's widgets once it has run.
WIDGET_CHECKS = {
    "01_three_ways_to_a_gradient": _numbers_follow_the_first_slider,
    "03_single_neuron": _neuron_follows_its_sliders,
    "07_softmax_cross_entropy": _numbers_follow_the_first_slider,
    "09_multiclass_network": _play_replays_training,
    "12_handwritten_digits": _progress_bar_fills,
}
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("lesson", sorted(WIDGET_CHECKS))
def test_widget_lesson_runs_and_its_widgets_respond(notebook, lesson):
    nb = notebook(f"notebooks/{lesson}.ipynb")
    nb.run_all()
    assert nb.error_outputs() == []
    nb.page.wait_for_selector(".jupyter-widgets", timeout=30_000)
    WIDGET_CHECKS[lesson](nb)


def _shown_outputs(cell):
    """How many output areas JupyterLab shows for a stored cell: it merges
    consecutive stream outputs of the same stream into one."""
    shown, previous = 0, None
    for output in cell.get("outputs", []):
        stream = output.get("name") if output["output_type"] == "stream" else None
        if stream is None or stream != previous:
            shown += 1
        previous = stream
    return shown


@pytest.mark.parametrize("lesson", [name for name in LESSONS if name not in WIDGET_CHECKS])
def test_lesson_opens_with_its_outputs(notebook, lesson):
    """Lessons without widgets open with their stored outputs and rendered math
    (nbval re-runs them top to bottom; a widget lesson is run here above)."""
    stored = (NOTEBOOKS / f"{lesson}.ipynb").read_text()
    assert "application/vnd.jupyter.widget-view+json" not in stored, (
        f"{lesson} shows widgets: add what to do with them to WIDGET_CHECKS")
    nb = notebook(f"notebooks/{lesson}.ipynb")
    nb.page.wait_for_selector(".jp-RenderedMarkdown mjx-container, .jp-RenderedMarkdown .MathJax",
                              timeout=30_000)  # the math was typeset
    # The stored outputs are attached cell by cell, not necessarily before the
    # first formula is typeset: wait until every one of them is on the page.
    n_outputs = sum(_shown_outputs(cell) for cell in json.loads(stored)["cells"])
    assert n_outputs > 0
    outputs = nb.page.locator(".jp-OutputArea-output")
    nb.wait_until(lambda: outputs.count() >= n_outputs, f"the {n_outputs} stored outputs")
    assert nb.error_outputs() == []


def test_solution_checks_render_as_passed(notebook):
    nb = notebook("solutions/06_activations.ipynb")
    nb.run_all()
    assert nb.error_outputs() == []
    reports = nb.page.locator(".jp-OutputArea-output.jp-RenderedHTMLCommon",
                              has_text="trials passed")
    assert reports.count() >= 3
    reports.first.scroll_into_view_if_needed()
    assert all("all" in text for text in reports.all_text_contents())


def test_exercise_checks_render_as_not_attempted(notebook):
    nb = notebook("exercises/06_activations.ipynb")
    nb.run_all()
    assert nb.error_outputs() == []
    reports = nb.page.locator(".jp-OutputArea-output.jp-RenderedHTMLCommon",
                              has_text="not attempted yet")
    assert reports.count() >= 3
    reports.first.scroll_into_view_if_needed()
