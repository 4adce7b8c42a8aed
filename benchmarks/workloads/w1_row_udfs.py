"""W1 row UDFs: range(N) -> map -> filter -> map_batches -> add key -> groupby(key).count() -> count().

The dataflow engines run the pipeline exactly as BENCHMARKS.md writes it (the same lambdas, one
code path for streamscope and Ray Data). ``plain`` is the floor the goal quotes: a Python loop over
the rows doing the same arithmetic. pandas, Polars and DuckDB compute the same answer vectorized.
Every engine returns the number of groups, checked against the closed form below.
"""

try:
    from . import _harness as h
except ImportError:
    import _harness as h

ENGINES = ("streamscope", "ray", "streamscope-ray", "pandas", "polars", "duckdb", "plain")
N_BY_SIZE = {"tiny": 10_000, "small": 100_000, "full": 2_000_000, "xl": 10_000_000}


def expected_groups(n: int) -> int:
    """Keys are floor(sqrt(2*id) / 10) over ids with 2*id % 100 == 0: distinct values of that."""
    return len({int((2 * i) ** 0.5 // 10) for i in range(0, n, 50)})


def _dataflow(data, n):
    ds = (
        data.range(n)
        .map(lambda x: {"value": x["id"] * 2})
        .filter(lambda r: r["value"] % 100 == 0)
        .map_batches(lambda b: {"processed": b["value"] ** 0.5}, batch_size=1000)
        .add_column("key", lambda b: b["processed"] // 10, batch_format="numpy")
        .groupby("key")
        .count()
    )
    return ds.count(), ds


def _plain(n):
    counts = {}
    for i in range(n):
        row = {"id": i}
        value = row["id"] * 2
        if value % 100 == 0:
            key = (value ** 0.5) // 10
            counts[key] = counts.get(key, 0) + 1
    return len(counts)


def _pandas(n):
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"value": np.arange(n, dtype=np.int64) * 2})
    df = df[df["value"] % 100 == 0]
    df = pd.DataFrame({"processed": df["value"] ** 0.5})
    df["key"] = df["processed"] // 10
    return len(df.groupby("key").size())


def _polars(n):
    import polars as pl

    out = (
        pl.LazyFrame({"id": pl.int_range(0, n, eager=True)})
        .select(value=pl.col("id") * 2)
        .filter(pl.col("value") % 100 == 0)
        .select(processed=pl.col("value") ** 0.5)
        .with_columns(key=pl.col("processed") // 10)
        .group_by("key")
        .len()
        .collect()
    )
    return out.height


def _duckdb(n):
    import duckdb

    q = f"""
        SELECT count(*) FROM (
          SELECT key, count(*) FROM (
            SELECT floor(sqrt(value) / 10) AS key FROM (SELECT range * 2 AS value FROM range({n}))
            WHERE value % 100 = 0)
          GROUP BY key)"""
    return duckdb.sql(q).fetchall()[0][0]


def body(args):
    n = N_BY_SIZE[args.size]
    out = {}
    if args.engine in h.DATAFLOW_ENGINES:
        data, _agg, out["init_s"] = h.init_dataflow(args.engine)
        (groups, ds), wall = h.timed(lambda: _dataflow(data, n))
        out["spilled_bytes"] = h.spilled_bytes(ds, args.engine)
    else:
        fn = {"plain": _plain, "pandas": _pandas, "polars": _polars, "duckdb": _duckdb}[args.engine]
        groups, wall = h.timed(lambda: fn(n))
    want = expected_groups(n)
    if groups != want:
        raise AssertionError(f"{args.engine}: {groups} groups, expected {want}")
    out.update(wall_s=wall, rows=n, groups=groups)
    return out


if __name__ == "__main__":
    import sys

    sys.exit(h.run("W1", h.parse_args("W1", ENGINES), body))
