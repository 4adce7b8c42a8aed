"""read_tfrecords / Dataset.write_tfrecords against the ``tfrecord`` package (its writer and
loader, and its copy of the ``tf.train.Example`` protobuf), without TensorFlow."""

from __future__ import annotations

import glob
import gzip
import inspect
import os
import struct
from types import SimpleNamespace

import numpy as np
import pytest

import streamscope
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io import tfrecord_codec as codec
from streamscope.engine.io.tfrecords_datasource import TFRecordDatasource

tfrecord = pytest.importorskip("tfrecord")
from tfrecord import example_pb2  # noqa: E402  (the tfrecord package's tf.train.Example)


def _write(path, rows) -> str:
    writer = tfrecord.TFRecordWriter(str(path))
    for row in rows:
        writer.write(row)
    writer.close()
    return str(path)


@pytest.fixture
def records(tmp_path):
    rows = [
        {"i": (3, "int"), "il": ([1, 2, 3], "int"), "f": (1.5, "float"), "fl": ([0.5, 0.25], "float"),
         "b": (b"xy", "byte"), "bl": ([b"a", b"bc"], "byte"), "e": ([], "int"), "neg": (-(2**40), "int")},
        {"i": (4, "int"), "il": ([5, 6], "int"), "f": (2.5, "float"), "fl": ([0.75, 1.0], "float"),
         "b": (b"z", "byte"), "bl": ([b"d", b"e"], "byte"), "e": ([7, 8], "int"), "neg": (-1, "int")},
    ]
    return _write(tmp_path / "a.tfrecords", rows)


def _schema(**types):
    """A stand-in for tensorflow_metadata's schema_pb2.Schema: ``.feature`` entries with ``.name``
    and ``.type`` (FeatureType: BYTES = 1, INT = 2, FLOAT = 3)."""
    codes = {"bytes": 1, "int": 2, "float": 3}
    return SimpleNamespace(feature=[SimpleNamespace(name=n, type=codes[t]) for n, t in types.items()])


def test_reads_tfrecord_package_files_like_ray(records):
    ds = streamscope.read_tfrecords(records)
    schema = ds.schema()
    types = dict(zip(schema.names, (str(t) for t in schema.types)))
    assert types == {"i": "int64", "il": "list<item: int64>", "f": "float", "fl": "list<item: float>", "b": "binary",
                     "bl": "list<item: binary>", "e": "list<item: int64>", "neg": "int64"}
    rows = sorted(ds.take_all(), key=lambda r: r["i"])
    assert rows[0] == {"i": 3, "il": [1, 2, 3], "f": 1.5, "fl": [0.5, 0.25], "b": b"xy", "bl": [b"a", b"bc"],
                       "e": [], "neg": -(2**40)}
    assert rows[1]["e"] == [7, 8] and rows[1]["b"] == b"z" and rows[1]["neg"] == -1


def test_tf_schema_keeps_lists_and_checks_features(records, tmp_path):
    schema = _schema(i="int", il="int", f="float", fl="float", b="bytes", bl="bytes", e="int", neg="int")
    rows = sorted(streamscope.read_tfrecords(records, tf_schema=schema).take_all(), key=lambda r: r["i"])
    assert rows[0]["i"] == [3] and rows[0]["b"] == [b"xy"] and rows[0]["e"] == []
    with pytest.raises(DataSourceError, match=r"a\.tfrecords.*record 0.*extra unexpected feature 'neg'"):
        streamscope.read_tfrecords(records, tf_schema=_schema(i="int", il="int", f="float", fl="float", b="bytes",
                                                               bl="bytes", e="int")).take_all()
    wrong = dict(i="float", il="int", f="float", fl="float", b="bytes", bl="bytes", e="int", neg="int")
    with pytest.raises(DataSourceError, match=r"mismatch for feature 'i': specified type is float.*stored type is int"):
        streamscope.read_tfrecords(records, tf_schema=_schema(**wrong)).take_all()
    with pytest.raises(TypeError, match="tf_schema"):
        streamscope.read_tfrecords(records, tf_schema="i:int")
    # writing: the schema types a null column and refuses columns it lacks
    out = tmp_path / "w"
    streamscope.from_items([{"a": None, "s": "x"}]).write_tfrecords(str(out), tf_schema=_schema(a="int", s="bytes"))
    (path,) = glob.glob(str(out / "*"))
    assert [{k: (v if isinstance(v, bytes) else v.tolist()) for k, v in r.items()}
            for r in tfrecord.tfrecord_loader(path, None)] == [{"a": [], "s": b"x"}]
    with pytest.raises(Exception, match="extra unexpected feature 's'"):
        streamscope.from_items([{"a": 1, "s": "x"}]).write_tfrecords(str(tmp_path / "w2"), tf_schema=_schema(a="int"))


