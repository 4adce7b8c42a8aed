"""The GPU pool: fractional packing, device assignment seen inside actors and tasks (fake GPU ids),
impossible requests failing at planning time, and a smoke test on a real GPU where one exists."""

from __future__ import annotations

import os

import numpy as np
import pytest

import streamscope as ss
from streamscope.engine.execution.resource_check import ResourceRequestError
from streamscope.engine.runtime.gpu import GpuPool


def test_fractional_requests_pack_onto_one_device():
    pool = GpuPool(["0", "1"])
    assert [pool.allocate(0.25) for _ in range(4)] == [("0",)] * 4
    assert pool.allocate(1) == ("1",)
    assert pool.allocate(0.5) is None
    pool.release(("0",), 0.25)
    assert pool.allocate(0.25) == ("0",)
    pool.release(("1",), 1)
    assert pool.allocate(2) is None and pool.allocate(1) == ("1",)


def test_impossible_requests_rejected():
    pool = GpuPool(["0", "1"])
    with pytest.raises(ValueError, match="whole number"):
        pool.check(1.5)
    with pytest.raises(ValueError, match="2 GPU"):
        pool.check(3)


def test_without_nvidia_ml_py_gpu_figures_are_absent_and_errors_say_what_to_install(monkeypatch, caplog):
    import sys

    from streamscope.engine.runtime import gpu

    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails as if nvidia-ml-py were not installed
    monkeypatch.setattr(gpu, "nvml_installed", lambda: False)
    monkeypatch.setattr(gpu, "_told_no_nvml", False)
    with pytest.raises(ValueError, match=r"pip install 'streamscope\[gpu\]'"):
        GpuPool([]).check(1, "a task of Map(f)")
    pool = GpuPool(["0"])  # a device declared through CUDA_VISIBLE_DEVICES or DataContext.num_gpus
    with caplog.at_level("WARNING", logger=gpu.__name__):
        assert gpu.gpu_stats(pool) == [] and gpu.gpu_stats(pool) == []  # "no GPU stats", no error
    (record,) = [r for r in caplog.records if r.name == gpu.__name__]
    assert "not shown for 1 device(s)" in record.getMessage() and "nvidia-ml-py" in record.getMessage()


class CudaEnv:
    def __call__(self, batch):
        n = len(batch["id"])
        return {"id": batch["id"], "cvd": np.array([os.environ.get("CUDA_VISIBLE_DEVICES", "")] * n),
                "pid": np.full(n, os.getpid())}


@pytest.fixture
def fake_gpus(monkeypatch):
    monkeypatch.setenv("STREAMSCOPE_FAKE_GPUS", "4")
    yield 4


def test_fake_gpus_are_runtime_resources(ctx, fake_gpus):
    from streamscope.engine.runtime import get_runtime

    rt = get_runtime(ctx)
    assert rt.total_resources().gpu == 4
    assert rt.gpu_stats() == []  # fake devices have no figures: "no GPU" to the views


def test_actors_get_devices_and_fractions_pack(ctx, fake_gpus):
    ds = ss.range(4000, override_num_blocks=40).map_batches(
        CudaEnv, compute=ss.ActorPoolStrategy(size=4), num_gpus=0.5, batch_size=100)
    rows = ds.take_all()
    assert sorted(r["id"] for r in rows) == list(range(4000))
    by_pid: dict = {}
    for r in rows:
        by_pid.setdefault(r["pid"], set()).add(r["cvd"])
    assert all(len(v) == 1 for v in by_pid.values())  # one device set per actor process
    devices = [next(iter(v)) for v in by_pid.values()]
    assert set(devices) <= {"0", "1"}  # 4 half-GPU actors packed on 2 devices
    assert all(devices.count(d) <= 2 for d in set(devices))


