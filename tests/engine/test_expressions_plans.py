"""Expressions stay visible in plans: named in explain() and the plan graph, fused with their
neighbouring maps, their pushable filters pushed into Parquet scans and partition pruning (also
from below a with_column), and with_columns / unnest / select_columns / filter(expr=) as in Ray
Data 2.60."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import streamscope
from streamscope.datatype import DataType
from streamscope.expressions import col, lit, udf, unnest


@pytest.fixture
def hive(tmp_path):
    for year in (2022, 2023):
        os.makedirs(tmp_path / f"year={year}")
        pq.write_table(pa.table({"a": list(range(10)), "s": [f"k{i}" for i in range(10)]}),
                       tmp_path / f"year={year}" / "part.parquet", row_group_size=5)
    return str(tmp_path)


def test_expression_filters_and_columns_show_in_explain_and_fuse():
    ds = streamscope.range(20).with_column("y", col("id") * 2).filter(expr=(col("y") > 10) & col("id").is_in([6, 7, 8]))
    result = ds._explain()
    assert "MapBatches[WithColumns(y=id * 2)]" in result.logical.text
    assert "Filter[Filter(y > 10 and id in [6, 7, 8])]" in result.logical.text
    assert "ReadRange->WithColumns(y=id * 2)->Filter(y > 10 and id in [6, 7, 8])" in result.physical.text
    graph_lines = [line for node in result.optimized.graph.nodes for line in node.lines]
    assert "WithColumns(y=id * 2)" in graph_lines and "Filter(y > 10 and id in [6, 7, 8])" in graph_lines
    assert sorted(r["id"] for r in ds.take_all()) == [6, 7, 8]


def test_builder_filters_push_into_parquet_like_strings(hive):
    by_string = streamscope.read_parquet(hive).filter(expr="a >= 7 and year == '2023'")
    by_expr = streamscope.read_parquet(hive).filter(expr=(col("a") >= 7) & (col("year") == "2023"))
    for ds in (by_string, by_expr):
        optimized = ds._explain().optimized.text
        assert "Filter[" not in optimized  # all of it went into the read
        assert "1 of 2 files pruned by year == '2023'" in optimized and "filter=a >= 7" in optimized
        assert sorted(r["a"] for r in ds.take_all()) == [7, 8, 9]


def test_string_and_math_methods_push_into_the_scan(hive):
    ds = streamscope.read_parquet(hive).filter(expr=col("s").str.starts_with("k1") | (col("a").abs() == 9))
    optimized = ds._explain().optimized.text
    assert "Filter[" not in optimized and "filter=s.str.starts_with('k1') or a.abs() == 9" in optimized
    assert sorted(r["a"] for r in ds.take_all()) == [1, 1, 9, 9]


def test_a_filter_moves_below_a_with_column_it_does_not_read(hive):
    ds = streamscope.read_parquet(hive).with_column("b", col("a") * 10).filter(expr=col("year") == "2022")
    result = ds._explain()
    assert any("PredicatePastColumns" in f and "moved below WithColumns(b=a * 10)" in f for f in result.rules_fired)
    assert "1 of 2 files pruned" in result.optimized.text
    assert sorted(r["b"] for r in ds.take_all()) == [i * 10 for i in range(10)]
    reads_new = streamscope.read_parquet(hive).with_column("b", col("a") * 10).filter(expr=col("b") > 85)
    assert not any("PredicatePastColumns" in f for f in reads_new._explain().rules_fired)
    assert sorted(r["b"] for r in reads_new.take_all()) == [90, 90]


def test_string_concatenation_filters_stay_out_of_the_scan(hive):
    ds = streamscope.read_parquet(hive).filter(expr=(col("s") + "!" == "k3!") & (col("a") < 5))
    optimized = ds._explain().optimized.text
    assert "Filter[Filter(s + '!' == 'k3!')]" in optimized and "filter=a < 5" in optimized
    assert [r["a"] for r in ds.take_all()] == [3, 3]


def test_filter_expr_takes_builder_expressions_and_strings_alike():
    ds = streamscope.range(10)
    assert sorted(r["id"] for r in ds.filter(expr=col("id") > 6).take_all()) == [7, 8, 9]
    assert sorted(r["id"] for r in ds.filter(expr=(col("id") % 4 == 0) & ~(col("id") == 4)).take_all()) == [0, 8]
    with pytest.raises(TypeError, match="gives int64 values, not booleans"):
        ds.filter(expr=col("id") + 1).take_all()


def test_select_columns_takes_names_only_as_in_ray():
    with pytest.raises(ValueError, match="select_columns requires all elements of 'cols' to be strings"):
        streamscope.range(3).select_columns([col("id")])


def test_with_columns_aliases_unnest_and_schema():
    ds = streamscope.from_items([{"a": 2, "p": {"x": 1, "y": 2}}, {"a": 3, "p": {"x": 3, "y": 4}}])
    out = ds.with_columns({"b": (col("a") + 1).alias("ignored")}, unnest(col("p"))).take_all()
    assert out == [{"a": 2, "p": {"x": 1, "y": 2}, "b": 3, "x": 1, "y": 2},
                   {"a": 3, "p": {"x": 3, "y": 4}, "b": 4, "x": 3, "y": 4}]  # the given name wins over the alias
    schema = ds.with_column("q", col("a") / 2)._plan.dag.output_schema()
    assert schema.names == ["a", "p", "q"] and schema.field("q").type == pa.float64()
    with pytest.raises(TypeError, match="unnest\\(\\) requires a struct-typed expression"):
        ds.with_columns(unnest(col("a")))
    opaque = ds.map(lambda r: r)  # schema unknown until it runs
    with pytest.raises(ValueError, match="struct type of the wrapped expression to be known"):
        opaque.with_columns(unnest(col("p")))
    with pytest.raises(TypeError, match="goes to with_columns positionally"):
        ds.with_column("z", unnest(col("p")))


@udf(return_dtype=DataType.struct([("total", DataType.int64()), ("twice", DataType.int64())]))
def features(a, b):
    return pa.StructArray.from_arrays([pc.add(a, b).combine_chunks(), pc.multiply(a, 2).combine_chunks()],
                                      names=["total", "twice"])


def test_unnest_of_a_udf_evaluates_it_once_per_block():
    ds = streamscope.from_items([{"a": i, "b": 10 * i} for i in range(4)]).with_columns(unnest(features(col("a"), col("b"))))
    assert ds._plan.dag.output_schema().names == ["a", "b", "total", "twice"]  # from the declared struct
    assert sorted((r["total"], r["twice"]) for r in ds.take_all()) == [(11 * i, 2 * i) for i in range(4)]
    assert "WithColumns(unnest(features(a, b)))" in ds._explain().logical.text


def test_with_column_replaces_in_place_and_checks_columns_before_running():
    ds = streamscope.from_items([{"a": 1, "b": "x"}])
    assert ds.with_column("a", col("a") + lit(1)).take_all() == [{"a": 2, "b": "x"}]
    with pytest.raises(KeyError, match="with_column\\('c'\\).*'nope'"):
        ds.with_column("c", col("nope").str.upper())
