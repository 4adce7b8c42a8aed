"""read_avro against fastavro's own reader: types from the writer schema, streamed blocks,
projection as a reader schema, files as tasks, errors naming the file, the missing extra."""

from __future__ import annotations

import datetime
import decimal
import os
import sys
import uuid

import pyarrow as pa
import pytest

fastavro = pytest.importorskip("fastavro")

import streamscope  # noqa: E402
from streamscope.engine.io import avro_datasource  # noqa: E402
from streamscope.engine.io.avro_datasource import AvroDatasource  # noqa: E402
from streamscope.engine.python_objects import is_python_object_type  # noqa: E402

UTC = datetime.timezone.utc

SCHEMA = {
    "type": "record", "name": "Event", "namespace": "test", "fields": [
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "ok", "type": "boolean"},
        {"name": "s", "type": "string"},
        {"name": "raw", "type": "bytes"},
        {"name": "maybe", "type": ["null", "string"]},
        {"name": "inner", "type": {"type": "record", "name": "Inner", "fields": [
            {"name": "x", "type": "int"}, {"name": "tag", "type": ["null", "string"]}]}},
        {"name": "again", "type": ["null", "Inner"]},
        {"name": "nums", "type": {"type": "array", "items": "long"}},
        {"name": "counts", "type": {"type": "map", "values": "int"}},
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
        {"name": "fx", "type": {"type": "fixed", "name": "Two", "size": 2}},
        {"name": "ts_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "t_ms", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
    ]}

EXPECTED_TYPES = {
    "i": pa.int64(), "l": pa.int64(), "f": pa.float64(), "d": pa.float64(), "ok": pa.bool_(), "s": pa.string(),
    "raw": pa.binary(), "maybe": pa.string(),
    "inner": pa.struct([("x", pa.int64()), ("tag", pa.string())]),
    "again": pa.struct([("x", pa.int64()), ("tag", pa.string())]),
    "nums": pa.list_(pa.int64()), "counts": pa.map_(pa.string(), pa.int64()), "color": pa.string(),
    "fx": pa.binary(), "ts_ms": pa.timestamp("ms"), "ts_us": pa.timestamp("us"), "local": pa.timestamp("us"),
    "day": pa.date32(), "t_ms": pa.time64("us"), "price": pa.decimal128(10, 2), "id": pa.uuid(),
}


def _record(k: int) -> dict:
    return {
        "i": k, "l": k * 10**10, "f": k + 0.5, "d": k / 4, "ok": k % 2 == 0, "s": f"s{k}", "raw": bytes([k % 256, 1]),
        "maybe": None if k % 3 == 0 else f"m{k}", "inner": {"x": k, "tag": None if k % 2 else "t"},
        "again": None if k % 2 else {"x": -k, "tag": "a"}, "nums": list(range(k % 4)),
        "counts": {f"k{j}": j for j in range(k % 3)}, "color": "GREEN" if k % 2 else "RED", "fx": b"ab",
        "ts_ms": datetime.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC) + datetime.timedelta(seconds=k),
        "ts_us": datetime.datetime(2024, 5, 6, 7, 8, 9, 654321, tzinfo=UTC) + datetime.timedelta(minutes=k),
        "local": datetime.datetime(2023, 12, 31, 23, 59, 59, 1) + datetime.timedelta(hours=k),
        "day": datetime.date(2024, 2, 1) + datetime.timedelta(days=k), "t_ms": datetime.time(1, 2, 3, 4000),
        "price": decimal.Decimal(f"{k}.25"), "id": uuid.UUID(int=k),
    }


def _write(path, records, schema=SCHEMA, codec="null"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(schema), records, codec=codec)
    return str(path)


def _fastavro_rows(path) -> list[dict]:
    """fastavro's own reading, in the shape an Arrow column gives back: timestamps as naive UTC,
    maps as (key, value) pairs."""
    def norm(value):
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        return value

    with open(path, "rb") as f:
        rows = [norm(r) for r in fastavro.reader(f)]
    for row in rows:
        row["counts"] = list(row["counts"].items())
    return rows


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("avro") / "events.avro", [_record(k) for k in range(12)], codec="deflate")


def test_values_and_types_match_fastavro(events):
    ds = streamscope.read_avro(events)
    schema = ds.schema()
    assert dict(zip(schema.names, schema.types)) == EXPECTED_TYPES  # from the header, before reading
    assert ds.take_all() == _fastavro_rows(events)
    table = ds.to_arrow()
    assert {f.name: f.type for f in table.schema} == EXPECTED_TYPES


