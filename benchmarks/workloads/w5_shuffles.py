"""W5 shuffles over range(N) plus a random float column: sort -> take(10), random_shuffle -> count,
groupby over N/10 distinct int keys (1,000,000 at full size) with Sum -> count.

The random column is a hash of the row id (splitmix64 -> [0, 1)), not a per-batch RNG draw, so
every engine, whatever its batch boundaries, sorts the very same values, and the sort's answer can
be checked exactly. Making the column is inside the timed region for every engine alike. DuckDB
and Polars would turn "sort then take 10" into a top-k; their variants materialize the full sort
so all engines do the same work.
"""

try:
    from . import _harness as h
except ImportError:
    import _harness as h

ENGINES = ("streamscope", "ray", "pandas", "polars", "duckdb")
VARIANTS = ("sort", "shuffle", "groupby")
N_BY_SIZE = {"tiny": 20_000, "small": 500_000, "full": 10_000_000, "xl": 10_000_000}


def rand01(ids):
    """splitmix64(id) -> float64 in [0, 1): deterministic per row, independent of batching."""
    import numpy as np

    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def make_columns(n_keys):
    def add(batch):
        ids = batch["id"]
        return {"id": ids, "r": rand01(ids), "key": ids % n_keys}

    return add


def dataflow(data, agg, n, variant):
    base = data.range(n).map_batches(make_columns(max(1, n // 10)))
    if variant == "sort":
        ds = base.sort("r")
        return [int(row["id"]) for row in ds.take(10)], ds
    if variant == "shuffle":
        ds = base.random_shuffle()
        return ds.count(), ds
    ds = base.groupby("key").aggregate(agg.Sum("r"))
    return ds.count(), ds


def _frame(n):
    import numpy as np

    ids = np.arange(n, dtype=np.int64)
    return make_columns(max(1, n // 10))({"id": ids})


def _pandas(n, variant):
    import pandas as pd

    df = pd.DataFrame(_frame(n))
    if variant == "sort":
        return df.sort_values("r").head(10)["id"].tolist()
    if variant == "shuffle":
        return len(df.sample(frac=1.0, random_state=0))
    return len(df.groupby("key")["r"].sum())


def _polars(n, variant):
    import polars as pl

    df = pl.DataFrame(_frame(n))
    if variant == "sort":
        return df.sort("r")["id"].head(10).to_list()  # eager: a full sort, then the head
    if variant == "shuffle":
        return df.sample(fraction=1.0, shuffle=True, seed=0).height
    return df.group_by("key").agg(pl.col("r").sum()).height


def _duckdb(n, variant):
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.register("t", pa.table(_frame(n)))
    if variant == "sort":
        con.execute("CREATE TEMP TABLE s AS SELECT * FROM t ORDER BY r")
        return [r[0] for r in con.execute("SELECT id FROM s LIMIT 10").fetchall()]
    if variant == "shuffle":
        con.execute("CREATE TEMP TABLE s AS SELECT * FROM t ORDER BY random()")
        return con.execute("SELECT count(*) FROM s").fetchall()[0][0]
    return con.execute("SELECT count(*) FROM (SELECT key, sum(r) FROM t GROUP BY key)").fetchall()[0][0]


def expected(n, variant):
    import numpy as np

    if variant == "sort":
        r = rand01(np.arange(n, dtype=np.int64))
        top = np.argpartition(r, 10)[:10] if n > 10 else np.arange(n)
        return [int(i) for i in top[np.argsort(r[top])]]
    return n if variant == "shuffle" else max(1, n // 10)


def body(args):
    n = N_BY_SIZE[args.size]
    out = {}
    if args.engine in h.DATAFLOW_ENGINES:
        data, agg, out["init_s"] = h.init_dataflow(args.engine)
        (res, ds), wall = h.timed(lambda: dataflow(data, agg, n, args.variant))
        out["spilled_bytes"] = h.spilled_bytes(ds, args.engine)
    else:
        fn = {"pandas": _pandas, "polars": _polars, "duckdb": _duckdb}[args.engine]
        res, wall = h.timed(lambda: fn(n, args.variant))
    want = expected(n, args.variant)
    if res != want:
        raise AssertionError(f"{args.engine} {args.variant}: got {res!r}, expected {want!r}")
    out.update(wall_s=wall, rows=n)
    return out


if __name__ == "__main__":
    import sys

    sys.exit(h.run("W5", h.parse_args("W5", ENGINES, VARIANTS), body))
