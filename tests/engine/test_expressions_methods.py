"""Expression methods and namespaces (Ray Data 2.60's ``Expr`` math methods, ``.str``, ``.list``,
``.struct``, ``.map``, ``.dt``, ``.arr``): each value checked against pyarrow.compute or plain
Python on the same data, the declared types against Ray's."""

from __future__ import annotations

import datetime
import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from streamscope.datatype import DataType
from streamscope.expressions import PyArrowComputeUDFExpr, UDFExpr, col

NUM = pa.table({"x": [1.5, -2.5, 0.2, None], "i": [3, -4, 0, None]})
STR = pa.table({"s": ["Hello World", " ab ", "123", None]})


def values(expr, table):
    return expr.evaluate(table).to_pylist()


@pytest.mark.parametrize("method,reference", [
    ("ceil", pc.ceil), ("floor", pc.floor), ("round", pc.round), ("trunc", pc.trunc), ("abs", pc.abs),
    ("sign", pc.sign), ("negate", pc.negate), ("exp", pc.exp), ("sin", pc.sin), ("cos", pc.cos), ("tan", pc.tan),
    ("atan", pc.atan),
])
def test_math_methods_are_the_pyarrow_kernels(method, reference):
    assert values(getattr(col("x"), method)(), NUM) == reference(NUM["x"]).to_pylist()


def test_logs_powers_and_inverse_trig_match_python():
    t = pa.table({"v": [1.0, 8.0, 100.0]})
    assert values(col("v").ln(), t) == [math.log(v) for v in (1.0, 8.0, 100.0)]
    assert values(col("v").log2(), t) == [math.log2(v) for v in (1.0, 8.0, 100.0)]
    assert values(col("v").log10(), t) == [math.log10(v) for v in (1.0, 8.0, 100.0)]
    assert values(col("i").power(2), NUM) == [9, 16, 0, None]
    assert values(col("i").power(col("i")), pa.table({"i": [2, 3]})) == [4, 27]
    unit = pa.table({"u": [0.0, 0.5, 1.0]})
    assert values(col("u").asin(), unit) == [math.asin(v) for v in (0.0, 0.5, 1.0)]
    assert values(col("u").acos(), unit) == [math.acos(v) for v in (0.0, 0.5, 1.0)]
    assert col("v").ln().data_type == DataType.float64()


def test_cast_safe_and_unsafe():
    assert values(col("i").cast(DataType.string()), NUM) == ["3", "-4", "0", None]
    assert values(col("x").cast(DataType.int64(), safe=False), NUM) == [1, -2, 0, None]
    with pytest.raises(pa.ArrowInvalid):
        values(col("x").cast(DataType.int64()), NUM)  # 1.5 does not fit an int safely
    assert col("i").cast(DataType.float32()).data_type == DataType.float32()


@pytest.mark.parametrize("method,args,reference", [
    ("upper", (), lambda s: s.upper()), ("lower", (), lambda s: s.lower()), ("title", (), lambda s: s.title()),
    ("swapcase", (), lambda s: s.swapcase()), ("capitalize", (), lambda s: s.capitalize()),
    ("reverse", (), lambda s: s[::-1]), ("strip", (), lambda s: s.strip()), ("lstrip", (), lambda s: s.lstrip()),
    ("rstrip", (), lambda s: s.rstrip()), ("len", (), len), ("is_digit", (), lambda s: s.isdigit()),
    ("is_alpha", (), lambda s: s.isalpha()), ("is_space", (), lambda s: s.isspace()),
    ("starts_with", ("He",), lambda s: s.startswith("He")), ("ends_with", ("3",), lambda s: s.endswith("3")),
    ("contains", ("b",), lambda s: "b" in s), ("find", ("l",), lambda s: s.find("l")),
    ("count", ("l",), lambda s: s.count("l")), ("replace", ("l", "L"), lambda s: s.replace("l", "L")),
    ("repeat", (2,), lambda s: s * 2), ("split", (" ",), lambda s: s.split(" ")),
    ("slice", (1, 3), lambda s: s[1:3]),
    ("lpad", (6, "0"), lambda s: s.rjust(6, "0")), ("rpad", (6, "."), lambda s: s.ljust(6, ".")),
    ("strip", ("1H",), lambda s: s.strip("1H")),
])
def test_string_methods_match_python(method, args, reference):
    expr = getattr(col("s").str, method)(*args)
    assert isinstance(expr, PyArrowComputeUDFExpr)
    assert values(expr, STR) == [None if v is None else reference(v) for v in STR["s"].to_pylist()]


def test_string_regex_like_and_pad_methods():
    import re

    strs = [v for v in STR["s"].to_pylist()]
    assert values(col("s").str.match_regex(r"^\d+$"), STR) == [None if v is None else bool(re.search(r"^\d+$", v))
                                                                for v in strs]
    assert values(col("s").str.count_regex("[lo]"), STR) == [None if v is None else len(re.findall("[lo]", v))
                                                              for v in strs]
    assert values(col("s").str.replace_regex("[0-9]", "#"), STR) == [None if v is None else re.sub("[0-9]", "#", v)
                                                                      for v in strs]
    assert values(col("s").str.match("%World"), STR) == [True, False, False, None]  # SQL LIKE
    odd = pa.table({"s": ["ab", "abc"]})  # pyarrow puts an odd pad on the right (Python's str.center on the left)
    assert values(col("s").str.pad(5, "-", side="both"), odd) == pc.utf8_center(odd["s"], 5, "-").to_pylist()
    assert values(col("s").str.center(6, "*"), odd) == pc.utf8_center(odd["s"], 6, "*").to_pylist()
    assert values(col("s").str.starts_with("he", ignore_case=True), STR)[0] is True  # extra kwargs reach pyarrow
    with pytest.raises(ValueError, match="side must be"):
        col("s").str.pad(3, side="middle")
    assert col("s").str.len().data_type == DataType.int32() and col("s").str.upper().data_type == DataType.string()


