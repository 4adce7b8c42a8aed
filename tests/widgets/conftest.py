"""Fixtures of the widget tests."""

import pytest


@pytest.fixture
def restore_context():
    """A copy of the session's DataContext with progress bars off, put back after the test."""
    from streamscope.engine.context import DataContext

    saved = DataContext.get_current()
    ctx = saved.copy()
    ctx.enable_progress_bars = False
    DataContext._set_current(ctx)
    yield ctx
    DataContext._set_current(saved)