def test_gpu_tasks_see_their_device(ctx, fake_gpus):
    ds = ss.range(400, override_num_blocks=8).map_batches(CudaEnv(), num_gpus=1, batch_size=50)
    rows = ds.take_all()
    assert sorted(r["id"] for r in rows) == list(range(400))
    assert {r["cvd"] for r in rows} <= {"0", "1", "2", "3"} and all(r["cvd"] for r in rows)


def test_multi_gpu_actor_gets_distinct_devices(ctx, fake_gpus):
    rows = ss.range(100).map_batches(CudaEnv, compute=ss.ActorPoolStrategy(size=2), num_gpus=2).take_all()
    sets = {r["cvd"] for r in rows}
    assert all(len(s.split(",")) == 2 for s in sets)
    assert len({d for s in sets for d in s.split(",")}) == 2 * len(sets)


def test_impossible_gpu_request_fails_at_planning(ctx, fake_gpus, tmp_path):
    marker = tmp_path / "ran"

    def touch(batch):
        marker.write_text("ran")
        return batch

    with pytest.raises(ResourceRequestError, match="num_gpus=8"):
        ss.range(10).map_batches(touch, num_gpus=8).take_all()
    with pytest.raises(ResourceRequestError, match="at least 3 actors"):
        ss.range(10).map_batches(CudaEnv, compute=ss.ActorPoolStrategy(size=3), num_gpus=1.0 + 1).take_all()
    assert not marker.exists()


def test_no_gpu_machine_rejects_gpu_maps(ctx, monkeypatch):
    monkeypatch.delenv("STREAMSCOPE_FAKE_GPUS", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ResourceRequestError, match="no GPU"):
        ss.range(10).map_batches(CudaEnv, compute=ss.ActorPoolStrategy(size=1), num_gpus=1).take_all()


def _has_gpu() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


class OnGpu:
    def __init__(self):
        import torch

        self.torch = torch
        self.device = torch.device("cuda")

    def __call__(self, batch):
        x = self.torch.as_tensor(batch["id"], device=self.device)
        return {"id": (x * 2).cpu().numpy()}


@pytest.mark.gpu
def test_gpu_smoke(ctx):
    # checked here, not in a skipif at import: actor processes import this module to unpickle its
    # classes, and probing CUDA there would cost seconds per actor
    if not _has_gpu():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False here)")
    rows = ss.range(1000).map_batches(OnGpu, compute=ss.ActorPoolStrategy(size=1), num_gpus=1).take_all()
    assert sorted(r["id"] for r in rows) == [2 * i for i in range(1000)]
    batches = list(ss.range(64).iter_torch_batches(batch_size=32))
    assert batches[0]["id"].device.type == "cuda"


def test_snapshots_name_the_gpus_an_actor_stage_holds(ctx, fake_gpus):
    """What the plan graph puts on a GPU stage: the devices its actors hold, as each actor's
    process sees them in CUDA_VISIBLE_DEVICES. Read while the run is held by this consumer (it
    stops taking batches), so the actors are alive whatever the machine's speed."""
    import time

    from streamscope.engine.execution.telemetry import hub

    ds = ss.range(2000, override_num_blocks=20).map_batches(
        CudaEnv, compute=ss.ActorPoolStrategy(size=2), num_gpus=1, batch_size=100)
    batches = iter(ds.iter_batches(batch_size=100))
    first = next(batches)
    buffer = hub().latest_run()
    deadline = time.monotonic() + 60
    held: tuple = ()
    while not held and time.monotonic() < deadline:  # the next snapshots see the live actors
        snapshot = buffer.latest()
        held = next((o.gpu_ids for o in snapshot.operators if o.actors_alive), ())
        time.sleep(0.05)
    rows = [first] + list(batches)
    seen_by_actors = {str(v) for b in rows for v in b["cvd"]}
    assert sum(len(b["id"]) for b in rows) == 2000
    assert len(held) == 2 and set(held) <= {"0", "1", "2", "3"}
    assert seen_by_actors == set(held)  # the same two devices, as the actors' processes saw them
