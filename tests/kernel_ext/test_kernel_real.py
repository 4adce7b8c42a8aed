"""The extension in a real Jupyter kernel (jupyter_client + ipykernel): live widget views for the
runs a cell triggers, widget explain/stats/dashboard, a background run stopped by the Cancel path
and by a kernel interrupt within a second (blocks freed, worker pool ready), a foreground run
stopped by an interrupt, unload, and a shutdown that leaves no /dev/shm session directory."""

import os
import time

import pytest

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")
pytest.importorskip("ipywidgets")

from kernel_session import KernelSession  # noqa: E402

WIDGET = "application/vnd.jupyter.widget-view+json"

SETUP = """
%load_ext streamscope
import os, time, streamscope as ss
from streamscope.kernel_ext import current
ss.DataContext.get_current().num_workers = 2
rt = ss.engine.runtime.get_runtime()
def slow(b):
    time.sleep(0.1)
    return b
ds = ss.range(2000, override_num_blocks=8).map_batches(slow)
print(os.getpid(), ss.DataContext.get_current().progress_mode, current().widgets)
"""


@pytest.fixture(scope="module")
def kernel():
    k = KernelSession()
    try:
        out = k.execute(SETUP).stdout.split()
        k.pid = int(out[0])
        assert out[1:] == ["off", "True"], out
        yield k
    finally:
        k.shutdown()
    deadline = time.time() + 5
    leftover = [d for d in os.listdir("/dev/shm") if d.startswith("streamscope-") and d.endswith(f"-{k.pid}")]
    while leftover and time.time() < deadline:
        time.sleep(0.1)
        leftover = [d for d in os.listdir("/dev/shm") if d.startswith("streamscope-") and d.endswith(f"-{k.pid}")]
    assert not leftover, f"kernel left {leftover} behind"


def _wait_state(k, expr, timeout=3.0):
    deadline = time.time() + timeout
    while True:
        state = k.value(expr)
        if state != "running" or time.time() > deadline:
            return state
        time.sleep(0.05)


def test_each_run_of_a_cell_gets_a_live_view(kernel):
    reply = kernel.execute("rows = ds.take(3)\nn = ds.filter(lambda r: r['id'] < 100).count()\nrows")
    assert reply.widget_views() >= 2  # one live view per run (the take and the count)
    finals = [d["text/html"] for d in reply.displays + kernel.drain(1.5).displays
              if "streamscope-live" in d.get("text/html", "") and "done 100%" in d["text/html"]]
    assert finals, "no live view reached 100%"
    assert kernel.value("n") == 100
    kernel.execute("%dataset live off")
    assert kernel.execute("ds.filter(lambda r: True).count()").widget_views() == 0
    kernel.execute("%dataset live on")


def test_a_cell_ends_after_its_finished_runs_drew_their_final_state(kernel):
    """What a client sees before the cell is idle is all that a saved notebook (nbclient, nbconvert,
    the documentation site) keeps: the final static HTML of each run that finished in the cell
    arrives before the cell ends, not a poll interval later."""
    for _ in range(3):  # each time, not by luck of timing
        reply = kernel.execute("ds.filter(lambda r: r['id'] < 100).count()")
        live = [d["text/html"] for d in reply.displays if "streamscope-live" in d.get("text/html", "")]
        assert live and "done 100%" in live[-1], live[-1:]


def test_explain_stats_dashboard_are_widgets(kernel):
    reply = kernel.execute("%dataset explain ds")
    assert reply.widget_views() == 1 and "Physical (fused)" in reply.html()
    reply = kernel.execute("%dataset stats ds")
    assert reply.widget_views() == 1 and "streamscope-stats" in reply.html()
    reply = kernel.execute("%dataset dashboard")
    assert any(WIDGET in d for d in reply.displays)
    assert "bokeh" in "".join(str(d.keys()) for d in reply.displays).lower() or reply.widget_views() >= 1


def test_background_run_cancel_and_interrupt(kernel):
    reply = kernel.execute("h = %dataset run ss.range(200_000, override_num_blocks=400).map_batches(slow) --background\n"
                           "blocks_before = 0")
    assert reply.widget_views() == 1
    kernel.execute("while h.buffer.latest() is None or h.buffer.latest().rows_out == 0: time.sleep(0.05)")
    t0 = time.time()
    kernel.interrupt()  # the kernel is idle: the extension cancels its background runs
    assert _wait_state(kernel, "h.state") == "cancelled"
    assert time.time() - t0 < 1.5  # includes two kernel round trips
    assert kernel.value("rt.store_stats().num_blocks") == 0
    assert kernel.value("ss.engine.execution.run_registry.active_runs()") == []
    # the pool is ready at once (workers that the interrupt reached are replaced)
    assert kernel.value("ss.range(400, override_num_blocks=4).map_batches(slow).materialize().count()") == 400

    kernel.execute("h2 = %dataset run ss.range(200_000, override_num_blocks=400).map_batches(slow) --background\n"
                   "while h2.buffer.latest() is None or h2.buffer.latest().rows_out == 0: time.sleep(0.05)\n"
                   "t0 = time.monotonic(); v = current().views[-1]; v.progress._on_cancel(); h2.wait(2)\n"
                   "took = time.monotonic() - t0")
    assert kernel.value("h2.state") == "cancelled" and kernel.value("took") < 1.0
    assert kernel.value("rt.store_stats().num_blocks") == 0


def test_foreground_run_stopped_by_interrupt(kernel):
    msg_id = kernel.kc.execute("m = %dataset run ss.range(200_000, override_num_blocks=400).map_batches(slow)")
    time.sleep(2.5)
    t0 = time.time()
    kernel.interrupt()
    errors = []
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=20)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            errors.append(msg["content"]["ename"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    kernel.kc.get_shell_msg(timeout=5)
    assert errors == ["KeyboardInterrupt"] and time.time() - t0 < 2.0
    assert kernel.value("rt.store_stats().num_blocks") == 0
    assert kernel.value("ss.engine.execution.run_registry.active_runs()") == []
    assert kernel.value("ds.filter(lambda r: True).count()") == 2000


def test_cell_magic_background_and_cancel(kernel):
    reply = kernel.execute("%%dataset --background --name bg\nx = ss.range(200_000, override_num_blocks=400).map_batches(slow).count()")
    assert reply.widget_views() == 1, reply.displays  # the container the run views are added to
    kernel.execute("while _dataset_handle.buffer is None: time.sleep(0.05)")
    reply = kernel.execute("%dataset cancel")
    assert "cancelled:" in reply.stdout
    assert _wait_state(kernel, "_dataset_handle.state") == "cancelled"
    reply = kernel.execute("%%dataset --name fg\ny = ds.filter(lambda r: r['id'] < 5).count()")
    assert reply.widget_views() == 1 and kernel.value("y") == 5


def test_unload_restores_the_session(kernel):
    reply = kernel.execute("%unload_ext streamscope\n"
                           "print(ss.DataContext.get_current().progress_mode, get_ipython().find_line_magic('dataset'))")
    assert reply.stdout.split() == ["auto", "None"]
    assert kernel.execute("ds.filter(lambda r: True).count()").widget_views() == 0
    kernel.execute("%load_ext streamscope")  # loaded again for a clean shutdown through the hook
