"""W2 Parquet ETL: read_parquet -> filter amount > 100 -> groupby(customer_id) Sum/Count/Mean -> pandas.

Dataflow engines use ``filter(expr="amount > 100")`` (Ray Data pushes it into the Parquet read;
BENCHMARKS.md's Ray figure is with it). pandas, Polars and DuckDB run the same query in their own
idiom, reading only the two columns they need, as a user of each would write it. Every engine's
result is checked: the same number of customers, and the same total of the summed amounts.
"""

import os

try:
    from . import _harness as h
except ImportError:
    import _harness as h

ENGINES = ("streamscope", "ray", "streamscope-ray", "pandas", "polars", "duckdb")


def paths_for(args):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks import datagen

    size = "full" if args.size == "xl" else args.size
    root = Path(args.data_root) if args.data_root else None
    paths = datagen.w2_paths(size, root)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"W2 data missing ({missing[0]}); run: python -m benchmarks.datagen --size {size}")
    return paths


def dataflow(data, agg, paths):
    """The pipeline as BENCHMARKS.md writes it; ``data`` is ``streamscope`` or ``ray.data``."""
    ds = (
        data.read_parquet(paths)
        .filter(expr="amount > 100")
        .groupby("customer_id")
        .aggregate(agg.Sum("amount"), agg.Count(), agg.Mean("amount"))
    )
    return ds.to_pandas(), ds


def _pandas(paths):
    import pandas as pd

    df = pd.concat([pd.read_parquet(p, columns=["customer_id", "amount"]) for p in paths], ignore_index=True)
    df = df[df["amount"] > 100]
    return df.groupby("customer_id")["amount"].agg(["sum", "count", "mean"]).reset_index()


def _polars(paths):
    import polars as pl

    return (
        pl.scan_parquet(paths)
        .filter(pl.col("amount") > 100)
        .group_by("customer_id")
        .agg(pl.col("amount").sum().alias("sum"), pl.len().alias("count"), pl.col("amount").mean().alias("mean"))
        .collect()
        .to_pandas()
    )


def _duckdb(paths):
    import duckdb

    files = ", ".join(f"'{p}'" for p in paths)
    return duckdb.sql(
        f"SELECT customer_id, sum(amount) AS sum, count(*) AS count, avg(amount) AS mean "
        f"FROM read_parquet([{files}]) WHERE amount > 100 GROUP BY customer_id"
    ).df()


def summarize(df) -> dict:
    """Engine-independent check values: group count and the grand total of the sums."""
    sum_col = next(c for c in df.columns if str(c).lower().startswith("sum"))
    return {"groups": int(len(df)), "total_amount": round(float(df[sum_col].sum()), 2)}


def body(args):
    paths = paths_for(args)
    out = {}
    if args.engine in h.DATAFLOW_ENGINES:
        data, agg, out["init_s"] = h.init_dataflow(args.engine)
        (df, ds), wall = h.timed(lambda: dataflow(data, agg, paths))
        out["spilled_bytes"] = h.spilled_bytes(ds, args.engine)
    else:
        fn = {"pandas": _pandas, "polars": _polars, "duckdb": _duckdb}[args.engine]
        df, wall = h.timed(lambda: fn(paths))
    import pyarrow.parquet as pq

    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    out.update(summarize(df))
    out.update(wall_s=wall, rows=rows)
    return out


if __name__ == "__main__":
    import sys

    sys.exit(h.run("W2", h.parse_args("W2", ENGINES), body))
