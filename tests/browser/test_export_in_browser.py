"""A notebook executed and exported with ``jupyter nbconvert --execute --to html`` (a real kernel,
widget state saved as nbconvert saves it by default), then opened from disk in a real Chromium with
the network cut: the lazy dataset's plan graph, the run's final progress, its plan graph and stats
and ``ds.stats()``'s table all show, no output is an empty widget box, and the stats headers are
whole at a wide and a narrow window."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lab_page import launch_chromium, require_chromium

from streamscope.widgets._util import STATE_COLORS

nbformat = pytest.importorskip("nbformat")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

CELLS = (
    "%load_ext streamscope\n"
    "import time, streamscope as ss\n"
    "ss.DataContext.get_current().num_workers = 2\n"
    "def slow_square(batch):\n"
    "    time.sleep(0.05)\n"
    "    batch['square'] = batch['id'] ** 2\n"
    "    return batch\n"
    "squares = ss.range(4000, override_num_blocks=8).map_batches(slow_square)\n"
    "squares.set_name('squares')\n"
    "squares",
    "total = sum(squares.materialize().to_pandas()['square'])\n"
    "print('total', total)",
    "squares.stats()",
)
# stats headers whose text does not fit their cell (cut, or drawn past it)
JS_HEADERS_CUT = """() => Array.from(document.querySelectorAll('table.streamscope-stats th'))
  .filter(th => th.scrollWidth > th.clientWidth + 1).map(th => th.textContent)"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    work = tmp_path_factory.mktemp("export")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(work / "squares.ipynb"))
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--execute", "--to", "html",
                           "--ExecutePreprocessor.timeout=120", str(work / "squares.ipynb")],
                          cwd=str(work), env=env, capture_output=True, text=True, timeout=200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return str(work / "squares.html")


def test_the_export_keeps_no_widget_view_for_a_finished_run(exported):
    html = open(exported, encoding="utf-8").read()
    assert "<script type=\"application/vnd.jupyter.widget-view+json\">" not in html
    assert f"total {sum(i * i for i in range(4000))}" in html


def test_an_exported_notebook_shows_plan_progress_and_stats_offline(exported, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    require_chromium()
    with playwright.sync_playwright() as pw:
        browser = launch_chromium(pw, tmp_path / "profile", tmp_path / "home")
        try:
            page = browser.new_page()
            # the export links MathJax, require.js and the widget manager from CDNs: cut them, as
            # a reader without a network would be
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                       else route.abort())
            page.goto("file://" + exported)
            lazy = page.locator(".streamscope-dataset").first
            assert "not executed" in lazy.inner_text()
            assert lazy.locator("svg .node").count() >= 2  # ReadRange and the map, drawn by dot

            live = page.locator(".streamscope-live").first
            assert "done 100%" in live.inner_text()
            bar = live.locator(".streamscope-bar").first
            assert bar.evaluate("el => el.getBoundingClientRect().width") > 0
            assert bar.evaluate("el => el.parentElement.getBoundingClientRect().width - el.getBoundingClientRect().width") < 1
            details = live.locator("details.streamscope-live-details")
            assert not details.locator("svg").first.is_visible()  # folded, like the live details
            details.locator("summary").click()
            assert details.locator("svg").first.is_visible()
            assert details.locator("table.streamscope-stats").first.is_visible()
            node_fills = details.locator("svg g.node").evaluate_all(
                "gs => gs.map(g => Array.from(g.querySelectorAll('polygon, path, ellipse'))"
                ".map(e => e.getAttribute('fill')).filter(f => f && f !== 'none')[0])")
            assert node_fills and set(node_fills) == {STATE_COLORS["done"]}, node_fills  # every node done

            stats = page.locator(".jp-OutputArea-output table.streamscope-stats")
            assert stats.count() >= 2  # the live view's and ds.stats()'s
            assert "MapBatches(slow_square)" in stats.last.inner_text()
            for width in (1400, 700):
                page.set_viewport_size({"width": width, "height": 1000})
                assert page.evaluate(JS_HEADERS_CUT) == [], width
        finally:
            browser.close()
