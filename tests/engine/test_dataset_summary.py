"""Dataset.summary(): Ray Data 2.60's statistics by column type and layout, with expected values
from pandas, numpy and collections.Counter."""

from __future__ import annotations

import collections
import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import streamscope
from streamscope.aggregate import Count, Sum

ROWS = [
    {"age": 25, "salary": 50000.0, "name": "Alice", "when": datetime.date(2024, 1, 3)},
    {"age": 30, "salary": 60000.0, "name": None, "when": datetime.date(2023, 5, 1)},
    {"age": 0, "salary": None, "name": "Bob", "when": None},
    {"age": 41, "salary": 0.0, "name": "Bob", "when": datetime.date(2025, 2, 9)},
]


def _ds():
    return streamscope.from_items(ROWS, override_num_blocks=2)


def _stats(summary, column) -> dict:
    frame = summary.get_column_stats(column)
    return dict(zip(frame["statistic"], frame["value"]))


def test_numeric_columns_get_rays_statistics_with_pandas_values():
    frame = pd.DataFrame(ROWS)
    summary = _ds().summary()
    for column in ("age", "salary"):
        got, col = _stats(summary, column), frame[column]
        assert got["count"] == len(col)  # nulls counted, as Ray's count(ignore_nulls=False)
        assert got["mean"] == pytest.approx(col.mean())
        assert (got["min"], got["max"]) == (col.min(), col.max())
        assert got["std"] == pytest.approx(col.std(ddof=0))
        assert got["missing_pct"] == pytest.approx(100 * col.isna().mean())
        assert got["zero_pct"] == pytest.approx(100 * (col.dropna() == 0).mean())
        assert got["approx_quantile[0]"] == pytest.approx(np.median(col.dropna()), rel=0.5)


def test_string_and_date_columns_get_top_values_or_ranges():
    summary = _ds().summary()
    name = _stats(summary, "name")
    assert name["count"] == 4 and name["missing_pct"] == pytest.approx(25.0)
    expected = collections.Counter(r["name"] for r in ROWS if r["name"] is not None)
    tops = [v for k, v in sorted(name.items()) if k.startswith("approx_topk[")]
    assert {t["name"]: t["count"] for t in tops} == dict(expected)
    assert tops[0] == {"name": "Bob", "count": 2}  # most frequent first
    when = _stats(summary, "when")
    dates = [r["when"] for r in ROWS if r["when"] is not None]
    assert (when["min"], when["max"]) == (min(dates), max(dates))
    assert pd.isna(when["mean"]) and when["missing_pct"] == pytest.approx(25.0)  # no mean for dates


def test_statistics_that_keep_the_column_type_stay_in_it():
    summary = _ds().summary(columns=["age"])
    matching = summary._stats_matching_column_dtype
    assert matching.schema.field("age").type == pa.int64()  # min and max of an int column are ints
    assert sorted(matching.column("statistic").to_pylist()) == ["count", "max", "min"]  # int64, as the column
    assert summary.columns == ["age"] and summary.dataset_schema.field("age").type == pa.int64()
    assert list(summary.to_pandas().columns) == ["statistic", "age"]


def test_a_mapping_by_arrow_type_replaces_the_defaults():
    summary = _ds().summary(columns=["age"], override_dtype_agg_mapping={
        pa.int64(): lambda col: [Count(on=col), Sum(on=col)]})
    assert _stats(summary, "age") == {"count": 4, "sum": sum(r["age"] for r in ROWS)}


def test_a_mapping_by_ray_datatype_or_category_replaces_the_defaults():
    from streamscope.datatype import DataType

    by_dtype = _ds().summary(columns=["age"], override_dtype_agg_mapping={
        DataType.int64(): lambda col: [Count(on=col), Sum(on=col)]})
    assert _stats(by_dtype, "age") == {"count": 4, "sum": sum(r["age"] for r in ROWS)}
    numpy_backed = _ds().summary(columns=["age"], override_dtype_agg_mapping={
        DataType.from_numpy("int64"): lambda col: [Count(on=col)]})  # another type system: no match, as Ray
    assert "sum" not in _stats(numpy_backed, "age") and "mean" in _stats(numpy_backed, "age")


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match=r"columns \['nope'\] not found"):
        _ds().summary(columns=["nope"])
    with pytest.raises(TypeError, match="keys must be DataTypes such as DataType.int64"):
        _ds().summary(override_dtype_agg_mapping={"int64": lambda col: [Count(on=col)]})
    with pytest.raises(ValueError, match="Column 'nope' not found in summary tables"):
        _ds().summary(columns=["age"]).get_column_stats("nope")


def test_it_renders_as_a_table_in_notebooks():
    html = _ds().summary(columns=["age"])._repr_html_()
    assert html.startswith("<table") and "zero_pct" in html
