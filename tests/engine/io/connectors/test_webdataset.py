"""read_webdataset / Dataset.write_webdataset against shards made with the standard library's
``tarfile`` (expected values from Pillow, json and numpy directly) and read back by the real
``webdataset`` package."""

from __future__ import annotations

import glob
import inspect
import io
import json
import os
import tarfile

import numpy as np
import pytest

import streamscope
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.webdataset_datasource import WebDatasetDatasource

PIL_Image = pytest.importorskip("PIL.Image")
wds = pytest.importorskip("webdataset")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _image_bytes(array: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    PIL_Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _shard(path, samples) -> str:
    """``samples``: list of (key, {field: bytes}); written in order with tarfile."""
    with tarfile.open(path, "w") as tar:
        for key, fields in samples:
            for field, data in fields.items():
                _add(tar, f"{key}.{field}", data)
    return str(path)


@pytest.fixture
def shard(tmp_path):
    rng = np.random.default_rng(0)
    expected = []
    samples = []
    for i in range(3):
        rgb = rng.integers(0, 255, (4, 5, 3), dtype=np.uint8)
        png = _image_bytes(rgb, "PNG")
        jpg = _image_bytes(rgb, "JPEG")
        meta = {"label": i, "name": f"n{i}", "tags": ["a", "b"][: i + 1]}
        fields = {"png": png, "jpg": jpg, "json": json.dumps(meta).encode(), "txt": f"caption {i}".encode(),
                  "cls": str(i * 10).encode(), "npy": _npy(np.arange(i + 2, dtype=np.float32)),
                  "seg.png": _image_bytes(np.full((2, 2), i, np.uint8), "PNG"), "bin": bytes([i, 255])}
        samples.append((f"sample{i:03d}", fields))
        expected.append({
            "__key__": f"sample{i:03d}", "png": rgb,
            "jpg": np.asarray(PIL_Image.open(io.BytesIO(jpg))),  # JPEG is lossy: Pillow's own decode
            "json": meta, "txt": f"caption {i}", "cls": i * 10, "npy": np.arange(i + 2, dtype=np.float32),
            "seg.png": np.full((2, 2), i, np.uint8), "bin": bytes([i, 255]),
        })
    path = _shard(tmp_path / "shard-000.tar", samples)
    return path, expected


def _check_rows(rows, expected, url):
    assert [r["__key__"] for r in rows] == [e["__key__"] for e in expected]
    for row, exp in zip(rows, expected):
        assert row["__url__"] == url
        for name, value in exp.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(row[name], value)
                assert row[name].dtype == value.dtype
            else:
                assert row[name] == value, name


def test_default_decoder_like_ray(shard):
    path, expected = shard
    ds = streamscope.read_webdataset(path)
    rows = ds.take_all()
    assert list(rows[0]) == ["__key__", "png", "jpg", "json", "txt", "cls", "npy", "seg.png", "bin", "__url__"]
    _check_rows(rows, expected, path)


def test_decoder_none_pil_callable_and_list(shard):
    path, expected = shard
    raw = streamscope.read_webdataset(path, decoder=None).take_all()
    assert raw[0]["txt"] == b"caption 0" and raw[0]["cls"] == b"0" and raw[0]["png"][:4] == b"\x89PNG"
    pil = streamscope.read_webdataset(path, decoder="PIL").take_all()
    assert isinstance(pil[1]["png"], PIL_Image.Image)
    np.testing.assert_array_equal(np.asarray(pil[1]["png"]), expected[1]["png"])
    assert pil[1]["cls"] == 10  # the other members still decoded

    def only_cls(sample):
        return {"__key__": sample["__key__"], "label": int(sample["cls"]) + 1}

    assert streamscope.read_webdataset(path, decoder=only_cls).take_all() == [
        {"__key__": "sample000", "label": 1}, {"__key__": "sample001", "label": 11}, {"__key__": "sample002", "label": 21}]

    def caption_upper(sample):
        return dict(sample, txt=sample["txt"].upper())

    chained = streamscope.read_webdataset(path, decoder=[True, caption_upper]).take_all()
    assert [r["txt"] for r in chained] == ["CAPTION 0", "CAPTION 1", "CAPTION 2"]
    # as in Ray, False is not None: the built-in decoder still runs
    assert streamscope.read_webdataset(path, decoder=False).take(1)[0]["cls"] == 0


def test_fileselect_filerename_suffixes_expand_json(shard):
    path, _ = shard
    picked = streamscope.read_webdataset(path, fileselect=["*.txt", "cls"])  # literals match whole names only
    assert picked.take(1) == [{"__key__": "sample000", "txt": "caption 0", "__url__": path}]
    assert streamscope.read_webdataset(path, fileselect=lambda name: name.endswith(".cls")).take(1)[0]["cls"] == 0
    kept = streamscope.read_webdataset(path, suffixes=["txt", ".cls", "*.png"]).take(1)[0]
    assert list(kept) == ["__key__", "png", "txt", "cls", "seg.png", "__url__"]
    renamed = streamscope.read_webdataset(path, filerename=lambda n: n.replace(".txt", ".caption"),
                                          fileselect=["*.caption"], include_paths=True).take(1)
    assert renamed == [{"__key__": "sample000", "caption": b"caption 0", "__url__": path, "path": path}]
    expanded = streamscope.read_webdataset(path, expand_json=True).take_all()
    # each json value is kept as it is (Ray collects it into a list, then unwraps that one-item list)
    assert [(r["label"], r["name"], r["tags"]) for r in expanded] == [(0, "n0", ["a"]), (1, "n1", ["a", "b"]),
                                                                       (2, "n2", ["a", "b"])]
    assert expanded[0]["json"] == {"label": 0, "name": "n0", "tags": ["a"]}
    with pytest.raises(TypeError, match="filerename"):
        streamscope.read_webdataset(path, filerename=[("a", "b")])
    with pytest.raises(TypeError, match="fileselect"):
        streamscope.read_webdataset(path, fileselect="*.txt")


def test_grouping_keys_and_conventions(tmp_path):
    path = _shard(tmp_path / "g.tar", [("dir/x.y/a", {"txt": b"one", "json": b"[5]"}), ("b", {"txt": b"two"})])
    with tarfile.open(path, "a") as tar:
        _add(tar, "README", b"no dot: skipped")
    rows = streamscope.read_webdataset(path).take_all()
    assert rows == [{"__key__": "dir/x.y/a", "txt": "one", "json": 5, "__url__": path},
                    {"__key__": "b", "txt": "two", "json": None, "__url__": path}]
    apart = _shard(tmp_path / "apart.tar", [("a", {"txt": b"1"}), ("b", {"txt": b"2"}), ("a", {"cls": b"3"})])
    with pytest.raises(DataSourceError, match=r"apart\.tar.*'a' are not adjacent"):
        streamscope.read_webdataset(apart).take_all()
    with tarfile.open(tmp_path / "dup.tar", "w") as tar:
        _add(tar, "a.txt", b"1")
        _add(tar, "a.txt", b"2")
    with pytest.raises(DataSourceError, match=r"dup\.tar.*duplicate"):
        streamscope.read_webdataset(str(tmp_path / "dup.tar")).take_all()


def test_unsafe_members_refused_unless_trusted(tmp_path, monkeypatch):
    import pickle

    path = _shard(tmp_path / "p.tar", [("a", {"pkl": pickle.dumps({"x": 1})})])
    monkeypatch.delenv("RAY_DATA_WEBDATASET_ALLOW_UNSAFE_DESERIALIZATION", raising=False)
    monkeypatch.delenv("STREAMSCOPE_WEBDATASET_ALLOW_UNSAFE_DESERIALIZATION", raising=False)
    with pytest.raises(DataSourceError, match=r"p\.tar.*refusing to load the \.pkl member"):
        streamscope.read_webdataset(path).take_all()
    monkeypatch.setenv("RAY_DATA_WEBDATASET_ALLOW_UNSAFE_DESERIALIZATION", "1")
    assert streamscope.read_webdataset(path).take_all()[0]["pkl"] == {"x": 1}


def test_corrupt_and_truncated_tar_name_the_file(shard, tmp_path):
    path, _ = shard
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"this is not a tar archive at all" * 40)
    with pytest.raises(DataSourceError, match=r"ReadWebDataset.*garbage\.tar.*not a valid tar"):
        streamscope.read_webdataset(str(garbage)).take_all()
    data = open(path, "rb").read()
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(data[: len(data) // 2 + 100])
    with pytest.raises(DataSourceError, match=r"truncated\.tar.*(truncated|unexpected end)"):
        streamscope.read_webdataset(str(truncated)).take_all()
    # cut inside a header, at a member's data, and a header overwritten: tarfile alone ends quietly
    with tarfile.open(path) as tar:
        offsets = [(m.offset, m.offset_data, m.size) for m in tar.getmembers()]
    header, data_start, size = offsets[5]
    cases = {"in-header": data[: header + 100], "in-data": data[: data_start + size // 2],
             "bad-header": data[:header] + b"\x07" * 512 + data[header + 512:]}
    for name, content in cases.items():
        bad = tmp_path / f"{name}.tar"
        bad.write_bytes(content)
        with pytest.raises(DataSourceError, match=rf"{name}\.tar.*(truncated|corrupt|unexpected end)"):
            streamscope.read_webdataset(str(bad)).take_all()


def test_projection_skips_other_members(tmp_path):
    # the png members are corrupt: reading them fails, selecting around them never decodes them
    path = _shard(tmp_path / "bad-png.tar", [(f"s{i}", {"png": b"not a png", "cls": str(i).encode()}) for i in range(3)])
    with pytest.raises(DataSourceError, match="bad-png.tar"):
        streamscope.read_webdataset(path).take_all()
    ds = streamscope.read_webdataset(path).select_columns(["__key__", "cls"])
    assert ds.take_all() == [{"__key__": f"s{i}", "cls": i} for i in range(3)]
    assert "members read: ['cls']" in ds._explain().text()


def test_multiple_shards_are_multiple_tasks_and_tasks_stream(tmp_path):
    for s in range(3):
        _shard(tmp_path / f"shard-{s}.tar", [(f"{s}-{i:04d}", {"cls": str(i).encode()}) for i in range(1100)])
    source = WebDatasetDatasource(str(tmp_path))
    tasks = source.get_read_tasks(8)
    assert len(tasks) == 3 and [len(t.input_files) for t in tasks] == [1, 1, 1]
    assert [b.num_rows for b in tasks[0]()] == [512, 512, 76]  # Ray's 512 samples per block
    ds = streamscope.read_webdataset(str(tmp_path))
    assert ds.count() == 3300
    # a task yields its first block before the shard has been read through
    shard_path = str(tmp_path / "shard-0.tar")
    size = os.path.getsize(shard_path)
    with open(shard_path, "rb") as f:
        first = next(source._read_stream(f, shard_path))
        assert first.num_rows == 512 and f.tell() < size * 0.75


def test_write_read_back_by_webdataset_and_streamscope(shard, tmp_path):
    path, expected = shard
    out = tmp_path / "out"
    streamscope.read_webdataset(path).write_webdataset(str(out))
    files = sorted(glob.glob(str(out / "*.tar")))
    assert files and all(not os.path.basename(f).startswith(".") for f in files)
    with tarfile.open(files[0]) as tar:
        members = tar.getmembers()
        assert [m.name for m in members[:8]] == [f"sample000.{f}" for f in
                                                 ["png", "jpg", "json", "txt", "cls", "npy", "seg.png", "bin"]]
        assert all(m.mode == 0o644 and m.uname == "data" and m.gname == "data" for m in members)
    samples = sorted(wds.WebDataset(files, shardshuffle=False).decode("rgb8"), key=lambda s: s["__key__"])
    assert [s["__key__"] for s in samples] == ["sample000", "sample001", "sample002"]
    for sample, exp in zip(samples, expected):
        assert sample["txt"] == exp["txt"] and sample["cls"] == exp["cls"] and sample["json"] == exp["json"]
        np.testing.assert_array_equal(sample["png"], exp["png"])  # PNG is lossless
        np.testing.assert_array_equal(sample["npy"], exp["npy"])
        assert sample["bin"] == exp["bin"]
    back = sorted(streamscope.read_webdataset(str(out)).take_all(), key=lambda r: r["__key__"])
    for row, exp in zip(back, expected):
        np.testing.assert_array_equal(row["png"], exp["png"])
        assert row["json"] == exp["json"] and row["cls"] == exp["cls"] and row["seg.png"].shape == (2, 2)


def test_write_encoder_rules_and_refusals(tmp_path):
    rows = [{"txt": "a", "cls": 3, "json": {"x": [1, 2]}, "npy": np.arange(3), "raw": b"xy", "s": "str", "gone": None}]
    streamscope.from_items(rows).write_webdataset(str(tmp_path / "enc"))
    (f,) = glob.glob(str(tmp_path / "enc" / "*.tar"))
    with tarfile.open(f) as tar:
        got = {m.name.split(".", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers()}
        key = tar.getmembers()[0].name.split(".")[0]
    assert len(key) == 32 and int(key, 16) >= 0  # a random hex key for rows without __key__
    assert got.keys() == {"txt", "cls", "json", "npy", "raw", "s"}  # None values are not written
    assert got["txt"] == b"a" and got["cls"] == b"3" and json.loads(got["json"]) == {"x": [1, 2]}
    assert got["raw"] == b"xy" and got["s"] == b"str"
    np.testing.assert_array_equal(np.load(io.BytesIO(got["npy"])), np.arange(3))

    def as_text(sample):
        return {k: (v if k.startswith("__") else str(v)) for k, v in sample.items()}

    streamscope.from_items([{"__key__": "k1", "n": 5}]).write_webdataset(str(tmp_path / "fn"), encoder=as_text)
    (f,) = glob.glob(str(tmp_path / "fn" / "*.tar"))
    with tarfile.open(f) as tar:
        assert [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()] == [("k1.n", b"5")]
    with pytest.raises(Exception, match=r"column 'id'.*int.*bytes or str"):
        streamscope.from_items([{"id": 1}]).write_webdataset(str(tmp_path / "bad"))
    assert not glob.glob(str(tmp_path / "bad" / "*"))
    with pytest.raises(TypeError, match="encoder"):
        streamscope.range(1).write_webdataset(str(tmp_path / "x"), encoder=3)


def test_failing_udf_mid_write_leaves_no_files(tmp_path):
    def boom(row):
        if row["id"] == 37:
            raise RuntimeError("boom at 37")
        return {"__key__": f"k{row['id']:03d}", "cls": row["id"]}

    out = tmp_path / "out"
    with pytest.raises(Exception, match="boom at 37"):
        streamscope.range(60, override_num_blocks=6).map(boom).write_webdataset(str(out))
    assert not os.path.exists(out) or os.listdir(out) == []
    streamscope.range(4).map(lambda r: {"cls": r["id"]}).write_webdataset(str(out), min_rows_per_file=4)
    with pytest.raises(ValueError, match="already exists"):
        streamscope.range(4).map(lambda r: {"cls": r["id"]}).write_webdataset(str(out), mode="error")
    assert streamscope.read_webdataset(str(out)).count() == 4


def test_arrow_open_stream_args_and_gzip(shard, tmp_path):
    import gzip

    path, expected = shard
    gz = tmp_path / "z" / "shard.tar.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(open(path, "rb").read()))
    assert [r["cls"] for r in streamscope.read_webdataset(str(gz)).take_all()] == [0, 10, 20]
    with pytest.raises(ValueError, match="buffer_size"):
        streamscope.read_webdataset(path, arrow_open_stream_args={"buffer_size": 10})


@pytest.mark.slow  # importing ray.data takes seconds
def test_signatures_match_ray():
    ray_data = pytest.importorskip("ray.data")

    def params(fn):
        return [(p.name, p.kind, getattr(p.default, "value", p.default)) for p in inspect.signature(fn).parameters.values()]

    assert params(streamscope.read_webdataset) == params(ray_data.read_webdataset)
    assert params(streamscope.Dataset.write_webdataset) == params(ray_data.Dataset.write_webdataset)


def test_fsspec_memory_filesystem_and_verbose_open(memfs, capsys):
    fs, root = memfs
    rows = [{"__key__": f"k{i}", "txt": f"t{i}", "cls": i} for i in range(4)]
    streamscope.from_items(rows).write_webdataset(f"memory://{root}/wds", min_rows_per_file=2)
    assert all(p.endswith(".tar") for p in fs.ls(f"{root}/wds", detail=False))
    got = sorted(streamscope.read_webdataset(f"memory://{root}/wds").take_all(), key=lambda r: r["__key__"])
    assert [(r["__key__"], r["txt"], r["cls"]) for r in got] == [(f"k{i}", f"t{i}", i) for i in range(4)]
    assert got[0]["__url__"].startswith("memory://")
    source = WebDatasetDatasource(f"memory://{root}/wds", verbose_open=True)
    path = source._paths[0]
    with fs.open(path, "rb") as f:
        list(source._read_stream(f, path))
    out = capsys.readouterr().out
    assert f"start memory://{path}" in out and f"done memory://{path}" in out
