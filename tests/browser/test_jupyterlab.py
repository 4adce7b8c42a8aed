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

from lab_server import LabServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOK = os.path.join(ROOT, "notebooks", "01_quickstart.ipynb")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-breakpad",
    "--disable-crash-reporter", "--no-first-run", "--disable-component-update", "--disable-sync",
]
EXPECTED_NODES = ("ReadParquet", "Filter", "MapBatches(add_fare)", "Project")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

# JS helpers run in the page. The notebook panel and its model come from the exposed app.
JS_PANEL = "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; return w && w.content && w.content.model ? true : false; }"
JS_RUN_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = Array.from(panel.content.model.cells);
  const code = cells.filter(c => c.type === 'code');
  return {status: kernel ? kernel.status : 'none',
          done: code.filter(c => c.executionCount !== null).length, total: code.length};
}"""
JS_ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const out = [];
  Array.from(panel.content.model.cells).forEach((c, i) => {
    if (c.type !== 'code') return;
    for (let k = 0; k < c.outputs.length; k++) {
      const o = c.outputs.get(k).toJSON();
      if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  });
  return out;
}"""
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
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / "01_quickstart.ipynb")
    shm_before = _shm_dirs()
    with LabServer(str(work), str(tmp_path / "home")) as lab, sync_api.sync_playwright() as pw:
        browser_env = dict(os.environ, HOME=lab.home, XDG_CONFIG_HOME=os.path.join(lab.home, ".config"),
                           XDG_CACHE_HOME=os.path.join(lab.home, ".cache"))
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            env=browser_env, viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(lab.url("lab/tree/01_quickstart.ipynb"), wait_until="domcontentloaded")
            page.wait_for_function(JS_PANEL, timeout=60_000)
            page.wait_for_function(f"() => ({JS_RUN_STATE})().status === 'idle'", timeout=60_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(
                f"() => {{ const s = ({JS_RUN_STATE})(); return s.status === 'idle' && s.done === s.total; }}",
                timeout=120_000, polling=500)

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

            # the live view of the `fares` run: its label reaches exactly "done 100%"
            live = page.locator(".jp-OutputArea-output", has_text="fares").filter(has_text="done 100%").first
            live.wait_for(timeout=30_000)
            bar = live.locator(".widget-hprogress .progress-bar").first
            assert "progress-bar-success" in (bar.get_attribute("class") or "")
            assert "width: 100%" in (bar.get_attribute("style") or "")
            details = live.locator("button", has_text="details")
            if details.count():
                details.first.click()
                page.wait_for_timeout(800)
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
            assert page.locator(".widget-html", has_text=re.compile(r"cancelled( at \d+%)?")).count() >= 1
        finally:
            context.close()
    leaked = [d for d in _shm_dirs() - shm_before if is_leftover(os.path.join("/dev/shm", d))]
    assert not leaked, f"the notebook's kernel left {leaked} in /dev/shm"


def _shm_dirs() -> set:
    return {d for d in os.listdir("/dev/shm") if d.startswith("streamscope-")} if os.path.isdir("/dev/shm") else set()

