import threading
import time

from streamscope.engine.execution.telemetry import SnapshotBuffer
from streamscope.widgets.throttle import SnapshotPoller
from widget_snapshots import snap, stream


def test_never_more_than_10_updates_per_second_and_stops_after_final():
    buf = SnapshotBuffer("run-1", "ds")
    seen = []
    finished = []
    poller = SnapshotPoller(buf, seen.append, max_hz=50, on_finish=finished.append).start()  # capped at 10
    snaps = stream(60, "succeeded")
    stop = threading.Event()

    def producer():  # publishes at ~200 Hz
        for s in snaps:
            buf.publish(s)
            time.sleep(0.005)
        stop.set()

    t = threading.Thread(target=producer)
    t.start()
    t.join()
    assert poller.join(3), "poller did not stop after the final snapshot"
    assert seen[-1].state == "succeeded" and finished == [seen[-1]]
    gaps = [b - a for a, b in zip(poller.call_times, poller.call_times[1:])]
    assert all(g >= 0.099 for g in gaps), gaps
    assert poller.updates <= 10 * (poller.call_times[-1] - poller.call_times[0]) + 1
    assert 2 <= poller.updates < len(snaps)
    n = poller.updates
    buf.publish(snaps[-1])
    time.sleep(0.3)
    assert poller.updates == n and not poller.running


def test_no_update_when_version_unchanged():
    buf = SnapshotBuffer("run-1", "ds")
    buf.publish(snap(1, 10))
    seen = []
    poller = SnapshotPoller(buf, seen.append)
    poller.poll_once()
    time.sleep(0.11)
    poller.poll_once()
    poller.poll_once()
    assert len(seen) == 1
    time.sleep(0.11)
    buf.publish(snap(2, 10))
    poller.poll_once()
    assert len(seen) == 2


def test_broken_callback_does_not_kill_the_poller():
    buf = SnapshotBuffer("run-1", "ds")
    for s in stream(2, "failed"):
        buf.publish(s)

    def boom(_s):
        raise RuntimeError("view bug")

    poller = SnapshotPoller(buf, boom).start()
    assert poller.join(2) and poller.finished


def test_a_broken_view_warns_once_in_one_line_and_keeps_the_traceback_at_debug(caplog):
    """Under a notebook cell a failing view says so in one line, never a traceback of its own."""
    import logging

    buf = SnapshotBuffer("run-1", "ds")
    snaps = stream(4, "succeeded")
    buf.publish(snaps[0])

    def boom(_s):
        raise RuntimeError("view bug")

    poller = SnapshotPoller(buf, boom, max_hz=1e9)
    with caplog.at_level(logging.DEBUG, logger="streamscope.widgets.throttle"):
        poller.poll_once()
        for s in snaps[1:]:
            poller._last_call = float("-inf")  # past the rate limit, without waiting
            buf.publish(s)
            poller.poll_once()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert "RuntimeError: view bug" in warnings[0].getMessage() and "\n" not in warnings[0].getMessage()
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == len(snaps) and all(r.exc_info for r in debug)
