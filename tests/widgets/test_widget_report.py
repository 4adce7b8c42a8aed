"""The saved report: one standalone HTML file with the run's plan, stats and time series.

The offline guarantee (no request leaves the page in a real browser) is checked in
tests/browser/test_report_offline.py; here the file's content is checked against the run's own
numbers.
"""

from __future__ import annotations

import re

import pytest

import streamscope as ss
from streamscope.widgets.dashboard import Dashboard
from streamscope.widgets.graphviz_render import dot_available
from streamscope.widgets.report import report_html


@pytest.fixture
def finished_run(restore_context):
    restore_context.small_plan_inline_rows = 0
    ds = ss.range(50_000, override_num_blocks=10).map_batches(lambda b: {"id": b["id"] * 2})
    assert sum(r["id"] for r in ds.take_all()) == 2 * sum(range(50_000))
    return ds


def test_report_holds_plan_stats_and_series_inline(finished_run, tmp_path):
    path = ss.save_report(finished_run, str(tmp_path / "run.html"))
    page = open(path, encoding="utf-8").read()
    stats = finished_run.stats()
    assert page.startswith("<!DOCTYPE html>")
    for op in stats.operators:
        assert op.name.split("->")[-1].replace("<", "&lt;").replace(">", "&gt;") in page
    assert f"{stats.rows_out // 1000}k rows out" in page or f"{stats.rows_out} rows out" in page
    assert "<table" in page and "time breakdown" in page
    if dot_available():
        assert "<svg" in page
    # the charts: BokehJS inline (no <script src>, no stylesheet link), the series embedded
    assert "<script src=" not in page and not re.search(r'<link[^>]+href="https?:', page)
    assert "Bokeh" in page and "queued blocks per operator" in page and "object store memory" in page


def test_report_refuses_what_it_cannot_describe(restore_context, tmp_path):
    with pytest.raises(ValueError, match="has not been executed"):
        ss.save_report(ss.range(3), str(tmp_path / "r.html"))
    with pytest.raises(TypeError, match="expected a Dataset or the DatasetStats"):
        ss.save_report(42, str(tmp_path / "r.html"))
    assert not (tmp_path / "r.html").exists()


def test_stats_to_html_is_the_notebook_table(finished_run):
    html = finished_run.stats().to_html()
    assert "<table" in html and "rows out" in html and "white-space:nowrap" in html
    assert "MapBatches(&lt;lambda&gt;)" in html


def test_stats_display_in_a_notebook_as_the_table_and_in_a_terminal_as_text(finished_run):
    from IPython.core.formatters import DisplayFormatter

    stats = finished_run.stats()
    data, _ = DisplayFormatter().format(stats)
    assert data["text/html"] == stats.to_html()
    assert data["text/plain"] == str(stats) and not data["text/plain"].startswith("'")


def test_a_dashboard_opened_after_the_run_shows_its_history(finished_run):
    buffer = finished_run._last_telemetry
    history = buffer.history()
    dash = Dashboard()
    poller = dash.follow(buffer)
    assert poller.join(10)
    assert len(dash.memory.source.data["t"]) == len(history)  # every sample, not just the last
    assert list(dash.memory.source.data["t"]) == [s.elapsed_s for s in history]
    html = report_html(finished_run.stats())
    assert html.count("queued blocks per operator") == 1
