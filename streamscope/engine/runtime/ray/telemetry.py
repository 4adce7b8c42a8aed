"""Cluster figures for telemetry, from Ray's own sources, refreshed by one background thread.

Why a poller: the executor builds a snapshot up to ten times a second and calls
``store_stats()``/``workers()``/``gpu_stats()`` from its loop thread; a gRPC round trip to every
raylet there would slow scheduling. A daemon thread asks Ray about once a second and the runtime
answers from the latest figures.

Sources (Ray 2.60), all available without Ray's dashboard:

* the GCS's per-node total and available resources: CPU/GPU slots in use, and object-store
  bytes in use (Ray schedules on ``object_store_memory`` as a resource);
* the GCS worker table: the worker processes alive on each node;
* when grpcio is installed (``ray[default]``, Ray's images), each raylet's ``GetNodeStats``
  (the call behind ``ray memory``): bytes spilled and restored since start, and which workers
  are running a task. Without it spill figures read 0 and busy workers are estimated from the
  node's CPU slots in use;
* when Ray's dashboard runs, its node summary (``/nodes?view=summary``) for measured CPU percent
  and per-GPU utilization and memory. Without it, utilization stays ``None`` (unknown), never 0.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from streamscope.engine.runtime.base import StoreStats, WorkerInfo
from streamscope.engine.runtime.ray.remote import node_label


@dataclass(frozen=True)
class NodeStats:
    """One Ray node as the dashboard shows it."""

    node_id: str
    label: str
    ip: str
    alive: bool = True
    is_head: bool = False
    cpu_total: float = 0.0
    cpu_in_use: float = 0.0
    gpu_total: float = 0.0
    gpu_in_use: float = 0.0
    cpu_utilization: Optional[float] = None
    """Measured fraction in [0, 1] (Ray's dashboard agent); None when Ray does not report it."""
    store_used_bytes: int = 0
    store_capacity_bytes: int = 0
    spilled_total_bytes: int = 0
    restored_total_bytes: int = 0
    workers: int = 0
    gpus: tuple = field(default_factory=tuple)


class ClusterTelemetry:
    def __init__(self, dashboard_url: Optional[str], interval_s: float = 1.0):
        self._dashboard_url = dashboard_url
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._stubs: dict[str, Any] = {}
        self._nodes: list[NodeStats] = []
        self._workers: list[WorkerInfo] = []
        self._store = StoreStats(backend="ray")
        self.updated_at = 0.0
        self.last_error = ""

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="streamscope-ray-telemetry", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        self._stubs.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self._interval_s)

    # ---- figures -----------------------------------------------------------------------------
    def store(self) -> StoreStats:
        with self._lock:
            return self._store

    def nodes(self) -> list[NodeStats]:
        with self._lock:
            return list(self._nodes)

    def workers(self) -> list[WorkerInfo]:
        with self._lock:
            return list(self._workers)

    def gpus(self) -> list[dict]:
        out = []
        for node in self.nodes():
            for g in node.gpus:
                out.append(dict(g, index=len(out), node=node.label))
        return out

    def refresh(self) -> None:
        """Ask Ray once; keep the previous figures when Ray does not answer."""
        try:
            import ray

            if not ray.is_initialized():
                return
            nodes, workers, store = self._collect()
        except Exception as exc:  # a node going away mid-call; the next round will do
            self.last_error = f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            self._nodes, self._workers, self._store = nodes, workers, store
            self.updated_at = time.time()

    def _collect(self) -> tuple[list[NodeStats], list[WorkerInfo], StoreStats]:
        import ray
        from ray._private import state as ray_state

        totals = ray_state.total_resources_per_node()
        available = ray_state.available_resources_per_node()
        physical = self._dashboard_nodes()
        pool = self._gcs_workers()
        nodes: list[NodeStats] = []
        workers: list[WorkerInfo] = []
        used = capacity = spilled = restored = 0
        for info in ray.nodes():
            node_id, ip = info["NodeID"], info["NodeManagerAddress"]
            if not info.get("Alive"):
                self._stubs.pop(node_id, None)
                continue
            label = node_label(node_id, ip)
            total = totals.get(node_id, info.get("Resources", {}))
            avail = available.get(node_id, {})
            cpu_total = float(total.get("CPU", 0.0))
            cpu_in_use = max(0.0, cpu_total - float(avail.get("CPU", 0.0)))
            gpu_total = float(total.get("GPU", 0.0))
            store_cap = int(total.get("object_store_memory", 0))
            # Ray counts object-store bytes as a resource: what is not available is in use.
            store_used = max(0, store_cap - int(avail.get("object_store_memory", store_cap)))
            node_spilled = node_restored = 0
            node_workers = self._raylet_workers(node_id, ip, info["NodeManagerPort"], label)
            if node_workers is not None:
                node_workers, figures = node_workers
                store_used, node_spilled, node_restored = figures
            else:
                node_workers = _busy_by_slots(pool.get(node_id, []), label, cpu_in_use)
            workers.extend(node_workers)
            used, capacity = used + store_used, capacity + store_cap
            spilled, restored = spilled + node_spilled, restored + node_restored
            phys = physical.get(node_id, {})
            nodes.append(NodeStats(
                node_id=node_id, label=label, ip=ip, alive=True,
                is_head=bool(total.get("node:__internal_head__")),
                cpu_total=cpu_total, cpu_in_use=cpu_in_use,
                gpu_total=gpu_total, gpu_in_use=max(0.0, gpu_total - float(avail.get("GPU", 0.0))),
                cpu_utilization=phys.get("cpu"), store_used_bytes=store_used, store_capacity_bytes=store_cap,
                spilled_total_bytes=node_spilled, restored_total_bytes=node_restored, workers=len(node_workers),
                gpus=tuple(phys.get("gpus") or _logical_gpus(total)),
            ))
        store = StoreStats(
            capacity_bytes=int(capacity), in_memory_bytes=int(used), spilled_now_bytes=0,
            spilled_total_bytes=int(spilled), restored_total_bytes=int(restored), backend=f"ray:{len(nodes)} nodes",
        )
        return nodes, workers, store

    def _gcs_workers(self) -> dict[str, list[int]]:
        """Alive worker processes per node, from the GCS worker table (pids)."""
        from ray._private import state as ray_state
        from ray.core.generated import common_pb2, gcs_pb2

        out: dict[str, list[int]] = {}
        for raw in ray_state.state._connect_and_get_accessor().get_worker_table():
            data = gcs_pb2.WorkerTableData.FromString(raw)
            if data.is_alive and data.worker_type == common_pb2.WORKER:
                out.setdefault(data.worker_address.node_id.hex(), []).append(data.pid)
        return out

    def _raylet_workers(self, node_id: str, ip: str, port: int, label: str) -> Optional[tuple[list[WorkerInfo], tuple]]:
        """Workers (busy or not) and store figures straight from the node's raylet, the source of
        ``ray memory``. Needs grpcio (installed with ``ray[default]``, as on Ray's images); None
        when it is missing or the raylet does not answer."""
        try:
            from ray.core.generated import common_pb2, node_manager_pb2, node_manager_pb2_grpc
        except ImportError:
            return None
        stub = self._stubs.get(node_id)
        try:
            if stub is None:
                from ray._private.grpc_utils import init_grpc_channel

                stub = node_manager_pb2_grpc.NodeManagerServiceStub(init_grpc_channel(f"{ip}:{port}"))
                self._stubs[node_id] = stub
            reply = stub.GetNodeStats(node_manager_pb2.GetNodeStatsRequest(include_memory_info=False), timeout=2.0)
        except Exception:
            self._stubs.pop(node_id, None)
            return None
        workers = []
        for cw in reply.core_workers_stats:
            if cw.worker_type != common_pb2.WORKER:
                continue
            is_actor = any(cw.actor_id)
            workers.append(WorkerInfo(f"{label}/pid-{cw.pid}", cw.pid or None, cw.num_running_tasks > 0,
                                      kind="actor" if is_actor else "task", node=label))
        s = reply.store_stats
        return workers, (int(s.object_store_bytes_used), int(s.spilled_bytes_total), int(s.restored_bytes_total))

    def _dashboard_nodes(self) -> dict[str, dict]:
        """Measured CPU percent and GPUs per node from Ray's dashboard, when it runs."""
        if not self._dashboard_url:
            return {}
        try:
            with urllib.request.urlopen(f"{self._dashboard_url}/nodes?view=summary", timeout=1.0) as resp:
                payload = json.loads(resp.read())
        except Exception:
            return {}
        out = {}
        for entry in (payload.get("data") or {}).get("summary") or []:
            node_id = ((entry.get("raylet") or {}).get("nodeId")) or entry.get("nodeId")
            if not node_id:
                continue
            cpu = entry.get("cpu")
            gpus = []
            for g in entry.get("gpus") or []:
                util = g.get("utilizationGpu", g.get("utilization_gpu"))
                used = g.get("memoryUsed", g.get("memory_used"))
                total = g.get("memoryTotal", g.get("memory_total"))
                gpus.append({
                    "name": g.get("name", ""),
                    "utilization": None if util is None else float(util) / 100.0,
                    "memory_used_bytes": None if used is None else int(used) * (1 << 20),
                    "memory_total_bytes": None if total is None else int(total) * (1 << 20),
                })
            out[node_id] = {"cpu": None if cpu is None else float(cpu) / 100.0, "gpus": gpus}
        return out

    def with_blocks(self, num_blocks: int) -> StoreStats:
        return replace(self.store(), num_blocks=num_blocks)


def _busy_by_slots(pids: list[int], label: str, cpu_in_use: float) -> list[WorkerInfo]:
    """Without the raylet's per-worker figures, a node's busy count is its CPU slots in use
    (which of its workers is busy is not known, so the first ones are marked)."""
    busy = int(round(cpu_in_use))
    return [WorkerInfo(f"{label}/pid-{pid}", pid, i < busy, kind="task", node=label)
            for i, pid in enumerate(sorted(pids))]


def _logical_gpus(total: dict) -> list[dict]:
    """GPUs Ray schedules on a node whose utilization nobody measures: listed, utilization None."""
    return [{"name": "GPU", "utilization": None, "memory_used_bytes": None, "memory_total_bytes": None}
            for _ in range(int(total.get("GPU", 0) or 0))]
