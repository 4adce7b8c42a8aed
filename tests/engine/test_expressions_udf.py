"""``@udf`` / ``@pyarrow_udf`` expressions (Ray Data 2.60's decorators): vectorized calls per block
inside with_column and filter, callable classes on actors, Ray's argument and result rules, and
filters on them staying after the read while their pushable conjuncts go into the scan."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import streamscope
from streamscope import ActorPoolStrategy, TaskPoolStrategy
from streamscope.datatype import DataType
from streamscope.expressions import col, lit, pyarrow_udf, udf


@udf(return_dtype=DataType.int64())
def add_one(x):
    return pc.add(x, 1)


@udf(return_dtype=DataType.string())
def arg_types(x, k):
    return pa.array([f"{type(x).__name__}/{type(k).__name__}:{k}"] * len(x))


@udf(return_dtype=DataType.string())
def full_name(first, last):
    return pc.binary_join_element_wise(first, last, " ")


@udf(return_dtype=DataType.int64())
def as_numpy(x):
    return np.asarray(x) * 3


@udf(return_dtype=DataType.int64())
def as_pandas(x):
    return pd.Series(x.to_pylist()) - 1


@udf(return_dtype=DataType.int64())
def as_list(x):
    return [1] * len(x)


@udf(return_dtype=DataType.int64())
def too_short(x):
    return pa.array([1])


@udf(return_dtype=DataType.int64())
class Counter:
    """One instance per worker: counts the blocks it saw and says which process it lives in."""

    def __init__(self, offset):
        self.offset, self.calls = offset, 0

    def __call__(self, x):
        self.calls += 1
        return pa.array([self.offset * 1000 + self.calls] * len(x))


@udf(return_dtype=DataType.int64())
class Pid:
    def __init__(self):
        self.pid = os.getpid()

    def __call__(self, x):
        return pa.array([self.pid] * len(x))


@udf(return_dtype=DataType.int64())
class AsyncAdd:
    def __init__(self, k):
        self.k = k

    async def __call__(self, x):
        return pc.add(x, self.k)


def _sorted(ds, key="id"):
    return sorted(ds.take_all(), key=lambda r: r[key])


def test_a_udf_gets_chunked_arrays_and_literal_values():
    ds = streamscope.range(6, override_num_blocks=2)
    assert [r["y"] for r in _sorted(ds.with_column("y", add_one(col("id"))))] == [i + 1 for i in range(6)]
    assert {r["t"] for r in ds.with_column("t", arg_types(col("id"), 7)).take_all()} == {"ChunkedArray/int:7"}
    kw = ds.with_column("t", arg_types(col("id"), k=lit("z"))).take_all()
    assert {r["t"] for r in kw} == {"ChunkedArray/str:z"}
    people = streamscope.from_items([{"id": 0, "first": "Ada", "last": "Lovelace"}, {"id": 1, "first": "Alan",
                                                                                      "last": "Turing"}])
    assert [r["n"] for r in _sorted(people.with_column("n", full_name(col("first"), col("last"))))] == [
        "Ada Lovelace", "Alan Turing"]


def test_udfs_compose_with_operators_and_return_numpy_or_pandas():
    ds = streamscope.range(4)
    out = _sorted(ds.with_columns({"a": add_one(col("id")) * 2, "b": as_numpy(col("id")), "c": as_pandas(col("id")),
                                   "d": add_one(add_one(col("id"))) > 3}))
    assert [r["a"] for r in out] == [(i + 1) * 2 for i in range(4)]
    assert [r["b"] for r in out] == [i * 3 for i in range(4)]
    assert [r["c"] for r in out] == [i - 1 for i in range(4)]
    assert [r["d"] for r in out] == [i + 2 > 3 for i in range(4)]


def test_a_udf_returning_the_wrong_thing_is_named():
    with pytest.raises(TypeError, match="UDF 'as_list' returned invalid type list"):
        streamscope.range(3).with_column("y", as_list(col("id"))).take_all()
    with pytest.raises(ValueError, match="UDF 'too_short' returned 1 values for a block of 3 rows"):
        streamscope.range(3, override_num_blocks=1).with_column("y", too_short(col("id"))).take_all()


def test_callable_classes_run_on_actors_with_one_instance_each():
    ds = streamscope.range(8, override_num_blocks=4).with_column("c", Counter(5)(col("id")))
    assert isinstance(ds._plan.dag.compute, ActorPoolStrategy)  # chosen for callable classes, as Ray
    one_actor = streamscope.range(8, override_num_blocks=4).with_column(
        "c", Counter(5)(col("id")), compute=ActorPoolStrategy(size=1))
    calls = sorted({r["c"] for r in one_actor.take_all()})
    assert calls == [5001, 5002, 5003, 5004]  # one instance saw every block in turn
    pids = {r["p"] for r in streamscope.range(4).with_column("p", Pid()(col("id")),
                                                             compute=ActorPoolStrategy(size=1)).take_all()}
    assert len(pids) == 1 and pids != {os.getpid()}  # built in the actor, not on the driver
    tasks = streamscope.range(4).with_column("p", Pid()(col("id")), compute=TaskPoolStrategy())
    assert isinstance(tasks._plan.dag.compute, TaskPoolStrategy) and len(tasks.take_all()) == 4


def test_an_async_callable_class_is_awaited_per_block():
    out = _sorted(streamscope.range(4).with_column("y", AsyncAdd(10)(col("id"))))
    assert [r["y"] for r in out] == [i + 10 for i in range(4)]


def test_pyarrow_udf_converts_numpy_inputs_to_arrow():
    @pyarrow_udf(return_dtype=DataType.string())
    def kind(x):
        return pa.array([type(x).__name__] * len(x))

    table = pa.table({"a": [1, 2]})
    assert kind(col("a")).evaluate(table).to_pylist() == ["ChunkedArray"] * 2
    assert kind._original_fn.__name__ == "kind" and kind(np.array([1, 2]))._call([np.array([1, 2])], {}).type == pa.string()


def test_udf_filters_stay_after_the_read_and_their_pushable_parts_go_into_it(tmp_path):
    pq.write_table(pa.table({"a": list(range(10)), "s": [f"k{i}" for i in range(10)]}), tmp_path / "f.parquet")
    ds = streamscope.read_parquet(str(tmp_path)).filter(expr=(col("a") > 2) & (add_one(col("a")) > 6))
    result = ds._explain()
    optimized = result.optimized.text
    assert "Filter[Filter(add_one(a) > 6)]" in optimized
    assert "filter=a > 2" in optimized  # the pushable conjunct reached the scan
    assert any("add_one(a) > 6 stays a filter" in note for note in result.rules_fired)
    assert "ReadParquet->Filter(add_one(a) > 6)" in result.physical.text  # still fused into the read's tasks
    assert sorted(r["a"] for r in ds.take_all()) == [6, 7, 8, 9]
    only_udf = streamscope.read_parquet(str(tmp_path)).filter(expr=add_one(col("a")) > 8)
    assert not any("PredicatePushdown" in f for f in only_udf._explain().rules_fired)
    assert sorted(r["a"] for r in only_udf.take_all()) == [8, 9]


def test_a_udf_column_leaves_the_schema_to_the_run():
    ds = streamscope.range(3).with_column("y", add_one(col("id")))
    assert ds._plan.dag.output_schema() is None  # the declared type is not trusted without running
    assert ds.schema().names == ["id", "y"]
    typed = streamscope.range(3).with_column("y", col("id").cast(DataType.int8()))
    assert typed._plan.dag.output_schema().field("y").type == pa.int8()
