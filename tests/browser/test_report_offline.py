"""A saved report opened from disk in a real Chromium, with every network request recorded: the
plan graph and the charts render, and no request leaves the file (no CDN, no fonts, no MathJax)."""

from __future__ import annotations


import pytest

import streamscope as ss

from lab_page import launch_chromium, require_chromium

JS_CANVASES = """() => {
  let n = 0;
  const walk = (root) => root.querySelectorAll('*').forEach(el => {
    if (el.tagName === 'CANVAS') n++;
    if (el.shadowRoot) walk(el.shadowRoot);
  });
  walk(document);
  return n;
}"""

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_a_saved_report_renders_offline_in_chromium(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    require_chromium()
    saved = ss.DataContext.get_current()
    ctx = saved.copy()
    ctx.enable_progress_bars = False
    ctx.small_plan_inline_rows = 0
    ss.DataContext._set_current(ctx)
    try:
        ds = ss.range(100_000, override_num_blocks=10).map_batches(lambda b: {"id": b["id"] + 1})
        assert sum(len(b["id"]) for b in ds.iter_batches(batch_size=None)) == 100_000
        path = ss.save_report(ds, str(tmp_path / "run.html"))
    finally:
        ss.DataContext._set_current(saved)

    with playwright.sync_playwright() as pw:
        browser = launch_chromium(pw, tmp_path / "profile", tmp_path / "home", width=1000, height=900)
        try:
            page = browser.new_page()
            requests, errors = [], []
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto("file://" + path)
            page.wait_for_function(f"({JS_CANVASES})() >= 4", timeout=60_000)  # four charts drawn
            assert page.locator(".streamscope-plan svg, .streamscope-plan ul").count() >= 1
            assert page.locator("table.streamscope-stats th").count() >= 10
            assert errors == []
            assert [u for u in requests if not u.startswith("file://")] == []
        finally:
            browser.close()
