"""The quickstart notebook in a real JupyterLab, driven by Debian's Chromium through Playwright.

Asserted from the page: the lazy dataset's plan graph has its operator nodes, a live run's
progress reaches 100%, a foreground query answers while a background run is going and the
background run's count is exact, the Bokeh dashboard draws canvases, the cancelled background run
shows as cancelled, and no cell produced an error (read from the notebook model). Screenshots of the plan
graph, the live run and the dashboard go to ``docs/images/`` when STREAMSCOPE_SCREENSHOTS=1 (how the
committed ones were made), otherwise to the test's temp dir. JupyterLab, its kernels and Chromium
are stopped even when the test fails.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import urllib.parse

import pytest

from streamscope.engine.runtime.local.session_dir import is_leftover

from lab_page import launch_chromium, require_chromium, JS_ERRORS, open_notebook, run_all_cells
from lab_server import LabServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOK = os.path.join(ROOT, "notebooks", "01_quickstart.ipynb")
EXPECTED_NODES = ("ReadParquet", "Filter", "MapBatches(add_fare)", "Project")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

JS_BOKEH_CANVASES = """() => {
  let n = 0;
  const visit = (root) => {
    root.querySelectorAll('*').forEach(el => {
      if (el.shadowRoot) {
        el.shadowRoot.querySelectorAll('canvas').forEach(c => { if (c.width > 0 && c.height > 0) n++; });
        visit(el.shadowRoot);
      }
    });
  };
  document.querySelectorAll('[class*="bk-"], bk-root, .bk-Column, .bk-Figure').forEach(el => visit(el.parentElement || el));
  return n;
}"""
JS_PLAN_LABELS = """() => {
  const labels = [];
  const html = document.querySelector('.streamscope-dataset');
  if (!html) return null;
  html.querySelectorAll('svg text').forEach(t => labels.push(t.textContent));
  html.querySelectorAll('img').forEach(img => labels.push('IMG:' + img.getAttribute('src')));
  return labels;
}"""


def _svg_labels(raw: list[str]) -> list[str]:
    """Node labels from inline <svg> text, or from an <img> whose src is the SVG."""
    labels = []
    for item in raw:
        if not item.startswith("IMG:"):
            labels.append(item)
            continue
        src = item[4:]
        if ";base64," in src:
            svg = base64.b64decode(src.split(",", 1)[1]).decode("utf-8", "replace")
        else:
            svg = urllib.parse.unquote(src.split(",", 1)[1])
        labels += re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return labels


@pytest.fixture
def screenshot_dir(tmp_path):
    if os.environ.get("STREAMSCOPE_SCREENSHOTS") == "1":
        out = os.path.join(ROOT, "docs", "images")
        os.makedirs(out, exist_ok=True)
        return out
    return str(tmp_path)


def test_quickstart_in_jupyterlab(tmp_path, screenshot_dir):
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    require_chromium()
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / "01_quickstart.ipynb")
    shm_before = _shm_dirs()
    with LabServer(str(work), str(tmp_path / "home")) as lab, sync_api.sync_playwright() as pw:
        context = launch_chromium(pw, tmp_path / "chromium-profile", lab.home)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            open_notebook(page, lab.url("lab/tree/01_quickstart.ipynb"))
            run_all_cells(page, timeout_ms=120_000)

            errors = page.evaluate(JS_ERRORS)
            assert errors == [], errors

            labels = page.evaluate(JS_PLAN_LABELS)
            assert labels, "the lazy dataset shows no plan graph"
            found = _svg_labels(labels)
            for node in EXPECTED_NODES:
                assert any(node in label for label in found), (node, found)
            plan = page.locator(".streamscope-dataset").first
            assert "not executed" in plan.inner_text()
            plan.screenshot(path=os.path.join(screenshot_dir, "plan_graph.png"))

            # the live view of the `fares` run ends as its static HTML: exactly "done 100%", the
            # bar full, and under "plan graph and stats" the final plan with every node done
            live = page.locator(".jp-OutputArea-output .streamscope-live", has_text="fares").filter(has_text="done 100%").first
            live.wait_for(timeout=30_000)
            assert live.locator('.streamscope-progress[data-state="succeeded"]').count() == 1
            assert 'width:100.0%' in (live.locator(".streamscope-bar").first.get_attribute("style") or "").replace(" ", "")
            live.locator("details.streamscope-live-details summary").first.click()
            assert live.locator("details.streamscope-live-details svg").first.is_visible()
            live.screenshot(path=os.path.join(screenshot_dir, "live_run.png"))

            page.wait_for_function(f"() => ({JS_BOKEH_CANVASES})() >= 4", timeout=30_000)
            dashboard = page.locator(".jp-OutputArea-output", has=page.locator(".bk-Column, [class*='bk-']")).last
            dashboard.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            dashboard.screenshot(path=os.path.join(screenshot_dir, "dashboard.png"))

            # keep working next to a background run: the foreground group-by answered while the
            # background count was going, and the background count is exact
            foreground = page.locator(".jp-OutputArea-output", has_text="foreground: 4 zones while the background run was")
            assert foreground.count() == 1
            assert page.locator(".jp-OutputArea-output", has_text="background: counted 160000 trips").count() == 1
            report_view = page.locator(".jp-OutputArea-output", has_text="report").filter(has_text="done 100%")
            assert report_view.count() >= 1  # the background run's own live view reached the end

            cancelled = page.locator(".jp-OutputArea-output").filter(has_text=re.compile(r"cancelled at|cancelled"))
            assert cancelled.count() >= 1
            assert page.locator(".jp-OutputArea-output", has_text="'cancelled'").count() >= 1
            assert page.locator('.streamscope-progress[data-state="cancelled"]', has_text=re.compile(r"cancelled( at \d+%)?")).count() >= 1
        finally:
            context.close()
    leaked = [d for d in _shm_dirs() - shm_before if is_leftover(os.path.join("/dev/shm", d))]
    assert not leaked, f"the notebook's kernel left {leaked} in /dev/shm"


def _shm_dirs() -> set:
    return {d for d in os.listdir("/dev/shm") if d.startswith("streamscope-")} if os.path.isdir("/dev/shm") else set()