def test_mixed_unions_and_recursive_records_hold_python_objects(tmp_path):
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "either", "type": ["null", "int", "string"]},
        {"name": "number", "type": ["int", "double"]},
        {"name": "node", "type": {"type": "record", "name": "Node", "fields": [
            {"name": "v", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]}},
    ]}
    records = [{"either": 1, "number": 2, "node": {"v": 1, "next": {"v": 2, "next": None}}},
               {"either": "two", "number": 2.5, "node": {"v": 3, "next": None}},
               {"either": None, "number": 3, "node": {"v": 4, "next": None}}]
    path = _write(tmp_path / "mixed.avro", records, schema)
    ds = streamscope.read_avro(path)
    types = dict(zip(ds.schema().names, ds.schema().types))
    assert is_python_object_type(types["either"]) and is_python_object_type(types["node"])
    assert types["number"] == pa.float64()
    with open(path, "rb") as f:
        expected = list(fastavro.reader(f))
    got = ds.take_all()
    assert [r["either"] for r in got] == [r["either"] for r in expected]
    assert [r["node"] for r in got] == [r["node"] for r in expected]
    assert [r["number"] for r in got] == [float(r["number"]) for r in expected]


def test_records_stream_in_blocks(tmp_path, run_tasks):
    path = _write(tmp_path / "many.avro", [{"i": k, "s": "x" * 20} for k in range(3000)],
                  {"type": "record", "name": "R", "fields": [{"name": "i", "type": "long"}, {"name": "s", "type": "string"}]})
    (task,) = AvroDatasource(path).get_read_tasks(4)
    blocks = list(task())
    assert len(blocks) > 1 and blocks[0].num_rows == avro_datasource._FIRST_ROWS
    assert pa.concat_tables(blocks).column("i").to_pylist() == list(range(3000))


def test_projection_becomes_the_reader_schema(events, run_tasks, monkeypatch):
    ds = streamscope.read_avro(events).select_columns(["s", "price"])
    text = ds._explain().text()
    assert "ReadAvro (columns=['s', 'price'])" in text
    assert ds.take(2) == [{"s": "s0", "price": decimal.Decimal("0.25")}, {"s": "s1", "price": decimal.Decimal("1.25")}]

    seen = []
    real = fastavro.reader

    def watching(f, reader_schema=None, **kwargs):
        seen.append(reader_schema)
        return real(f, reader_schema=reader_schema, **kwargs)

    monkeypatch.setattr(fastavro, "reader", watching)
    out = run_tasks(AvroDatasource(events).apply_projection(["price", "s"]), pickle=False)
    assert out.column_names == ["price", "s"]
    assert [[f["name"] for f in s["fields"]] for s in seen if s is not None] == [["s", "price"]]


def test_filter_and_projection_both_go_into_the_read(events):
    ds = streamscope.read_avro(events).filter(expr="i >= 10").select_columns(["s"])
    assert "ReadAvro (columns=['s']; row filter=i >= 10)" in ds._explain().text()
    assert ds.take_all() == [{"s": "s10"}, {"s": "s11"}]


def test_files_are_tasks_with_partitions_and_paths(tmp_path):
    schema = {"type": "record", "name": "R", "fields": [{"name": "v", "type": "int"}]}
    a = _write(tmp_path / "day=1" / "a.avro", [{"v": 1}, {"v": 2}], schema)
    _write(tmp_path / "day=2" / "b.avro", [{"v": 3}], schema)
    (tmp_path / "notes.txt").write_text("not avro")
    source = AvroDatasource(str(tmp_path), partitioning=streamscope.datasource.Partitioning("hive"),
                            file_extensions=["avro"], include_paths=True)
    assert len(source.get_read_tasks(8)) == 2
    ds = streamscope.read_avro(str(tmp_path), partitioning=streamscope.datasource.Partitioning("hive"),
                               include_paths=True, file_extensions=["avro"])
    rows = sorted(ds.take_all(), key=lambda r: r["v"])
    assert [(r["v"], r["day"]) for r in rows] == [(1, "1"), (2, "1"), (3, "2")]
    assert rows[0]["path"] == a
    assert ds.filter(expr="day == '2'").take_all()[0]["v"] == 3


def test_corrupt_file_error_names_it(tmp_path):
    (tmp_path / "bad.avro").write_bytes(b"definitely not avro")
    with pytest.raises(streamscope.DataSourceError, match="bad.avro"):
        streamscope.read_avro(str(tmp_path)).schema()
    with pytest.raises(Exception, match="bad.avro"):
        streamscope.read_avro(str(tmp_path)).take_all()


def test_missing_fastavro_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastavro", None)
    with pytest.raises(ImportError, match=r"read_avro.*pip install 'streamscope\[avro\]'"):
        streamscope.read_avro(str(tmp_path))


def test_refused_arguments(events):
    with pytest.raises(ValueError, match="arrow_open_stream_args"):
        streamscope.read_avro(events, arrow_open_stream_args={"buffer_size": 1})
