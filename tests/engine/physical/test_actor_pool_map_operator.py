"""Actor pools end to end: a real CNN on images, constructor semantics, autoscaling seen through
telemetry, an actor SIGKILLed mid-run, a raising constructor, and no deadlock on 2 CPU slots."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import streamscope as ss
from streamscope.engine.physical.operators.actor_pool_map_operator import ActorPoolMapOperator

RUNTIMES = ["local", "inprocess"]


def build_cnn():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    ).eval()


class Classifier:
    def __init__(self, scale):
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        self.scale = scale
        self.model = build_cnn()

    def __call__(self, batch):
        x = self.torch.from_numpy(np.stack(list(batch["image"])).astype(np.float32) / self.scale).unsqueeze(1)
        with self.torch.inference_mode():
            logits = self.model(x).numpy()
        return {"path": batch["path"], "pred": logits.argmax(1), "logit0": logits[:, 0]}


def test_cnn_in_actor_pool_equals_direct_model(tmp_path):
    from PIL import Image
    import torch

    rng = np.random.default_rng(0)
    images = {}
    for i in range(40):
        arr = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
        path = str(tmp_path / f"img_{i:03d}.png")
        Image.fromarray(arr, mode="L").save(path)
        images[os.path.basename(path)] = arr
    ds = ss.read_images(str(tmp_path), mode="L", include_paths=True).map_batches(
        Classifier, fn_constructor_args=(255.0,), compute=ss.ActorPoolStrategy(size=2), batch_size=8)
    rows = ds.take_all()
    assert len(rows) == 40
    model = build_cnn()
    names = sorted(images)
    with torch.inference_mode():
        x = torch.from_numpy(np.stack([images[n] for n in names]).astype(np.float32) / 255.0).unsqueeze(1)
        direct = model(x).numpy()
    got = {os.path.basename(r["path"]): r for r in rows}
    for i, name in enumerate(names):
        assert got[name]["pred"] == direct[i].argmax()
        assert got[name]["logit0"] == pytest.approx(direct[i][0], rel=1e-5, abs=1e-6)


class Tagger:
    made = 0

    def __init__(self, offset, *, scale=1):
        Tagger.made += 1
        self.offset, self.scale = offset, scale
        self.instance = f"{os.getpid()}-{id(self)}"
        self.made_here = Tagger.made
        self.calls = 0

    def __call__(self, batch):
        self.calls += 1
        n = len(batch["id"])
        return {"id": batch["id"] * self.scale + self.offset, "instance": np.array([self.instance] * n),
                "calls": np.full(n, self.calls)}


@pytest.mark.parametrize("kind", RUNTIMES)
def test_class_constructed_once_per_actor(ctx, kind):
    ctx.runtime = kind
    ds = ss.range(2000, override_num_blocks=20).map_batches(
        Tagger, fn_constructor_args=(7,), fn_constructor_kwargs={"scale": 2},
        compute=ss.ActorPoolStrategy(size=2), batch_size=100)
    rows = ds.take_all()
    assert sorted(r["id"] for r in rows) == [i * 2 + 7 for i in range(2000)]
    by_instance: dict = {}
    for r in rows:
        by_instance.setdefault(r["instance"], set()).add(r["calls"])
    assert 1 <= len(by_instance) <= 2
    # each instance saw consecutive calls 1..k: it was built once and kept for every batch
    assert sum(len(c) for c in by_instance.values()) == 20
    for calls in by_instance.values():
        assert calls == set(range(1, len(calls) + 1))


def test_concurrency_still_accepted_with_a_logged_deprecation_as_ray(ctx, caplog):
    # Ray 2.60 logs (logger.warning) that concurrency is deprecated; it raises no DeprecationWarning
    with caplog.at_level("WARNING", logger="streamscope.engine.compute"):
        ds = ss.range(100).map_batches(Tagger, fn_constructor_args=(0,), concurrency=2)
    assert any("``concurrency`` is deprecated" in r.getMessage() for r in caplog.records)
    assert ds._plan.dag.compute == ss.ActorPoolStrategy(size=2)
    assert sorted(r["id"] for r in ds.take_all()) == list(range(100))


def slow_upstream(batch):
    if batch["id"][0] >= 3000:  # the tail trickles in: the pool should shrink meanwhile
        time.sleep(0.6)
    return batch


class Slow:
    def __call__(self, batch):
        time.sleep(0.08)
        return batch


@pytest.mark.parametrize("kind", RUNTIMES)
def test_autoscaling_grows_then_shrinks(ctx, kind, monkeypatch):
    ctx.runtime = kind
    monkeypatch.setattr(ActorPoolMapOperator, "idle_release_s", 0.3)
    ds = ss.range(4000, override_num_blocks=40).map_batches(slow_upstream).map_batches(
        Slow, compute=ss.ActorPoolStrategy(min_size=1, max_size=3), batch_size=100)
    assert sorted(r["id"] for r in ds.take_all()) == list(range(4000))
    history = ds._last_run.buffer.history()
    pool = [s.operators[-1] for s in history]
    alive = [o.actors_alive for o in pool]
    peak = max(alive)
    assert peak >= 2, alive
    after_peak = alive[alive.index(peak):]
    running = [o for o in pool[alive.index(peak):] if o.state != "done"]
    assert any(o.actors_alive < peak for o in running), after_peak
    assert pool[-1].actors_alive == 0  # released once the input was drained
    assert any(o.actor_busy_fraction for o in pool)
    assert all(0.0 <= f <= 1.0 for o in pool for f in o.actor_busy_fraction)


class PidReporter:
    def __call__(self, batch):
        time.sleep(0.03)
        return {"id": batch["id"], "pid": np.full(len(batch["id"]), os.getpid())}


def test_sigkill_actor_mid_run_gives_exact_results(ctx):
    ds = ss.range(3000, override_num_blocks=30).map_batches(
        PidReporter, compute=ss.ActorPoolStrategy(size=2), batch_size=50)
    seen = []
    killed = None
    for batch in ds.iter_batches(batch_size=None):
        seen.extend(batch["id"].tolist())
        if killed is None and len(seen) >= 300:
            killed = int(batch["pid"][0])
            os.kill(killed, signal.SIGKILL)
    assert killed is not None
    assert sorted(seen) == list(range(3000))
    op = ds._last_run.plan.ops[-1]
    assert isinstance(op, ActorPoolMapOperator)
    runtime = ds._last_run.runtime
    assert any(runtime.actor_state(a.handle).restarts >= 1 for a in op.retired)


class BadInit:
    def __init__(self, marker):
        with open(marker, "a") as f:
            f.write("x")
        raise ValueError("could not load the weights")

    def __call__(self, batch):
        return batch


@pytest.mark.parametrize("kind", RUNTIMES)
def test_raising_constructor_fails_fast_with_traceback(ctx, kind, tmp_path):
    ctx.runtime = kind
    marker = str(tmp_path / "constructed")
    ds = ss.range(1000).map_batches(BadInit, fn_constructor_args=(marker,), compute=ss.ActorPoolStrategy(size=2))
    with pytest.raises(Exception) as info:
        ds.take_all()
    text = str(info.value)
    assert "could not load the weights" in text
    assert "BadInit" in text and "__init__" in text  # the constructor's traceback
    assert len(open(marker).read()) <= 2  # one attempt per actor, no retry storm


class Fixed:
    def __call__(self, batch):
        return {"id": batch["id"]}


def test_default_num_cpus_actors_do_not_starve_upstream(ctx):
    """W3's default-num_cpus shape: 2 actors of 1 CPU on 2 CPU slots still leave the upstream task
    stage a slot (Ray Data deadlocks here)."""
    ctx.execution_options.resource_limits.cpu = 2
    ds = ss.range(2000, override_num_blocks=20).map_batches(lambda b: {"id": b["id"] + 1}).map_batches(
        Fixed, compute=ss.ActorPoolStrategy(size=2), batch_size=100)
    assert sorted(r["id"] for r in ds.take_all()) == list(range(1, 2001))  # a deadlock would hang here


def test_fractional_cpu_actors_on_two_slots(ctx):
    ctx.execution_options.resource_limits.cpu = 2
    ds = ss.range(1000, override_num_blocks=10).map_batches(lambda b: b).map_batches(
        Fixed, compute=ss.ActorPoolStrategy(size=2), num_cpus=0.5, batch_size=100)
    assert sorted(r["id"] for r in ds.take_all()) == list(range(1000))
