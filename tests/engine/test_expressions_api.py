"""streamscope.expressions has Ray Data 2.60's names and tree shapes (ColumnExpr, BinaryExpr,
UnaryExpr, AliasExpr, Operation...), and DataType behaves as ray.data.datatype.DataType.
Expected values come from pyarrow and plain Python."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pyarrow as pa
import pytest

import streamscope.expressions as E
from streamscope.datatype import DataType, TypeCategory
from streamscope.expressions import (
    AliasExpr, BinaryExpr, ColumnExpr, Expr, LiteralExpr, Operation, UnaryExpr, col, lit,
)

RAY_2_60_ALL = [
    "Operation", "Expr", "ColumnExpr", "LiteralExpr", "BinaryExpr", "RandomExpr", "UUIDExpr", "UnaryExpr", "UDFExpr",
    "DownloadExpr", "AliasExpr", "StarExpr", "UnnestExpr", "MonotonicallyIncreasingIdExpr", "pyarrow_udf", "udf",
    "col", "lit", "download", "monotonically_increasing_id", "random", "star", "unnest", "uuid", "_ArrayNamespace",
    "_ListNamespace", "_StringNamespace", "_StructNamespace", "_MapNamespace", "_DatetimeNamespace",
]
"""``ray.data.expressions.__all__`` of Ray 2.60.0, in its order."""

TABLE = pa.table({"a": [1, 2, None, 4], "b": [10.0, 20.0, 30.0, None], "s": ["x", "y", "z", "w"]})


def test_every_name_of_rays_module_is_here():
    assert [n for n in RAY_2_60_ALL if not hasattr(E, n)] == []
    assert set(RAY_2_60_ALL) <= set(E.__all__)


def test_signatures_are_rays():
    assert list(inspect.signature(E.udf).parameters) == ["return_dtype"]
    assert list(inspect.signature(E.pyarrow_udf).parameters) == ["return_dtype"]
    assert list(inspect.signature(E.random).parameters) == ["seed", "reseed_after_execution"]
    assert all(p.kind is p.KEYWORD_ONLY for p in inspect.signature(E.random).parameters.values())
    download = inspect.signature(E.download).parameters
    assert list(download) == ["uri_column_name", "filesystem"] and download["filesystem"].kind is inspect.Parameter.KEYWORD_ONLY
    cast = inspect.signature(Expr.cast).parameters
    assert list(cast) == ["self", "target_type", "safe"] and cast["safe"].default is True


def test_operation_members_are_rays_and_are_the_node_operators():
    assert [m.name for m in Operation] == ["ADD", "SUB", "MUL", "DIV", "MOD", "FLOORDIV", "GT", "LT", "GE", "LE", "EQ",
                                           "NE", "AND", "OR", "NOT", "IS_NULL", "IS_NOT_NULL", "IN", "NOT_IN"]
    assert Operation("floordiv") is Operation.FLOORDIV and Operation("//") is Operation.FLOORDIV
    assert (col("a") // 2).op is Operation.FLOORDIV and (col("a") > 1).op is Operation.GT
    assert ((col("a") > 1) & (col("b") > 1)).op is Operation.AND
    assert col("a").is_in([1]).op is Operation.IN and col("a").not_in([1]).op is Operation.NOT_IN
    assert (~col("f")).op is Operation.NOT and col("a").is_not_null().op is Operation.IS_NOT_NULL


def test_node_classes_have_rays_shapes():
    expr = BinaryExpr(Operation.ADD, col("x"), lit(5))
    assert isinstance(expr, BinaryExpr) and expr.structurally_equals(col("x") + 5)
    assert isinstance(expr.left, ColumnExpr) and isinstance(expr.right, LiteralExpr) and expr.right.value == 5
    both = (col("a") > 1) & (col("b") < 2)
    assert isinstance(both, BinaryExpr) and both.left.structurally_equals(col("a") > 1)
    assert BinaryExpr(Operation.IN, col("a"), lit([1, 2])).structurally_equals(col("a").is_in([1, 2]))
    assert col("a").is_in([1, 2]).right.value == [1, 2]
    assert UnaryExpr(Operation.NOT, col("f")).structurally_equals(~col("f"))
    assert isinstance(col("a").is_null(), UnaryExpr) and col("a").is_null().operand.structurally_equals(col("a"))
    with pytest.raises(ValueError, match="not a unary operation"):
        UnaryExpr(Operation.ADD, col("a"))
    # Ray's dataclass field order (data_type first) builds the same nodes
    assert AliasExpr(DataType(object), col("a"), "b", False).structurally_equals(col("a").alias("b"))
    udf_node = E.UDFExpr(DataType.int64(), abs, [col("a")], {})
    assert udf_node.data_type == DataType.int64() and udf_node.fn is abs and udf_node.args[0].name == "a"


def test_names_aliases_and_declared_types():
    assert col("a").name == "a" and (col("a") + 1).name is None
    aliased = (col("a") + 1).alias("b").alias("c")  # a second alias replaces the first, as Ray
    assert isinstance(aliased, AliasExpr) and aliased.name == "c" and str(aliased) == "(a + 1).alias('c')"
    assert aliased.evaluate(TABLE).to_pylist() == [2, 3, None, 5]
    assert lit(3).data_type == DataType.int64() and lit("x").data_type == DataType.string()
    assert col("a").data_type == DataType(object) and (col("a") > 1).data_type == DataType(object)
    assert col("a").is_null().data_type == DataType.bool()


def test_values_follow_python_and_pyarrow():
    a = [1, 2, None, 4]
    assert (col("a") * 2 + 1).evaluate(TABLE).to_pylist() == [None if v is None else v * 2 + 1 for v in a]
    assert (7 - col("a")).evaluate(TABLE).to_pylist() == [None if v is None else 7 - v for v in a]
    ints = pa.table({"x": [7, -7, 6], "y": [2, 2, -4]})
    pairs = [(7, 2), (-7, 2), (6, -4)]
    assert (col("x") / col("y")).evaluate(ints).to_pylist() == [x / y for x, y in pairs]
    assert (col("x") // col("y")).evaluate(ints).to_pylist() == [float(x // y) for x, y in pairs]
    assert (col("x") % col("y")).evaluate(ints).to_pylist() == [float(x % y) for x, y in pairs]
    assert (2 ** col("y")).evaluate(pa.table({"y": [3]})).to_pylist() == [8]
    assert (col("s") + "!").evaluate(TABLE).to_pylist() == ["x!", "y!", "z!", "w!"]  # strings concatenate
    assert ((col("a") > 1) | col("b").is_null()).evaluate(TABLE).to_pylist() == [False, True, None, True]
    assert col("a").not_in([1, 4]).evaluate(TABLE).to_pylist() == [False, True, True, False]
    assert (col("a") == None).evaluate(TABLE).to_pylist() == [False, False, True, False]  # noqa: E711


def test_a_literal_broadcasts_and_predicates_filter_tables():
    assert lit(5).evaluate(TABLE).to_pylist() == [5] * 4
    assert (col("a") >= 2).filter(TABLE).column("a").to_pylist() == [2, 4]
    assert TABLE.filter((col("a") >= 2).to_pyarrow()).column("a").to_pylist() == [2, 4]


def test_misuse_is_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="truth value of expression 'a > 1'"):
        bool(col("a") > 1)
    with pytest.raises(TypeError, match="truth value"):
        1 < col("a") < 4  # chained comparisons would silently keep only the last one
    with pytest.raises(TypeError, match="needs a list of values"):
        col("a").is_in(col("b"))
    with pytest.raises(TypeError, match="column name must be a str"):
        col(3)
    with pytest.raises(TypeError, match="cannot be converted to a pyarrow expression"):
        E.random().to_pyarrow()


def test_structural_equality_hash_and_pickle():
    expr = ((col("a") + 1) * 2 > col("b")) & col("s").str.starts_with("x")
    same = ((col("a") + 1) * 2 > col("b")) & col("s").str.starts_with("x")
    assert expr.structurally_equals(same) and hash(expr) == hash(same)
    assert not expr.structurally_equals(((col("a") + 1) * 3 > col("b")) & col("s").str.starts_with("x"))
    back = pickle.loads(pickle.dumps(expr))
    assert back.structurally_equals(expr)
    assert back.evaluate(TABLE).to_pylist() == expr.evaluate(TABLE).to_pylist()


def test_get_type_matches_what_evaluation_gives():
    schema = TABLE.schema
    for expr in (col("a") + 1, col("a") / 2, col("b").round(), col("s").str.len(), col("a").cast(DataType.string()),
                 col("a").is_in([1]), E.random(), E.uuid()):
        assert expr.get_type(schema) == expr.evaluate(TABLE).type, str(expr)
    assert col("nope").get_type(schema) is None


def test_datatype_is_rays():
    assert DataType.int32().to_arrow_dtype() == pa.int32()
    assert DataType.from_numpy("float32").to_arrow_dtype() == pa.float32()
    assert DataType.from_numpy(np.dtype("int8")) == DataType.from_numpy("int8")
    assert DataType.int32() != DataType.from_numpy("int32")  # different type systems, as Ray
    assert DataType.infer_dtype(None).is_null_type() and DataType.infer_dtype(object()) == DataType(object)
    assert DataType.infer_dtype([1, 2]) == DataType.list(DataType.int64())
    assert DataType.struct([("x", DataType.int64())]).is_of(TypeCategory.STRUCT)
    assert DataType.temporal("time64", unit="ns").to_arrow_dtype() == pa.time64("ns")
    assert DataType.tensor((2, 3), DataType.float32()).to_arrow_dtype().shape == [2, 3]
    assert DataType.int64().to_numpy_dtype() == np.dtype("int64")
    assert {DataType.int64(), DataType.int64()} == {DataType.int64()}
    with pytest.raises(TypeError, match="DataType supports only"):
        DataType("int64")
    with pytest.raises(ValueError, match="time32 unit"):
        DataType.temporal("time32", unit="ns")
    with pytest.raises(TypeError, match="must be a streamscope.datatype.DataType"):
        col("a").cast(pa.string())
    with pytest.raises(TypeError, match="Python-type-backed DataType"):
        col("a").cast(DataType(int))
