"""Helpers for io tests: run read tasks the way a worker would (after a pickle round trip)."""

from __future__ import annotations

import cloudpickle
import pyarrow as pa
import pytest

from streamscope.engine.block import concat_blocks


def _run_tasks(datasource, parallelism: int = 4, pickle: bool = True) -> pa.Table:
    tasks = datasource.get_read_tasks(parallelism)
    blocks = []
    for task in tasks:
        if pickle:
            task = cloudpickle.loads(cloudpickle.dumps(task))
        blocks.extend(task())
    return concat_blocks(blocks)


@pytest.fixture
def memfs():
    """A clean fsspec memory filesystem (its store is process-global)."""
    import fsspec

    fs = fsspec.filesystem("memory")
    root = "/streamscope-test"
    if fs.exists(root):
        fs.rm(root, recursive=True)
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def run_tasks():
    """``run_tasks(datasource, parallelism=4, pickle=True) -> pa.Table``."""
    return _run_tasks
