"""Fixtures for the engine-core tests.

The warm local runtime (the default) is started once and shared by the whole session: starting
the forkserver and its workers is the slow part. Every test gets the DataContext back as it found
it, so a test that narrows a setting cannot leak it into the next one.

Small plans normally run on driver threads (``small_plan_inline_rows``); these tests turn that
off so every plan crosses the process boundary of the real runtime. Tests of the inline path ask
for the ``inline_ctx`` fixture.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def runtime():
    """The session's default (local) runtime, warm."""
    from streamscope.engine.runtime import get_runtime

    rt = get_runtime()
    yield rt


@pytest.fixture(autouse=True)
def _restore_context():
    from streamscope.engine.context import DataContext

    saved = DataContext.get_current()
    ctx = saved.copy()
    ctx.enable_progress_bars = False
    ctx.small_plan_inline_rows = 0
    ctx.runtime = "local"  # whatever an earlier test module chose, these tests mean the default
    DataContext._set_current(ctx)
    yield ctx
    DataContext._set_current(saved)


@pytest.fixture
def ctx(_restore_context):
    """The DataContext this test may change freely."""
    return _restore_context


@pytest.fixture
def shm_dirs():
    """``shm_dirs()``: this test process's streamscope block directories under /dev/shm (their
    names end with the owning driver's pid). Directories of other processes — tests running in
    parallel on the same machine — are not this test's to judge; a killed driver's leftovers are
    covered by the sweep tests of the local runtime."""

    def list_dirs() -> set[str]:
        suffix = f"-{os.getpid()}"
        try:
            return {n for n in os.listdir("/dev/shm") if n.startswith("streamscope-") and n.endswith(suffix)}
        except FileNotFoundError:
            return set()

    return list_dirs


@pytest.fixture
def inline_ctx(_restore_context):
    """The DataContext with the shipped default for small plans (they run in the driver)."""
    from streamscope.engine.context import DataContext

    _restore_context.small_plan_inline_rows = DataContext().small_plan_inline_rows
    return _restore_context
