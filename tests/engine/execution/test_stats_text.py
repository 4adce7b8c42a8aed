"""stats() text from a hand-built final snapshot: its units come from engine/units.py and a
stopped run says how far it got (the snapshot's own progress figures)."""

from streamscope.engine.execution import telemetry as T
from streamscope.engine.execution.stats import DatasetStats
from streamscope.engine.runtime.base import StoreStats


def _final(state: str, progress: float, rows_out: int) -> T.ExecutionSnapshot:
    op = T.OperatorSnapshot("op1", "MapBatches(f)", state=T.DONE, rows_in=1000, rows_out=rows_out,
                            bytes_in=1536, bytes_out=3 << 20, wall_s=61.4, cpu_s=0.85, udf_s=0.25, tasks_done=4)
    return T.ExecutionSnapshot("run-1", "ds", state, started_at=100.0, timestamp=101.2, operators=(op,),
                               store=StoreStats(capacity_bytes=1 << 30, spilled_total_bytes=0), rows_out=rows_out,
                               estimated_rows_total=1000 if state != T.RUN_SUCCEEDED else rows_out, progress=progress)


def test_a_failed_run_says_how_far_it_got():
    st = DatasetStats(_final(T.RUN_FAILED, 0.45, 450), peak_store_bytes=1536)
    assert "ds (run-1): failed in 1.2 s, 450 rows out of 1000 (45% done)" in st
    assert st.progress == 0.45 and st.to_dict()["progress"] == 0.45


def test_units_in_the_text():
    st = DatasetStats(_final(T.RUN_SUCCEEDED, 1.0, 1000), peak_store_bytes=1536)
    assert "succeeded in 1.2 s, 1000 rows out\n" in st  # nothing about "done" once it succeeded
    assert "4 tasks executed, 0 blocks produced in 1m 01s" in st  # 61.4 s
    assert "bytes: 1.5 KiB in, 3 MiB out" in st
    assert "CPU time: 850 ms, UDF time: 250 ms, backpressure: 0 ms" in st
    assert "capacity 1 GiB, peak in use 1.5 KiB, spilled 0 B, restored 0 B" in st