def test_written_files_read_by_tfrecord_loader_and_round_trip(tmp_path):
    rows = [{"id": i, "score": i / 4, "name": f"n{i}", "blob": bytes([i, 0]), "ints": list(range(i)),
             "floats": [0.5 * i, 1.5], "words": ["a", "b" * i], "maybe": None if i % 2 else i} for i in range(6)]
    out = tmp_path / "out"
    streamscope.from_items(rows).write_tfrecords(str(out), min_rows_per_file=6)  # one file: one block read back
    files = sorted(glob.glob(str(out / "*")))
    assert files and all(f.endswith(".tfrecords") for f in files)
    loaded = [r for f in files for r in tfrecord.tfrecord_loader(f, None)]
    assert sorted(int(r["id"][0]) for r in loaded) == list(range(6))
    by_id = {int(r["id"][0]): r for r in loaded}
    for row in rows:
        got = by_id[row["id"]]
        assert got["score"].dtype == np.float32 and got["score"].tolist() == [row["score"]]
        assert got["name"] == row["name"].encode() and got["blob"] == row["blob"]  # one bytes value: bytes
        assert got["ints"].tolist() == row["ints"] and got["floats"].tolist() == row["floats"]
        assert got["maybe"].tolist() == ([] if row["maybe"] is None else [row["maybe"]])
    # the same bytes through the tfrecord package's protobuf: words keep their list of strings
    with open(files[0], "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        f.read(4)
        example = example_pb2.Example.FromString(f.read(length))
    assert list(example.features.feature["words"].bytes_list.value)[0] == b"a"
    back = sorted(streamscope.read_tfrecords(str(out)).take_all(), key=lambda r: r["id"])
    assert back[2] == {"id": 2, "score": 0.5, "name": b"n2", "blob": bytes([2, 0]), "ints": [0, 1], "floats": [1.0, 1.5],
                       "words": [b"a", b"bb"], "maybe": 2}
    assert back[1]["ints"] == [0] and back[0]["ints"] == []  # a list column: several values in some records
    assert back[1]["maybe"] is None and back[4]["maybe"] == 4  # one value or none: a scalar with nulls


def test_tensor_columns_become_serialized_tensors(tmp_path):
    out = tmp_path / "t"
    streamscope.range_tensor(2, shape=(2, 3)).write_tfrecords(str(out), min_rows_per_file=2)
    (path,) = glob.glob(str(out / "*"))
    blobs = [r["data"] for r in tfrecord.tfrecord_loader(path, None)]
    contents = []
    for blob in blobs:
        fields = list(codec._fields(blob))
        assert fields[0] == (1, 0, 9)  # TensorProto.dtype = DT_INT64
        dims = [list(codec._fields(d))[0][2] for _, _, d in codec._fields(fields[1][2])]
        assert dims == [2, 3]
        contents.append(np.frombuffer(fields[2][2], "<i8").tolist())  # tensor_content
    assert sorted(contents) == [[0] * 6, [1] * 6]  # rows in any order: nothing here asks to keep it


def test_unwritable_columns_are_refused_by_name(tmp_path):
    for rows, column, why in [([{"flag": True}], "flag", "bool"), ([{"s": {"a": 1}}], "s", "struct"),
                              ([{"n": None}], "n", "only nulls"), ([{"l": [[1], [2]]}], "l", "list<item: list")]:
        out = tmp_path / column
        with pytest.raises(Exception, match=rf"column '{column}'.*{why}"):
            streamscope.from_items(rows).write_tfrecords(str(out))
        assert not glob.glob(str(out / "*"))


def test_corrupt_and_truncated_files_name_file_and_record(records, tmp_path):
    data = open(records, "rb").read()
    (first_length,) = struct.unpack("<Q", data[:8])
    second = 16 + first_length
    cases = {
        "bad-data-crc": data[:second + 20] + bytes([data[second + 20] ^ 0xFF]) + data[second + 21:],
        "bad-length-crc": data[:second + 8] + bytes([data[second + 8] ^ 1]) + data[second + 9:],
        "cut-length": data[:second + 5],
        "cut-data": data[:second + 30],
    }
    expected = {"bad-data-crc": "record 1.*bad CRC of the record data", "bad-length-crc": "record 1.*CRC of the length",
                "cut-length": "record 1.*truncated.*header", "cut-data": "record 1.*truncated.*record data"}
    for name, content in cases.items():
        path = tmp_path / f"{name}.tfrecords"
        path.write_bytes(content)
        with pytest.raises(DataSourceError, match=rf"ReadTFRecord.*{name}\.tfrecords.*{expected[name]}"):
            streamscope.read_tfrecords(str(path)).take_all()
    not_example = tmp_path / "not-example.tfrecords"
    with open(not_example, "wb") as f:
        codec.write_record(f, b"\xff\xff\xff")
    with pytest.raises(DataSourceError, match=r"not-example\.tfrecords.*record 0.*cannot parse a tf.train.Example"):
        streamscope.read_tfrecords(str(not_example)).take_all()


def test_multiple_files_tasks_streaming_and_projection(tmp_path):
    for s in range(3):
        _write(tmp_path / f"part-{s}.tfrecords", [{"k": (i, "int"), "v": ([float(i)] * 3, "float")}
                                                  for i in range(5000)])
    source = TFRecordDatasource(str(tmp_path))
    tasks = source.get_read_tasks(8)
    assert len(tasks) == 3 and [len(t.input_files) for t in tasks] == [1, 1, 1]
    assert [b.num_rows for b in tasks[0]()] == [4096, 904]
    path = str(tmp_path / "part-0.tfrecords")
    with open(path, "rb") as f:
        first = next(source._read_stream(f, path))
        assert first.num_rows == 4096 and f.tell() < os.path.getsize(path)  # yielded before the end of the file
    ds = streamscope.read_tfrecords(str(tmp_path)).select_columns(["k"])
    assert "columns=['k']" in ds._explain().text()
    assert sorted(r["k"] for r in ds.take_all()) == sorted(list(range(5000)) * 3)
    # a projection decodes only its features: a malformed feature elsewhere is never parsed
    bad = tmp_path / "bad" / "x.tfrecords"
    bad.parent.mkdir()
    entry = codec._length_delimited(1, codec._length_delimited(1, b"junk") + codec._length_delimited(2, b"\x0f\xff"))
    features = list(codec._fields(codec.encode_example([("k", codec.INT, [1])])))[0][2]
    with open(bad, "wb") as f:
        codec.write_record(f, codec._length_delimited(1, features + entry))  # feature 'junk': wire type 7
    assert streamscope.read_tfrecords(str(bad)).select_columns(["k"]).take_all() == [{"k": 1}]
    with pytest.raises(DataSourceError, match="record 0"):
        streamscope.read_tfrecords(str(bad)).take_all()


def test_compression_and_open_args(records, tmp_path):
    raw = open(records, "rb").read()
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "a.tfrecords.gz").write_bytes(gzip.compress(raw))
    assert len(streamscope.read_tfrecords(str(tmp_path / "z")).take_all()) == 2
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "a.tfrecords").write_bytes(gzip.compress(raw))
    assert len(streamscope.read_tfrecords(str(tmp_path / "g"), arrow_open_stream_args={"compression": "gzip"})
               .take_all()) == 2
    with pytest.raises(ValueError, match="buffer_size"):
        streamscope.read_tfrecords(records, arrow_open_stream_args={"buffer_size": 1})
    with pytest.raises(ValueError, match="arrow_open_stream_args"):
        streamscope.range(1).write_tfrecords(str(tmp_path / "o"), arrow_open_stream_args={"compression": "gzip"})


