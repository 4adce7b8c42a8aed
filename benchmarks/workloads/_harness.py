"""What every workload script shares: arguments, engine start-up, the RSS sampler, the JSON line.

Why one harness: each measurement must run in a fresh process and report the same fields the same
way (wall, rows, peak RSS of the whole process tree, spilled bytes, ok/error), or the runner's
ratios compare different things. Kept free of heavy imports (no pandas, no pyarrow) because W0
times the whole process, imports included.

Protocol: the script prints exactly one line that starts with ``RESULT_PREFIX`` followed by a JSON
object; everything else it (or an engine) prints is noise the runner ignores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any, Callable, Optional

RESULT_PREFIX = "BENCH_RESULT "
SIZES = ("tiny", "small", "full", "xl")
DATAFLOW_ENGINES = ("streamscope", "ray", "streamscope-ray")
SAMPLE_INTERVAL_S = 0.05

_T_IMPORT = time.perf_counter()


class RssSampler(threading.Thread):
    """Peak RSS summed over this process and all its descendants, sampled every 50 ms.

    Shared-memory pages are counted in every process that maps them (BENCHMARKS.md says so), so
    engines with a shared-memory store are charged more than once; the figure is an upper bound.
    """

    def __init__(self, interval_s: float = SAMPLE_INTERVAL_S):
        super().__init__(name="rss-sampler", daemon=True)
        import psutil

        self._psutil = psutil
        self._root = psutil.Process()
        self.interval_s = interval_s
        self.peak = 0
        self.samples = 0
        self._stop_evt = threading.Event()

    def sample(self) -> int:
        total = 0
        procs = [self._root]
        try:
            procs += self._root.children(recursive=True)
        except self._psutil.Error:
            pass
        for p in procs:
            try:
                total += p.memory_info().rss
            except self._psutil.Error:  # exited between listing and reading
                pass
        self.samples += 1
        if total > self.peak:
            self.peak = total
        return total

    def run(self) -> None:
        while not self._stop_evt.is_set():
            self.sample()
            self._stop_evt.wait(self.interval_s)

    def stop(self) -> int:
        self._stop_evt.set()
        self.sample()
        return self.peak


def parse_args(workload: str, engines: tuple, variants: tuple = ("",), argv=None):
    ap = argparse.ArgumentParser(description=f"benchmark workload {workload}")
    ap.add_argument("--engine", required=True, choices=engines)
    ap.add_argument("--size", default="small", choices=SIZES)
    ap.add_argument("--variant", default=variants[0], choices=variants)
    ap.add_argument("--data-root", default=None, help="benchmark data root (default benchmarks/data)")
    ap.add_argument(
        "--time-limit", type=float, default=0.0,
        help="seconds; past it the script reports error=timeout and exits (0 = none)",
    )
    return ap.parse_args(argv)


def emit(record: dict) -> None:
    sys.stdout.write(RESULT_PREFIX + json.dumps(record, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def kill_descendants() -> None:
    """End every process this one started (engine daemons included) so none outlives the run."""
    import psutil

    try:
        kids = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for p in kids:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(kids, timeout=5)


# ---- engines -------------------------------------------------------------------------------------


class _Missing:
    """Stands in for a module that failed to import; raises the original error when used, so a
    workload that never touches it (W0, W1) still runs."""

    def __init__(self, name: str, exc: BaseException):
        self._name, self._exc = name, exc

    def __getattr__(self, attr):
        raise ImportError(f"{self._name} is not available: {self._exc}") from self._exc


def init_dataflow(engine: str, object_store_memory: Optional[int] = None):
    """Import the engine's ``data`` module (``streamscope`` or ``ray.data``) and start it.

    Returns (data_module, aggregate_module, init_s). Ray's ``ray.init`` is timed apart and left
    out of the workload's wall time (reported as init_s), which favours Ray: a conservative choice.
    """
    import importlib

    t0 = time.perf_counter()
    if engine == "ray":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        import ray

        kwargs: dict[str, Any] = dict(num_cpus=2, include_dashboard=False, log_to_driver=False)
        if object_store_memory:
            kwargs["object_store_memory"] = int(object_store_memory)
        ray.init(**kwargs)
        data = importlib.import_module("ray.data")
        agg = importlib.import_module("ray.data.aggregate")
    elif engine in ("streamscope", "streamscope-ray"):
        data = importlib.import_module("streamscope")
        try:
            agg = importlib.import_module("streamscope.aggregate")
        except ImportError as exc:
            agg = _Missing("streamscope.aggregate", exc)
        if object_store_memory and engine == "streamscope":
            data.DataContext.get_current().object_store_capacity_bytes = int(object_store_memory)
        if engine == "streamscope-ray":  # streamscope's executor on the same local Ray as "ray"
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            kwargs = dict(num_cpus=2, include_dashboard=False, log_to_driver=False)
            if object_store_memory:
                kwargs["object_store_memory"] = int(object_store_memory)
            data.init(runtime="ray", address="local", **kwargs)
    else:
        raise ValueError(f"{engine} is not a dataflow engine")
    ctx = data.DataContext.get_current()
    for name, value in (("enable_progress_bars", False), ("enable_operator_progress_bars", False),
                        ("print_on_execution_start", False)):
        if hasattr(ctx, name):
            setattr(ctx, name, value)
    return data, agg, time.perf_counter() - t0


def shutdown_dataflow(engine: str) -> None:
    if engine == "streamscope-ray":
        from streamscope.engine.api.init import shutdown

        shutdown()
    if engine == "ray":
        import ray

        ray.shutdown()


def spilled_bytes(ds: Any, engine: str) -> Optional[int]:
    """Spilled bytes of a finished run, or None when the engine does not say.

    streamscope: ``ds.stats()`` returns a structured object; look for the store's spilled total
    by name (guarded, so this works before that object lands). Ray: its stats text carries a
    "Spilled to disk: N MB" line at the dataset level when anything spilled.
    """
    if ds is None or not hasattr(ds, "stats"):
        return None
    try:
        stats = ds.stats()
    except Exception:
        return None
    if engine.startswith("streamscope"):
        for path in (("spilled_bytes",), ("store", "spilled_total_bytes"), ("spilled_total_bytes",),
                     ("snapshot", "store", "spilled_total_bytes")):
            obj = stats
            for attr in path:
                obj = getattr(obj, attr, None)
                if obj is None:
                    break
            if isinstance(obj, (int, float)):
                return int(obj)
        return None
    import re

    m = re.search(r"Spilled to disk:\s*([\d.]+)\s*(B|KB|KiB|MB|MiB|GB|GiB)", str(stats))
    if not m:
        return 0 if "Spilled" not in str(stats) else None
    unit = {"B": 1, "KB": 1e3, "KiB": 1 << 10, "MB": 1e6, "MiB": 1 << 20, "GB": 1e9, "GiB": 1 << 30}
    return int(float(m.group(1)) * unit[m.group(2)])


# ---- the run -------------------------------------------------------------------------------------


def run(workload: str, args, body: Callable[[Any], dict]) -> int:
    """Run ``body(args)`` under the sampler and the time limit; print the one result line.

    ``body`` returns a dict with at least ``wall_s`` and ``rows``; anything else it returns (init_s,
    spilled_bytes, check values) is kept in the record.
    """
    record: dict[str, Any] = {
        "workload": workload,
        "variant": getattr(args, "variant", "") or "",
        "engine": args.engine,
        "size": args.size,
        "pid": os.getpid(),
    }
    sampler = RssSampler()
    sampler.start()
    done = threading.Event()
    if args.time_limit and args.time_limit > 0:
        def _watchdog() -> None:
            if done.wait(args.time_limit):
                return
            record.update(ok=False, error="timeout", wall_s=None, rows=None, rows_per_s=None,
                          time_limit_s=args.time_limit, peak_rss_tree_bytes=sampler.stop(),
                          spilled_bytes=None)
            emit(record)
            kill_descendants()
            os._exit(3)

        threading.Thread(target=_watchdog, name="watchdog", daemon=True).start()
    code = 0
    try:
        out = body(args)
        wall = out.pop("wall_s")
        rows = out.pop("rows")
        record.update(ok=True, error=None, wall_s=wall, rows=rows,
                      rows_per_s=(rows / wall) if wall and rows is not None else None)
        record.setdefault("spilled_bytes", None)
        record.update(out)
    except BaseException as exc:  # report, never hang or die silently
        import traceback

        tb = traceback.format_exc(limit=8)
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:2000], traceback=tb[-4000:],
                      wall_s=None, rows=None, rows_per_s=None, spilled_bytes=None)
        code = 1
    done.set()
    record["peak_rss_tree_bytes"] = sampler.stop()
    emit(record)
    try:
        shutdown_dataflow(args.engine)
    except Exception:
        pass
    return code


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    res = fn()
    return res, time.perf_counter() - t0
