"""Checks in a real IPython kernel and through nbconvert (no browser): background-thread widget
updates reach the front end after the cell finished, the final display update carries static
HTML, and an exported notebook without saved widget state shows that static HTML."""

import os
import queue
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

KERNEL_CODE = r'''
import sys, threading, time
sys.path.insert(0, "tests/widgets")
from widget_snapshots import stream, FakeHandle
from streamscope.engine.execution.telemetry import SnapshotBuffer
from streamscope.widgets import LiveRunView
buf = SnapshotBuffer("run-1", "my_dataset")
view = LiveRunView(FakeHandle(buf), binary="/nonexistent/dot").display()
def produce():
    time.sleep(0.3)
    for s in stream(8, "succeeded"):
        buf.publish(s); time.sleep(0.03)
threading.Thread(target=produce, daemon=True).start()
'''


def test_background_thread_updates_reach_the_frontend():
    manager = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    env_path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    old = os.environ.get("PATH")
    os.environ["PATH"] = env_path
    try:
        km, kc = manager.start_new_kernel(kernel_name="python3", cwd=ROOT)
    finally:
        os.environ["PATH"] = old or ""
    try:
        kc.execute(KERNEL_CODE)
        idle_at, success_at, final_html = None, None, None
        deadline = time.time() + 20
        while time.time() < deadline and final_html is None:
            try:
                m = kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            kind, content = m["msg_type"], m["content"]
            if kind == "error":
                pytest.fail("\n".join(content["traceback"]))
            if kind == "status" and content["execution_state"] == "idle" and idle_at is None:
                idle_at = time.time()
            if kind == "comm_msg" and content["data"].get("state", {}).get("bar_style") == "success":
                success_at = time.time()
            if kind == "update_display_data":
                final_html = content["data"]["text/html"]
        assert idle_at is not None and success_at is not None and success_at > idle_at
        assert "done 100%" in final_html and "streamscope-stats" in final_html
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_nbconvert_export_without_widget_state_shows_static_html():
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    sys.path.insert(0, os.path.dirname(__file__))
    from widget_snapshots import FakeHandle, buffer_with, stream

    from streamscope.widgets import LiveRunView

    snaps = stream(4, "failed")
    view = LiveRunView(FakeHandle(buffer_with(snaps)), binary="/nonexistent/dot")
    for s in snaps:
        view.update(s)
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("view")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    nb.cells.append(cell)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    assert "streamscope-live" in body and "failed at" in body and "WriteCSV" in body
