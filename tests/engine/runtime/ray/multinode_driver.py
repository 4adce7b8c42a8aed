"""Driver run by test_ray_multinode.py in its own process: connects to a two-node Ray cluster,
runs a pipeline whose tasks land on both nodes, kills the worker processes of the non-head node
mid-run, and prints what happened as JSON on a line starting with ``REPORT_PREFIX`` (Ray may
print its own log lines to stdout after it, while shutting down)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import numpy as np

import streamscope

ROWS, BLOCKS = 800, 40
REPORT_PREFIX = "STREAMSCOPE-REPORT "


def work(batch):
    time.sleep(0.4)
    return {"id": batch["id"], "sq": batch["id"] ** 2}


def main(address: str) -> None:
    rt = streamscope.init(address=address, log_to_driver=False)
    deadline = time.time() + 90
    while time.time() < deadline:
        rt.refresh_telemetry()
        if len(rt.nodes()) == 2:
            break
        time.sleep(0.5)
    nodes = rt.nodes()
    other = [n.label for n in nodes if not n.is_head]
    seen_workers: set[str] = set()
    killed: list[int] = []

    killed_at: list[float] = []

    def killer() -> None:
        """As soon as the second node has worker processes, kill them all (mid-run)."""
        end = time.time() + 60
        while time.time() < end and not killed:
            time.sleep(0.5)
            rt.refresh_telemetry()
            for w in rt.workers():
                seen_workers.add(w.node)
                if other and w.node == other[0] and w.pid:
                    try:
                        os.kill(w.pid, signal.SIGKILL)
                        killed.append(w.pid)
                    except ProcessLookupError:
                        pass
        killed_at.append(time.time() - t0)

    thread = threading.Thread(target=killer, daemon=True)
    ds = streamscope.range(ROWS, override_num_blocks=BLOCKS).map_batches(work)
    t0 = time.time()
    thread.start()
    df = ds.to_pandas()
    thread.join()
    elapsed = time.time() - t0
    spans = ds._last_run.final_snapshot.timeline
    ok = sorted(df["id"].tolist()) == list(range(ROWS)) and bool(
        (np.sort(df["sq"].to_numpy()) == np.arange(ROWS) ** 2).all())
    print(REPORT_PREFIX + json.dumps({
        "nodes": [n.label for n in nodes], "other": other, "killed": killed,
        "span_nodes": sorted({s.worker.split("/")[0] for s in spans}), "worker_nodes": sorted(seen_workers),
        "killed_at_s": round(killed_at[0], 2) if killed_at else None, "exact": ok, "rows": len(df), "elapsed_s": round(elapsed, 2),
        "store_backend": rt.store_stats().backend, "cpu_total": rt.total_resources().cpu,
    }), flush=True)
    streamscope.engine.api.init.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
