"""Replay: a slider over a finished run's telemetry redraws the plan graph, the edge queues and
the store's memory as they were at each moment (synthetic streams, then a real run)."""

from __future__ import annotations

import re

import pytest

import streamscope as ss
from streamscope.engine.execution.telemetry import StoreStats
from streamscope.widgets.plan_live import live_edge_decorations
from streamscope.widgets.replay import STATIC_MOMENTS, NothingToReplay, ReplayView, frame_caption, store_chart_svg
from widget_snapshots import T0, op, snap


def _frames(n=6):
    """A run whose edge op1->op2 fills then drains and whose store grows then spills."""
    out = []
    for i in range(n):
        queued = (i if i <= n // 2 else n - i)
        ops = (
            op("op1", state="done" if i == n - 1 else "running", rows_out=100 * i, queued_out_blocks=queued,
               queued_out_bytes=queued * 500),
            op("op2", state="done" if i == n - 1 else ("running" if i else "pending"), rows_out=50 * i),
            op("op3", state="done" if i == n - 1 else "pending", rows_out=50 * i),
        )
        s = snap(i, n, ops=ops, state="succeeded" if i == n - 1 else "running")
        store = StoreStats(capacity_bytes=10_000, in_memory_bytes=1000 * i, spilled_now_bytes=300 * max(0, i - 3))
        out.append(s.__class__(**{**s.__dict__, "store": store}))
    return out


def test_each_frame_shows_the_plan_as_it_was_then():
    frames = _frames()
    view = ReplayView(frames, title="squares")
    assert view.index == len(frames) - 1 and view._slider.max == len(frames) - 1
    for i, s in enumerate(frames):
        view.show(i)
        html = view._frame.value
        assert f'data-frame="{i}"' in html
        assert view._caption.value == frame_caption(s, frames[-1].elapsed_s)
        label = live_edge_decorations(s)[("op1", "op2")].label
        if label:
            assert label in html
    view.show(3)
    assert "3 blocks" in view._frame.value and "1.5 KiB" in view._frame.value
    view.show(0)
    assert "blocks" not in view._caption.value and "0 rows" in view._caption.value


def test_slider_moves_the_view_and_out_of_range_is_clamped():
    view = ReplayView(_frames())
    view._slider.value = 2
    assert view.index == 2 and 'data-frame="2"' in view._frame.value
    view.show(99)
    assert view.index == 5 and view._slider.value == 5
    view.show(-4)
    assert view.index == 0


def test_caption_places_the_moment_in_the_run():
    frames = _frames()
    caption = frame_caption(frames[4], frames[-1].elapsed_s)
    assert caption.startswith("t = 4 s of 5 s · running")
    assert "store 3.9 KiB of 9.8 KiB, 300 B spilled" in caption
    assert frame_caption(frames[-1], 5.0).split(" · ")[1:3] == ["succeeded", "100%"]


def test_store_chart_marks_the_moment():
    frames = _frames()
    xs = []
    for i in range(len(frames)):
        svg = store_chart_svg(frames, i)
        xs.append(float(re.search(r'class="streamscope-replay-cursor" x1="([0-9.]+)"', svg).group(1)))
        assert svg.count("<polyline") == 2
    assert xs == sorted(xs) and xs[0] == 0.0 and xs[-1] == 360.0


def test_static_html_shows_evenly_spaced_moments_first_and_last():
    frames = _frames(10)
    view = ReplayView(frames)
    html = view.static_html()
    shown = [int(m) for m in re.findall(r'data-frame="(\d+)"', html)]
    assert shown[0] == 0 and shown[-1] == 9 and len(shown) == STATIC_MOMENTS
    assert shown == sorted(set(shown))
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["text/html"] == html
    assert re.findall(r"^\[(\d+)\]", bundle["text/plain"], re.M) == [str(i) for i in shown]


def test_without_ipywidgets_the_html_says_how_to_get_the_slider(monkeypatch):
    import streamscope.widgets.replay as replay

    monkeypatch.setattr(replay, "optional", lambda name: None)
    view = ReplayView(_frames())
    assert view.root is None
    assert "ipywidgets" in view.static_html() and "pip install streamscope[notebook]" in view.static_html()
    view.show(2)
    assert view.index == 2


def test_a_run_without_telemetry_is_refused_by_name():
    with pytest.raises(NothingToReplay, match="no telemetry to replay"):
        ReplayView([])
    with pytest.raises(NothingToReplay):
        ss.range(10).stats().replay()


def test_replay_of_a_real_run(restore_context):
    restore_context.small_plan_inline_rows = 0
    ds = ss.range(20_000, override_num_blocks=8).map_batches(lambda b: {"id": b["id"] + 1})
    assert sum(r["id"] for r in ds.take_all()) == sum(range(1, 20_001))
    stats = ds.stats()
    view = stats.replay()
    assert len(view.frames) == len([s for s in stats.history if s.plan_graph is not None]) >= 1
    last = view.frames[-1]
    assert last.state == "succeeded" and last.rows_out == 20_000
    view.show(0)
    first_caption = view._caption.value
    assert first_caption.startswith("t = ")
    view.show(len(view.frames) - 1)
    assert "succeeded · 100% · 20k rows" in view._caption.value
    assert "MapBatches" in view._frame.value
