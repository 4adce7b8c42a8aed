"""Every tutorial notebook other than the quickstart (which test_jupyterlab.py drives in depth)
opened in a real JupyterLab in Debian's Chromium and run top to bottom: no cell has an error
output or a traceback on stderr, and no widget failed to render (ipywidgets' "Error displaying
widget"). One JupyterLab and one browser serve the whole module; each notebook's kernel is shut
down when its test ends, and no kernel leaves a /dev/shm session directory behind."""

from __future__ import annotations

import glob
import os
import shutil

import pytest

from streamscope.engine.runtime.local.session_dir import is_leftover

from lab_page import launch_chromium, require_chromium, JS_ERRORS, JS_WIDGET_FAILURES, open_notebook, run_all_cells
from lab_server import LabServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOKS = [p for p in sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
             if not p.endswith("01_quickstart.ipynb")]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
def lab_page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    require_chromium()
    tmp = tmp_path_factory.mktemp("notebooks-in-lab")
    work = tmp / "lab"
    work.mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, work / os.path.basename(path))
    with LabServer(str(work), str(tmp / "home")) as lab, sync_api.sync_playwright() as pw:
        context = launch_chromium(pw, tmp / "chromium-profile", lab.home)
        try:
            yield lab, context
        finally:
            context.close()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(lab_page, path):
    lab, context = lab_page
    shm_before = _shm_dirs()
    page = context.new_page()
    try:
        # a workspace of its own: JupyterLab would otherwise restore the previous test's notebook
        # (and start a kernel for it) next to this one
        name = os.path.splitext(os.path.basename(path))[0]
        open_notebook(page, lab.url(f"lab/workspaces/{name}/tree/{os.path.basename(path)}"))
        run_all_cells(page, timeout_ms=300_000)
        assert page.evaluate(JS_ERRORS) == []
        assert page.evaluate(JS_WIDGET_FAILURES) == []
    finally:
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        page.close()
    leaked = [d for d in _wait_for_gone(shm_before) if is_leftover(os.path.join("/dev/shm", d))]
    assert not leaked, f"the kernel of {os.path.basename(path)} left {leaked} in /dev/shm"


def _shm_dirs() -> set:
    return {d for d in os.listdir("/dev/shm") if d.startswith("streamscope-")} if os.path.isdir("/dev/shm") else set()


def _wait_for_gone(before: set, wait_s: float = 30.0) -> list:
    """Session directories new since ``before`` still there once the kernel has had ``wait_s``
    to stop its engine (the shutdown request returns before the kernel process exits)."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        new = sorted(_shm_dirs() - before)
        if not any(is_leftover(os.path.join("/dev/shm", d)) for d in new) or time.monotonic() > deadline:
            return new
        time.sleep(0.5)
