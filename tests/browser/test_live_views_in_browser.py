"""A live run watched in a real JupyterLab (Debian's Chromium through Playwright), held at known
points by gate files its UDF waits for, so every sample is taken at a moment the test chose:

- the live plan graph changes between two samples taken while the run goes (0 rows, then half the
  rows out) and ends with every node done;
- the dashboard's task timeline fills while the run goes (the first half's four tasks, then held);
- every plot of the session dashboard keeps at least 60% of its figure's width for drawing, at a
  1400 px and at a 700 px window;
- the final stats table's headers are whole at both widths.
"""

from __future__ import annotations

import re

import pytest

from lab_page import launch_chromium, require_chromium, JS_ERRORS, open_notebook, run_all_cells
from lab_server import LabServer

from streamscope.widgets._util import STATE_COLORS

nbformat = pytest.importorskip("nbformat")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SETUP = """%load_ext streamscope
import os, time, streamscope as ss
ctx = ss.DataContext.get_current()
ctx.num_workers = 2
ctx.small_plan_inline_rows = 0
GATES = {gates!r}

def gated(batch):
    # the first half of the rows waits for the gate "first", the second half for "second"
    gate = "second" if int(batch["id"][0]) >= 2000 else "first"
    while not os.path.exists(os.path.join(GATES, gate)):
        time.sleep(0.02)
    return batch

gated_run = ss.range(4000, override_num_blocks=8).map_batches(gated, batch_size=None)
gated_run.set_name("gated")"""
CELLS = (SETUP, "%dataset dashboard", "h = %dataset run gated_run --background\nh.run_id")

# (title, drawing-area width, figure width) of every Bokeh figure on the page that is drawn
JS_PLOT_WIDTHS = """() => {
  const out = [];
  const index = window.Bokeh ? window.Bokeh.index : null;
  if (!index) return out;
  const roots = index instanceof Map ? Array.from(index.values()) : Object.values(index);
  const walk = (view) => {
    if (view.frame && view.frame.bbox && view.bbox && view.bbox.width > 0)
      out.push([view.model.title ? view.model.title.text : '', view.frame.bbox.width, view.bbox.width]);
    for (const child of (view.child_views || [])) walk(child);
  };
  roots.forEach(walk);
  return out;
}"""
# tasks drawn on the dashboard's timeline (the length of its bars' data source on the page)
JS_TIMELINE_BARS = """() => {
  const index = window.Bokeh ? window.Bokeh.index : null;
  if (!index) return -1;
  let n = -1;
  const walk = (view) => {
    if (view.model && view.model.title && view.model.title.text === 'task timeline per worker')
      n = view.model.renderers.map(r => r.data_source ? r.data_source.get_length() || 0 : 0).reduce((a, b) => a + b, 0);
    for (const child of (view.child_views || [])) walk(child);
  };
  (index instanceof Map ? Array.from(index.values()) : Object.values(index)).forEach(walk);
  return n;
}"""
JS_HEADERS_CUT = """() => Array.from(document.querySelectorAll('table.streamscope-stats th'))
  .filter(th => th.offsetParent !== null && th.scrollWidth > th.clientWidth + 1).map(th => th.textContent)"""


def _plan_svg(live) -> str:
    svg = live.locator(".streamscope-plan svg")
    return svg.first.evaluate("el => el.outerHTML") if svg.count() else ""


def _node_fills(svg_locator) -> list:
    return svg_locator.locator("g.node").evaluate_all(
        "gs => gs.map(g => Array.from(g.querySelectorAll('polygon, path, ellipse'))"
        ".map(e => e.getAttribute('fill')).filter(f => f && f !== 'none')[0])")


def _assert_plots_keep_their_width(page, width):
    page.set_viewport_size({"width": width, "height": 1000})
    # Bokeh lays out again after a resize: wait until every figure fits the notebook's width
    page.wait_for_function(f"() => {{ const w = ({JS_PLOT_WIDTHS})(); return w.length >= 4 && "
                           f"w.every(([t, f, fig]) => fig <= {width}); }}", timeout=20_000)
    widths = page.evaluate(JS_PLOT_WIDTHS)
    narrow = [(title, round(frame / fig, 2)) for title, frame, fig in widths if frame < 0.6 * fig]
    assert not narrow, f"at {width} px these plots draw in under 60% of their figure: {narrow} (all: {widths})"


def test_a_live_run_in_jupyterlab(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    require_chromium()
    gates = tmp_path / "gates"
    gates.mkdir()
    work = tmp_path / "lab"
    work.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELLS[0].format(gates=str(gates)))] + [
        nbformat.v4.new_code_cell(c) for c in CELLS[1:]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(work / "live.ipynb"))
    with LabServer(str(work), str(tmp_path / "home")) as lab, sync_api.sync_playwright() as pw:
        context = launch_chromium(pw, tmp_path / "chromium-profile", lab.home)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            open_notebook(page, lab.url("lab/tree/live.ipynb"))
            run_all_cells(page, timeout_ms=120_000)  # the run goes on in the background, held at "first"

            live = page.locator(".jp-OutputArea-output", has=page.locator(".widget-hprogress")).filter(has_text="gated").last
            live.locator("button", has_text="details").first.click()
            live.locator(".streamscope-plan svg").first.wait_for(timeout=30_000)
            before = _plan_svg(live)
            assert STATE_COLORS["running"] in before and "2k rows" not in before

            (gates / "first").touch()  # half the rows go through; the rest wait for "second"
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.streamscope-plan svg')).some(s => s.textContent.includes('2k rows'))",
                timeout=60_000)
            during = _plan_svg(live)
            assert during != before and "2k rows" in during
            assert "done" not in live.locator(".widget-hprogress").first.evaluate(
                "el => el.parentElement.innerText")  # still running: the second half is held

            # the timeline fills while the run goes: the four tasks of the first half are drawn
            page.wait_for_function(f"() => ({JS_TIMELINE_BARS})() >= 4", timeout=30_000)
            assert page.evaluate(JS_TIMELINE_BARS) == 4
            _assert_plots_keep_their_width(page, 1400)

            (gates / "second").touch()
            final = page.locator(".jp-OutputArea-output .streamscope-live", has_text="gated").filter(has_text="done 100%")
            try:
                final.first.wait_for(timeout=120_000)
            except sync_api.TimeoutError:
                raise AssertionError(f"the run did not end as done 100%: the view shows {live.inner_text()!r}; "
                                     f"cell errors {page.evaluate(JS_ERRORS)}") from None
            details = final.first.locator("details.streamscope-live-details")
            assert details.get_attribute("open") is not None  # open, as the live details were
            svg = details.locator("svg").first
            assert svg.is_visible()
            fills = _node_fills(svg)
            assert fills and set(fills) == {STATE_COLORS["done"]}, fills
            assert re.search(r"4k rows", svg.evaluate("el => el.textContent"))
            assert page.evaluate(JS_HEADERS_CUT) == []

            _assert_plots_keep_their_width(page, 700)
            assert page.evaluate(JS_HEADERS_CUT) == []
            assert page.evaluate(JS_ERRORS) == []
        finally:
            (gates / "first").touch()
            (gates / "second").touch()  # never leave the kernel's run waiting
            context.close()
