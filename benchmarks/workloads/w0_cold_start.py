"""W0 cold start and W0b warm small query.

W0's figure is the whole process: from the moment the process was launched (interpreter start and
every import included) to the first query's result in hand. The runner passes its launch instant
in ``BENCH_LAUNCH_TIME`` (time.time() just before it spawns us); run by hand, the process age from
/proc (10 ms resolution) is used instead. psutil's create_time is not: it rounds boot time to a
whole second.
W0b is the same query again in the same, now warm, process (reported as ``warm_s``).
Peers run the equivalent 1000-row query with their own idioms; ``plain`` is Python itself.
"""

import time

_T0_WALL = time.time()

try:
    from . import _harness as h
except ImportError:  # run as a script, which is how the runner starts it (no package import)
    import _harness as h

ENGINES = ("streamscope", "ray", "pandas", "polars", "duckdb", "plain")
N = 1000


def _query(engine, data):
    if engine in h.DATAFLOW_ENGINES:
        return data.range(N).map(lambda r: {"id": r["id"] * 2}).take(5)
    if engine == "pandas":
        import pandas as pd

        return pd.DataFrame({"id": range(N)}).assign(id=lambda d: d["id"] * 2).head(5).to_dict("records")
    if engine == "polars":
        import polars as pl

        return pl.DataFrame({"id": range(N)}).select(pl.col("id") * 2).head(5).to_dicts()
    if engine == "duckdb":
        import duckdb

        return duckdb.sql(f"SELECT range * 2 AS id FROM range({N}) LIMIT 5").fetchall()
    return [{"id": i * 2} for i in range(N)][:5]


def _process_age_s() -> float:
    """Seconds since this process started, from /proc (Linux), else since this module loaded."""
    import os

    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time() - _T0_WALL


def body(args):
    import os

    launch = os.environ.get("BENCH_LAUNCH_TIME")
    created = float(launch) if launch else time.time() - _process_age_s()
    data, init_s = None, None
    if args.engine in h.DATAFLOW_ENGINES:
        data, _agg, init_s = h.init_dataflow(args.engine)
    first = _query(args.engine, data)
    done = time.time()
    rows = len(first)
    if rows != 5:
        raise AssertionError(f"expected 5 rows, got {first!r}")
    t1 = time.perf_counter()
    _query(args.engine, data)
    warm_s = time.perf_counter() - t1
    return {
        "wall_s": done - created,
        "rows": rows,
        "in_script_s": done - _T0_WALL,
        "start_clock": "runner" if launch else "proc",
        "init_s": init_s,
        "warm_s": warm_s,
        "result_sample": str(first[:2]),
    }


if __name__ == "__main__":
    import sys

    sys.exit(h.run("W0", h.parse_args("W0", ENGINES), body))
