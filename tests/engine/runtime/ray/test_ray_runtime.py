"""What is particular to the Ray runtime: ObjectRef blocks, functions put once, cancellation,
no leaked blocks, cluster telemetry, and ``import streamscope`` without Ray."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pyarrow as pa
import pytest

import streamscope
from streamscope.engine.runtime.base import Resources, TaskSpec


def slow(row):
    time.sleep(0.2)
    return row


def _emit(payload, blocks, ctx):
    for block in blocks:
        yield block.append_column("x", pa.array([payload] * block.num_rows))


def test_import_streamscope_never_imports_ray():
    code = ("import sys, streamscope, streamscope.engine.runtime.ray, streamscope.engine.api.init; "
            "streamscope.range(10).schema(); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


def test_contract_blocks_are_object_refs(ray_runtime):
    import ray

    from streamscope.engine.runtime.ray.refs import RayBlockRef

    rt = ray_runtime
    before = rt.store_stats().num_blocks
    ref, meta = rt.put(pa.table({"a": [1, 2, 3]}))
    assert isinstance(ref, RayBlockRef) and isinstance(rt.object_ref(ref), ray.ObjectRef)
    fn = rt.register_function(_emit, "emit")
    handle = rt.submit(TaskSpec(fn=fn, payload=7, inputs=[ref], resources=Resources(cpu=1), operator="Emit"))
    results = []
    deadline = time.time() + 60
    while not results and time.time() < deadline:
        results = rt.wait(1.0)
    (done, result), = results
    assert done is handle and result.error is None
    (out_ref, out_meta), = result.outputs
    assert out_meta.num_rows == 3 and out_meta.schema.names == ["a", "x"]
    assert rt.get(out_ref).column("x").to_pylist() == [7, 7, 7]
    ray_runtime.refresh_telemetry()
    assert result.stats.worker.split("/")[0] == ray_runtime.nodes()[0].label
    rt.free([ref, out_ref])
    rt.release_function(fn)
    assert rt.store_stats().num_blocks == before
    with pytest.raises(KeyError):
        rt.get(out_ref)


def test_function_is_put_once_per_registration(ray_runtime, ctx, monkeypatch):
    import ray

    calls = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda value, **kw: (calls.append(type(value).__name__), real_put(value, **kw))[1])
    ctx.runtime = "ray"
    assert len(streamscope.range(400, override_num_blocks=8).map(lambda r: r).take_all()) == 400
    assert calls.count("bytes") == 1  # one fused map function, eight tasks


def test_runs_leave_no_blocks_and_no_tasks(ray_runtime, ctx):
    ctx.runtime = "ray"
    before = ray_runtime.store_stats().num_blocks
    ds = streamscope.range(2000, override_num_blocks=8).map(lambda r: r)
    assert len(ds.take_all()) == 2000
    for _ in ds.iter_batches(batch_size=100):
        break  # the consumer stops early: the run is cancelled
    assert ray_runtime.store_stats().num_blocks == before
    assert not ray_runtime._running


def test_take_cancels_slow_upstream(ray_runtime, ctx):
    ctx.runtime = "ray"
    t0 = time.time()
    rows = streamscope.range(400, override_num_blocks=40).map(slow).take(2)
    assert [r["id"] for r in rows] == [0, 1]
    assert time.time() - t0 < 30  # 400 rows x 0.2 s on 2 CPUs would be 40 s
    assert not ray_runtime._running


def test_telemetry_from_the_cluster(ray_runtime, ctx):
    ctx.runtime = "ray"
    ds = streamscope.range(200, override_num_blocks=4).map(lambda r: r)
    assert len(ds.take_all()) == 200
    ray_runtime.refresh_telemetry()
    store = ray_runtime.store_stats()
    assert store.capacity_bytes > 0 and store.backend.startswith("ray")
    nodes = ray_runtime.nodes()
    assert len(nodes) == 1 and nodes[0].cpu_total == 2.0 and nodes[0].is_head
    workers = ray_runtime.workers()
    assert workers and all(w.node == nodes[0].label for w in workers)
    assert ray_runtime.total_resources().cpu == 2.0
    snapshot = ds._last_run.final_snapshot
    assert snapshot.store.backend.startswith("ray")
    assert {span.worker.split("/")[0] for span in snapshot.timeline} == {nodes[0].label}
    # no dashboard here, so nothing measures the cluster's CPUs: the views say unknown, not this
    # machine's CPU figure (the notebook's machine is not where the tasks ran)
    assert nodes[0].cpu_utilization is None and snapshot.resources.cpu_utilization is None


def test_cluster_cpu_utilization_weighs_nodes_by_their_cpus():
    """What the views plot as the run's CPU utilization on Ray: every node with CPUs measured,
    or unknown. Nodes without CPUs (a GPU-only or head-only node) do not count."""
    from streamscope.engine.runtime.ray.runtime import RayRuntime
    from streamscope.engine.runtime.ray.telemetry import NodeStats

    class Figures:
        def __init__(self, nodes):
            self._nodes = nodes

        def nodes(self):
            return list(self._nodes)

    rt = RayRuntime()
    assert rt.cpu_utilization() is None  # not connected: nothing measured
    small = NodeStats("a", "a", "10.0.0.1", cpu_total=2.0, cpu_utilization=0.5)
    big = NodeStats("b", "b", "10.0.0.2", cpu_total=6.0, cpu_utilization=0.25)
    no_cpus = NodeStats("c", "c", "10.0.0.3", cpu_total=0.0, cpu_utilization=None)
    rt._telemetry = Figures([small, big, no_cpus])
    assert rt.cpu_utilization() == pytest.approx((2 * 0.5 + 6 * 0.25) / 8)
    rt._telemetry = Figures([small, NodeStats("d", "d", "10.0.0.4", cpu_total=4.0)])  # one unmeasured
    assert rt.cpu_utilization() is None
    rt._telemetry = None


def test_init_validates_arguments():
    with pytest.raises(ValueError):
        streamscope.init(runtime="spark")
    with pytest.raises(ValueError):
        streamscope.init(address="auto", runtime="local")
    assert os.environ.get("RAY_ADDRESS") is None


def test_memory_filesystem_paths_fail_clearly_on_ray(ray_runtime, ctx):
    """memory:// files live in the driver process only: on Ray the plan is refused up front with a
    message naming the read, instead of a remote "file not found"."""
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("memory://ray-check/data.csv", "w") as f:
        f.write("a\n1\n2\n")
    ctx.runtime = "ray"
    with pytest.raises(streamscope.DataSourceError) as info:
        streamscope.read_csv("memory://ray-check/data.csv").take_all()
    assert "ReadCSV" in str(info.value) and "memory://" in str(info.value)
