"""Fixtures for the local runtime tests.

One runtime with two workers is shared by the whole test session: starting the forkserver (which
preloads pyarrow and pandas) is the slow part, and a live pool keeps it up for the tests that
need a runtime of their own.
"""

from __future__ import annotations

import pytest

from streamscope.engine.runtime.local import LocalRuntime

from local_runtime_helpers import NUM_WORKERS


@pytest.fixture(scope="session")
def shared_rt():
    rt = LocalRuntime(num_workers=NUM_WORKERS)
    rt.ensure_started()
    yield rt
    rt.shutdown()


@pytest.fixture
def make_rt():
    """Fresh runtimes, shut down after the test."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("num_workers", NUM_WORKERS)
        rt = LocalRuntime(**kwargs)
        made.append(rt)
        rt.ensure_started()
        return rt

    yield make
    for rt in made:
        rt.shutdown()