LISTS = pa.table({"l": pa.array([[3, 1, 2], [5], [], None], pa.list_(pa.int64()))})


def test_list_namespace_matches_python():
    rows = LISTS["l"].to_pylist()
    assert values(col("l").list.len(), LISTS) == [None if r is None else len(r) for r in rows]
    assert values(col("l").list[1:3], LISTS) == [None if r is None else r[1:3] for r in rows]
    assert values(col("l").list[::2], LISTS) == [None if r is None else r[::2] for r in rows]
    assert values(col("l").list.sort(), LISTS) == [None if r is None else sorted(r) for r in rows]
    assert values(col("l").list.sort("descending"), LISTS) == [None if r is None else sorted(r, reverse=True)
                                                               for r in rows]
    firsts = pa.table({"l": [[3, 1], [5], None]})
    assert values(col("l").list[0], firsts) == [3, 5, None]
    assert values(col("l").list[-1], firsts) == [1, 5, None]
    assert values(col("l").list.get(-2), pa.table({"l": [[3, 1], [7, 8, 9]]})) == [3, 8]
    with pytest.raises(IndexError, match="out of range"):
        values(col("l").list[-3], firsts)
    nested = pa.table({"n": [[[1, 2], [3]], [[4], None], None, []]})
    assert values(col("n").list.flatten(), nested) == [[1, 2, 3], [4], None, []]
    sliced = pa.table({"l": [[9], [3, 1], [7, 8]]}).slice(1)  # offsets not starting at 0
    assert values(col("l").list[-1], sliced) == [1, 8] and values(col("l").list.sort(), sliced) == [[1, 3], [7, 8]]
    with pytest.raises(TypeError, match="List indices must be integers or slices"):
        col("l").list["a"]


def test_struct_map_datetime_and_array_namespaces():
    users = pa.table({"u": [{"name": "a", "age": 3}, {"name": "b", "age": 5}]})
    assert values(col("u").struct["age"], users) == [3, 5]
    assert values(col("u").struct[0], users) == ["a", "b"]
    assert values(col("u").struct.field("name"), users) == ["a", "b"]
    with pytest.raises(ValueError, match="non-negative"):
        col("u").struct.field_by_index(-1)
    maps = pa.table({"m": pa.array([[("a", 1), ("b", 2)], None, []], pa.map_(pa.string(), pa.int64()))})
    assert values(col("m").map.keys(), maps) == [["a", "b"], None, []]
    assert values(col("m").map.values(), maps.slice(1)) == [None, []]
    pairs = pa.table({"m": [[{"k": "x", "v": 1}], [{"k": "y", "v": 2}, {"k": "z", "v": 3}]]})  # list<struct>
    assert values(col("m").map.values(), pairs) == [[1], [2, 3]]
    stamps = [datetime.datetime(2024, 5, 17, 13, 45, 30), datetime.datetime(1999, 12, 31, 23, 59, 1)]
    ts = pa.table({"t": stamps})
    assert values(col("t").dt.year(), ts) == [d.year for d in stamps]
    assert values(col("t").dt.month(), ts) == [d.month for d in stamps]
    assert values(col("t").dt.day(), ts) == [d.day for d in stamps]
    assert values(col("t").dt.hour(), ts) == [d.hour for d in stamps]
    assert values(col("t").dt.minute(), ts) == [d.minute for d in stamps]
    assert values(col("t").dt.second(), ts) == [d.second for d in stamps]
    assert values(col("t").dt.strftime("%Y/%m/%d"), ts) == [d.strftime("%Y/%m/%d") for d in stamps]
    assert values(col("t").dt.floor("day"), ts) == [d.replace(hour=0, minute=0, second=0) for d in stamps]
    assert values(col("t").dt.ceil("hour"), ts)[0] == datetime.datetime(2024, 5, 17, 14)
    assert values(col("t").dt.round("minute"), ts)[0] == datetime.datetime(2024, 5, 17, 13, 46)
    fixed = pa.table({"f": pa.array([[1, 2], [3, 4]], pa.list_(pa.int64(), 2))})
    out = col("f").arr.to_list().evaluate(fixed)
    assert out.type == pa.list_(pa.int64()) and out.to_pylist() == [[1, 2], [3, 4]]
    assert isinstance(col("f").arr.to_list(), UDFExpr) and not col("f").arr.to_list()._is_pyarrow_convertible()


def test_namespace_calls_convert_to_pyarrow_and_print_as_written():
    expr = col("s").str.starts_with("He") & (col("l").list.len() > 1)
    assert str(expr) == "s.str.starts_with('He') and l.list.len() > 1"
    table = pa.table({"s": ["Hey", "Hello", "Ho", "Hi"], "l": [[1, 2], [1, 2], [1, 2], [1]]})
    assert table.filter(expr.to_pyarrow()).column("s").to_pylist() == ["Hey", "Hello"]
    assert expr.filter(table).column("s").to_pylist() == ["Hey", "Hello"]
    assert str(col("l").list[-1]) == "l.list[-1]" and not col("l").list[-1]._is_pyarrow_convertible()