def test_failing_udf_mid_write_leaves_no_files(tmp_path):
    def boom(row):
        if row["id"] == 41:
            raise RuntimeError("boom at 41")
        return row

    out = tmp_path / "out"
    with pytest.raises(Exception, match="boom at 41"):
        streamscope.range(60, override_num_blocks=6).map(boom).write_tfrecords(str(out))
    assert not os.path.exists(out) or os.listdir(out) == []


def test_crc32c_fallback_matches_c_implementation():
    crc32c = pytest.importorskip("crc32c")  # the tfrecord package's own dependency
    rng = np.random.default_rng(1)
    for n in [0, 1, 3, 4, 5, 100, 2047, 2048, 2049, 4097, 65536 + 7, 1 << 20]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert codec._crc32c_fallback(data) == crc32c.crc32c(data), n
    assert codec.masked_crc32c(b"abc") == struct.unpack("<I", tfrecord.TFRecordWriter.masked_crc(b"abc"))[0]


@pytest.mark.slow  # importing ray.data takes seconds
def test_signatures_match_ray():
    ray_data = pytest.importorskip("ray.data")

    def params(fn):
        return [(p.name, p.kind, getattr(p.default, "value", p.default)) for p in inspect.signature(fn).parameters.values()]

    assert params(streamscope.read_tfrecords) == params(ray_data.read_tfrecords)
    assert params(streamscope.Dataset.write_tfrecords) == params(ray_data.Dataset.write_tfrecords)


def test_fsspec_memory_filesystem_and_include_paths(memfs):
    fs, root = memfs
    streamscope.from_items([{"x": i} for i in range(3)]).write_tfrecords(f"memory://{root}/tfr")
    assert fs.ls(f"{root}/tfr", detail=False)
    rows = streamscope.read_tfrecords(f"memory://{root}/tfr", include_paths=True).take_all()
    assert sorted(r["x"] for r in rows) == [0, 1, 2]
    assert all(r["path"].startswith(f"memory://{root}/tfr/") for r in rows)
