from streamscope.engine.execution.telemetry import StoreSnapshot
from streamscope.widgets.bottleneck import find_bottleneck, seconds_without_progress
from widget_snapshots import op, snap, stream

POLICY = "ConcurrencyCapBackpressurePolicy: 8 tasks in flight (cap 8)"


def test_backpressured_operator_and_policy_named():
    s = snap(3, 10, ops=[
        op("op1", state="backpressured", backpressure_reason=POLICY, queued_out_blocks=5, rows_out=10),
        op("op2", state="running", queued_in_blocks=5, rows_out=3),
    ])
    b = find_bottleneck(s)
    assert b.op_id == "op1" and b.kind == "backpressure"
    assert "ReadParquet" in str(b) and POLICY in str(b)


def test_actors_that_cannot_start():
    s = snap(3, 10, ops=[op("op1", state="running"), op("op2", state="running", actors_starting=4, queued_in_blocks=2)])
    b = find_bottleneck(s)
    assert b.op_id == "op2" and b.kind == "actors" and "4 actor(s) cannot start" in str(b)


def test_full_store_names_the_holder():
    s = snap(3, 10, ops=[op("op1", queued_out_bytes=900, queued_out_blocks=9, state="running"),
                         op("op2", queued_out_bytes=10, state="running")])
    s = s.__class__(**{**s.__dict__, "store": StoreSnapshot(capacity_bytes=1000, in_memory_bytes=990, spilled_now_bytes=50)})
    b = find_bottleneck(s)
    assert b.op_id == "op1" and b.kind == "store" and "object store full" in str(b)


def test_slowest_stage_by_input_queue():
    s = snap(3, 10, ops=[op("op1", state="running", queued_in_blocks=1), op("op3", state="running", queued_in_blocks=7)])
    b = find_bottleneck(s)
    assert b.op_id == "op3" and b.kind == "queue"


def test_stalled_after_timeout_from_history():
    moving = [snap(i, 100) for i in range(3)]
    frozen_ops = moving[-1].operators
    frozen = [snap(2, 100, ops=frozen_ops).__class__(**{**snap(2, 100, ops=frozen_ops).__dict__, "timestamp": 1002.0 + k})
              for k in range(1, 8)]
    history = moving + frozen
    latest = history[-1]
    assert seconds_without_progress(latest, history) == 7.0
    assert find_bottleneck(latest, history, stall_timeout_s=10).kind != "stalled"
    b = find_bottleneck(latest, history, stall_timeout_s=5)
    assert b.stalled and str(b).startswith("stalled at MapBatches(f)->Filter(g)")  # the op with running tasks
    assert "7.0s" in str(b)


def test_finished_run_has_no_bottleneck():
    assert find_bottleneck(stream(3, "succeeded")[-1]) is None
    assert find_bottleneck(None) is None
