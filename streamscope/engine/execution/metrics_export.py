"""Telemetry as Prometheus metrics: an opt-in HTTP endpoint (``streamscope.init(metrics_port=...)``)
for the people who operate a pipeline, next to the notebook views for the people who write it.

Why a collector read at scrape time, not counters updated by the executor: every figure already
lives in the runs' telemetry snapshots (rows, bytes, tasks, queues, backpressure, spill, store,
GPUs), so the exporter only translates the latest snapshot of each run the session remembers
when Prometheus asks. The executor does no extra work, an idle endpoint costs nothing, and the
numbers are the ones ``Dataset.stats()`` reports. The server listens on 127.0.0.1 unless told
otherwise, and only when asked: nothing listens by default.

Metric names follow Prometheus' conventions (``streamscope_`` prefix, ``_total`` for counters,
base units: bytes, seconds); every per-operator series carries ``run_id``, ``dataset``,
``op_id`` and ``operator`` labels.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator, Optional

from streamscope.engine.execution.telemetry import TelemetryHub, hub

_OPERATOR_COUNTERS = (
    ("rows_out", "rows_out", "Rows the operator produced."),
    ("rows_in", "rows_in", "Rows the operator received."),
    ("bytes_out", "bytes_out", "Bytes the operator produced."),
    ("tasks_done", "tasks_done", "Tasks of the operator that finished."),
    ("tasks_failed", "tasks_failed", "Tasks of the operator that failed."),
    ("backpressure_seconds", "backpressure_s", "Seconds the operator was held back by backpressure."),
    ("spilled_bytes", "spilled_bytes", "Bytes of the operator's outputs spilled to disk."),
    ("cpu_seconds", "cpu_s", "CPU seconds the operator's tasks used."),
)
_OPERATOR_GAUGES = (
    ("active_tasks", "active_tasks", "Tasks of the operator running now."),
    ("queued_in_blocks", "queued_in_blocks", "Blocks waiting at the operator's input."),
    ("queued_out_blocks", "queued_out_blocks", "Blocks waiting at the operator's output."),
    ("rows_per_second", "rows_per_s", "The operator's recent throughput."),
)
_STORE_GAUGES = (
    ("store_capacity_bytes", "capacity_bytes", "Capacity of the block store."),
    ("store_in_memory_bytes", "in_memory_bytes", "Bytes of blocks in the store's memory."),
    ("store_spilled_now_bytes", "spilled_now_bytes", "Bytes of blocks on the spill disk now."),
)


class SnapshotCollector:
    """A prometheus_client collector over the hub's runs (each run's latest snapshot).

    Examples:
        >>> from streamscope.engine.execution.telemetry import TelemetryHub
        >>> [family.name for family in SnapshotCollector(TelemetryHub()).collect()][:2]
        ['streamscope_operator_rows_out', 'streamscope_operator_rows_in']
    """

    def __init__(self, telemetry: TelemetryHub):
        self.telemetry = telemetry

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        labels = ["run_id", "dataset", "op_id", "operator"]
        counters = {key: CounterMetricFamily(f"streamscope_operator_{name}", doc, labels=labels)
                    for name, key, doc in _OPERATOR_COUNTERS}
        gauges = {key: GaugeMetricFamily(f"streamscope_operator_{name}", doc, labels=labels)
                  for name, key, doc in _OPERATOR_GAUGES}
        run_rows = CounterMetricFamily("streamscope_run_rows_out", "Rows a run delivered.", labels=["run_id", "dataset"])
        run_state = GaugeMetricFamily("streamscope_run_running", "1 while the run is running, else 0.",
                                      labels=["run_id", "dataset", "state"])
        store = {key: GaugeMetricFamily(f"streamscope_{name}", doc) for name, key, doc in _STORE_GAUGES}
        gpu = GaugeMetricFamily("streamscope_gpu_utilization_ratio", "GPU utilization (0-1).", labels=["gpu"])
        latest = None
        for buffer in self.telemetry.runs():
            snapshot = buffer.latest()
            if snapshot is None:
                continue
            latest = snapshot
            run_rows.add_metric([snapshot.run_id, snapshot.name], snapshot.rows_out)
            run_state.add_metric([snapshot.run_id, snapshot.name, snapshot.state], 0.0 if snapshot.finished else 1.0)
            for op in snapshot.operators:
                values = [snapshot.run_id, snapshot.name, op.op_id, op.name]
                for key, family in counters.items():
                    family.add_metric(values, float(getattr(op, key)))
                for key, family in gauges.items():
                    family.add_metric(values, float(getattr(op, key)))
        if latest is not None:  # the store and GPUs are the session's: the newest snapshot tells
            for key, family in store.items():
                family.add_metric([], float(getattr(latest.store, key)))
            for g in latest.resources.gpus:
                if g.utilization is not None:
                    gpu.add_metric([str(g.index)], float(g.utilization))
        yield from counters.values()
        yield from gauges.values()
        yield run_rows
        yield run_state
        yield from store.values()
        yield gpu


class MetricsServer:
    """The running endpoint: ``url`` to scrape, ``stop()`` to close it (``streamscope.init``
    replaces it when called again with another port)."""

    def __init__(self, host: str, port: int, telemetry: Optional[TelemetryHub] = None):
        try:
            from prometheus_client import CollectorRegistry, start_http_server
        except ModuleNotFoundError:
            raise ImportError("metrics_port= needs the 'prometheus_client' package, which is not installed: "
                              "pip install 'streamscope[metrics]'") from None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SnapshotCollector(telemetry or hub()))
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise OSError(f"streamscope metrics: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                          "choose another metrics_port") from None
        self.host = host
        self.port = int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


_current: Optional[MetricsServer] = None
_lock = threading.Lock()


def serve_metrics(port: Optional[int], host: str = "127.0.0.1") -> Optional[MetricsServer]:
    """Start (or replace, or with ``port=None`` stop) the session's metrics endpoint."""
    global _current
    with _lock:
        if _current is not None and (port is None or (_current.port, _current.host) != (port, host)):
            _current.stop()
            _current = None
        if port is not None and _current is None:
            _current = MetricsServer(host, port)
        return _current


def current_server() -> Optional[MetricsServer]:
    """The session's metrics endpoint, or None when none was asked for."""
    return _current
