"""Draining a started executor's output the way a consumer must, for tests that drive
``StreamingExecutor.iter_output()`` directly: every block it lends is given back, or it stays in
the store for the rest of the test session (and changes what later tests see)."""

from __future__ import annotations

from typing import Any


def drain(executor: Any) -> int:
    """Rows of the run's output, each block released after it is counted."""
    rows = 0
    for ref, meta, owned in executor.iter_output():
        rows += meta.num_rows
        executor.release(ref, owned)
    return rows
