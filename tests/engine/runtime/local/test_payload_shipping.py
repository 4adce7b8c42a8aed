"""What a task carries reaches the worker: functions defined in ``__main__`` (a script, a notebook
cell) travel by value, and a payload a worker cannot load fails its task with the reason, once,
instead of killing worker after worker."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_main_functions_are_pickled_by_value():
    code = textwrap.dedent("""
        import pickle, types
        from streamscope.engine.runtime.local import protocol
        def helper(x):
            return x + 1
        data = protocol.encode_payload(("task", helper))
        # by value: a process without this __main__ can load it
        assert b"helper" in data
        print("by-value" if pickle.loads(data)[1](1) == 2 else "wrong")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "by-value"


def test_a_script_whose_datasource_holds_a_main_function_runs_in_workers(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent("""
        import pyarrow as pa
        import streamscope as ss
        from streamscope.block import BlockMetadata

        def make_rows(lo, hi):
            return [pa.table({"x": list(range(lo, hi))})]

        class Numbers(ss.Datasource):
            def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
                return [ss.ReadTask(lambda lo=lo: make_rows(lo, lo + 10),
                                    BlockMetadata(num_rows=10, size_bytes=80, input_files=None, exec_stats=None))
                        for lo in range(0, 40, 10)]

            def estimate_inmemory_data_size(self):
                return 320

        ctx = ss.DataContext.get_current()
        ctx.small_plan_inline_rows = 0
        ctx.enable_progress_bars = False
        print(ss.read_datasource(Numbers()).map(lambda r: {"x": r["x"] * 2}).sum("x"))
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == str(2 * sum(range(40)))


class _Unloadable:
    """Pickles fine in the driver; unpickling it in a worker raises."""

    def __reduce__(self):
        return (_explode, ())


def _explode():
    raise ImportError("no module named 'only_on_the_driver'")


def test_a_payload_the_worker_cannot_load_fails_its_task_with_the_reason(runtime, ctx):
    from streamscope.engine.runtime.base import TaskSpec

    fn = runtime.register_function(lambda payload, blocks, task_ctx: iter(()), "probe")
    results = []
    try:
        handle = runtime.submit(TaskSpec(fn, payload=_Unloadable(), inputs=[], operator="Probe"))
        while not results:  # waits for the one result; a crashing worker would be retried, then fail
            results = [r for h, r in runtime.wait(timeout=5.0) if h is handle]
    finally:
        runtime.release_function(fn)
    (result,) = results
    assert result.error is not None
    assert "could not be loaded in worker" in result.error.message and "only_on_the_driver" in result.error.message
    assert not result.error.system  # the user's payload, not a crash: no retries of a broken payload
