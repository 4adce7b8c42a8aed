"""The Prometheus endpoint: off unless asked, on 127.0.0.1, and its numbers are the run's own
(checked against Dataset.stats()), while a run goes on and after it ends."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

import pytest

import streamscope as ss
from streamscope.engine.execution.metrics_export import current_server, serve_metrics

parser = pytest.importorskip("prometheus_client.parser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(url: str) -> dict:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    samples = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _values(samples: dict, name: str, **labels) -> list[float]:
    return [v for (n, ls), v in samples.items() if n == name and all((k, str(x)) in ls for k, x in labels.items())]


@pytest.fixture
def endpoint(runtime):
    ss.init(metrics_port=_free_port())
    yield current_server()
    serve_metrics(None)


def test_nothing_listens_unless_asked():
    serve_metrics(None)
    assert current_server() is None


def test_the_numbers_are_the_runs_own(endpoint, ctx):
    assert endpoint.host == "127.0.0.1" and endpoint.url.startswith("http://127.0.0.1:")
    ds = ss.range(10_000, override_num_blocks=8).map_batches(lambda b: {"id": b["id"] * 3})
    assert sum(len(b["id"]) for b in ds.iter_batches(batch_size=None)) == 10_000
    stats = ds.stats()
    samples = _scrape(endpoint.url)
    for op in stats.operators:
        assert _values(samples, "streamscope_operator_rows_out_total", run_id=stats.run_id, op_id=op.op_id) == [op.rows_out]
        done = _values(samples, "streamscope_operator_tasks_done_total", run_id=stats.run_id, op_id=op.op_id)
        assert done == [float(op.tasks)]
    assert _values(samples, "streamscope_run_rows_out_total", run_id=stats.run_id) == [10_000.0]
    assert _values(samples, "streamscope_run_running", run_id=stats.run_id, state="succeeded") == [0.0]
    assert _values(samples, "streamscope_store_capacity_bytes")[0] > 0


def test_a_running_run_shows_as_running(endpoint, ctx, tmp_path):
    gate = tmp_path / "go"

    def wait_for_gate(batch):
        while not gate.exists():
            time.sleep(0.01)
        return batch

    ds = ss.range(1000, override_num_blocks=2).map_batches(wait_for_gate)
    result = {}
    consumer = threading.Thread(target=lambda: result.setdefault("rows", len(ds.take_all())))
    consumer.start()
    try:
        deadline = time.monotonic() + 120
        while True:  # wait for the event (the run to appear as running); never judged on speed
            running = [v for (n, ls), v in _scrape(endpoint.url).items()
                       if n == "streamscope_run_running" and ("state", "running") in ls]
            if running == [1.0] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert running == [1.0]
    finally:
        gate.touch()
        consumer.join(120)
    assert result["rows"] == 1000


def test_a_taken_port_is_a_clear_error(runtime):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            ss.init(metrics_port=port)
    with pytest.raises(ValueError, match="metrics_port must be a TCP port"):
        ss.init(metrics_port=-1)
    serve_metrics(None)
