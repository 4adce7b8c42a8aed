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


class Leaks:
    """What a test may leave behind, measured before it starts; :meth:`check` waits (bounded) for
    the runtime to settle and then asserts nothing more is left: no process beyond the warm pool
    (and the forkserver and resource tracker that were there before), no actor process, no block
    file in the store or spill directories, no store bytes, no open run.

    Block files are told apart by block id (the file's name), not by path: a block an earlier test
    still holds (a ``materialize()``d dataset in a module global) is the coldest in the store, so
    this test's memory pressure may spill it into this test's spill directory. It is the same
    block, still held, and no leak; a file a failed task left behind has an id never seen before.
    """

    SETTLE_S = 20.0

    def __init__(self, runtime):
        import gc

        from chaos import block_id_of_file, child_pids, session_files

        gc.collect()
        self.runtime = runtime
        self._child_pids = child_pids
        self._session_files = session_files
        workers = {w.pid for w in runtime.workers()}
        self.helpers = child_pids() - workers  # forkserver, resource tracker
        self.files = session_files(runtime)
        self._block_id_of_file = block_id_of_file
        self.held_ids = {block_id_of_file(path) for path in self.files}
        """Blocks in the store before the test (ids), wherever their files are now."""
        stats = runtime.store_stats()
        self.blocks, self.bytes = stats.num_blocks, stats.in_memory_bytes

    def measure_again(self) -> None:
        """Take what is there now as the baseline: for a test that first sets up state it keeps on
        purpose (a dataset held while another run fails)."""
        self.__init__(self.runtime)

    def state(self):
        rt = self.runtime
        workers = {w.pid for w in rt.workers()}
        actors = rt._state.actors
        actor_pids = {w.pid for w in actors.pool.workers.values()} if actors is not None else set()
        stats = rt.store_stats()
        return {
            "stray processes": sorted(self._child_pids() - workers - self.helpers),
            "workers": len(workers),
            "busy workers": sum(w.busy for w in rt.workers()),
            "actor processes": sorted(actor_pids),
            "new files": sorted(p for p in self._session_files(rt) if self._block_id_of_file(p) not in self.held_ids),
            "blocks": stats.num_blocks - self.blocks,
            "bytes": stats.in_memory_bytes - self.bytes,
            "open runs": list(rt.open_runs()),
        }

    def clean(self, state) -> bool:
        return (not state["stray processes"] and state["workers"] == self.runtime.pool.size
                and not state["busy workers"] and not state["actor processes"] and not state["new files"]
                and state["blocks"] <= 0 and state["bytes"] <= 0 and not state["open runs"])

    def check(self) -> None:
        import gc
        import time

        deadline = time.monotonic() + self.SETTLE_S
        while True:
            gc.collect()
            state = self.state()
            if self.clean(state) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert self.clean(state), f"left behind: {state}"


@pytest.fixture
def leaks(runtime):
    """``leaks.check()`` at the end of a test: nothing left behind (see :class:`Leaks`)."""
    return Leaks(runtime)
