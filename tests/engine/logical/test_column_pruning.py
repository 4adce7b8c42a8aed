"""Column pruning: an aggregation over a Parquet read decodes only the columns it needs."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import streamscope
from streamscope.aggregate import Count, Mean, Sum


def _write(tmp_path):
    table = pa.table({
        "customer_id": [1, 2, 1, 3, 2, 1],
        "amount": [150.0, 50.0, 120.0, 300.0, 101.0, 99.0],
        "category": ["a", "b", "c", "d", "e", "f"],
        "note": ["x"] * 6,
    })
    path = tmp_path / "orders.parquet"
    pq.write_table(table, path)
    return str(path), table.to_pandas()


def test_groupby_aggregate_reads_only_keys_and_aggregated_columns(tmp_path):
    path, df = _write(tmp_path)
    ds = streamscope.read_parquet(path).filter(expr="amount > 100").groupby("customer_id").aggregate(
        Sum("amount"), Count(), Mean("amount"))
    explained = ds._explain()
    assert "columns=['customer_id', 'amount']" in explained.optimized.text
    assert any(r.startswith("ColumnPruning") for r in explained.rules_fired)

    got = ds.to_pandas().sort_values("customer_id").reset_index(drop=True)
    kept = df[df.amount > 100]
    expected = kept.groupby("customer_id").amount.agg(["sum", "count", "mean"]).reset_index()
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    assert got["sum(amount)"].tolist() == expected["sum"].tolist()
    assert got["count()"].tolist() == expected["count"].tolist()
    assert got["mean(amount)"].tolist() == expected["mean"].tolist()


def test_custom_aggregate_keeps_every_column(tmp_path):
    path, _ = _write(tmp_path)
    from streamscope.aggregate import AggregateFn

    longest = AggregateFn(init=lambda k: 0, accumulate_row=lambda a, r: max(a, len(r["category"]) + len(r["note"])),
                          merge=max, name="longest")
    ds = streamscope.read_parquet(path).groupby("customer_id").aggregate(longest)
    assert "columns=" not in ds._explain().optimized.text
    assert sorted(r["longest"] for r in ds.take_all()) == [2, 2, 2]


def test_pruning_stops_at_user_functions(tmp_path):
    path, _ = _write(tmp_path)
    ds = streamscope.read_parquet(path).map(lambda r: {**r, "amount": r["amount"] * 2}).groupby("customer_id").sum("amount")
    assert "columns=" not in ds._explain().optimized.text
    got = pd.DataFrame(ds.take_all()).sort_values("customer_id")
    assert got["sum(amount)"].tolist() == [2 * (150.0 + 120.0 + 99.0), 2 * (50.0 + 101.0), 2 * 300.0]
