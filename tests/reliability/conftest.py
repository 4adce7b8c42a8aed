"""Fixtures for the reliability suite: the session's warm local runtime, and a DataContext each
test may change freely (restored afterwards), with every plan crossing the process boundary."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def runtime():
    """The session's default (local) runtime, warm."""
    from streamscope.engine.runtime import get_runtime

    rt = get_runtime()
    rt.ensure_started()
    yield rt


@pytest.fixture(autouse=True)
def ctx():
    """A copy of the current DataContext, current for the test and restored after it."""
    from streamscope.engine.context import DataContext

    saved = DataContext.get_current()
    current = saved.copy()
    current.enable_progress_bars = False
    current.small_plan_inline_rows = 0
    current.runtime = "local"
    DataContext._set_current(current)
    yield current
    DataContext._set_current(saved)
