"""``s3://`` through every file reader and writer, against a real local S3 server (moto in server
mode, ``s3_server.py``), with transient errors injected by a proxy; ``gs://`` and
``abfs://``/``az://`` path handling with fsspec memory fakes (no network).

Expected values come from the data the tests put on the server themselves (read back with
pyarrow, pandas, numpy and PIL), never from saved streamscope output. One server per module.
"""

from __future__ import annotations

import io
import json
import sys
import uuid

import numpy as np
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

import cloudpickle  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.fs as pafs  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import s3_server  # noqa: E402  (tests/engine/io is on sys.path: pytest's rootdir-relative import)
from fsspec.implementations.memory import MemoryFileSystem  # noqa: E402

import streamscope  # noqa: E402
from streamscope.datasource import Partitioning  # noqa: E402
from streamscope.engine.exceptions import DataSourceError  # noqa: E402
from streamscope.engine.io.csv_datasource import CSVDatasource  # noqa: E402
from streamscope.engine.io.object_stores import env_options, transient_aliases  # noqa: E402


# ---- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3():
    server = s3_server.S3Server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fs(s3):
    """s3fs on the server directly, its own retries off."""
    return s3_server.s3fs_filesystem(s3.endpoint)


@pytest.fixture
def proxied(s3):
    """s3fs through the fault-injecting proxy, its own retries (and botocore's) off."""
    s3.proxy.clear()
    yield s3_server.s3fs_filesystem(s3.proxy.endpoint)
    s3.proxy.clear()


@pytest.fixture
def bucket(fs):
    name = f"b-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    return name


def _objects(fs, prefix: str) -> list[str]:
    """The objects under ``prefix``, without empty ``dir/`` markers (pyarrow's S3 makes them)."""
    fs.invalidate_cache()
    return sorted(o for o in fs.find(prefix) if not o.endswith("/"))


def _sorted_rows(ds, key="x"):
    return sorted(ds.take_all(), key=lambda r: (r.get("k", ""), r[key]))


# ---- every reader ---------------------------------------------------------------------------------
VALUES = {("a", 0): [0, 1, 2], ("a", 1): [10, 11, 12], ("a", 2): [20, 21], ("b", 3): [30], ("b", 4): [40, 41, 42],
          ("b", 5): [50, 51]}
"""(partition, file index) -> the values in that file: 6 objects under two Hive partitions."""


def _put(fs, path: str, data: bytes) -> None:
    with fs.open(path, "wb") as f:
        f.write(data)


def _parquet_bytes(values):
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": values}), buf)
    return buf.getvalue()


def _npy_bytes(values):
    buf = io.BytesIO()
    np.save(buf, np.array(values, dtype=np.int64))
    return buf.getvalue()


def _png_bytes(value):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (2, 3), (value, value, value)).save(buf, format="PNG")
    return buf.getvalue()


FORMATS = {
    # name: (extension, bytes of one file, reader, rows one file gives (without the partition))
    "parquet": ("parquet", _parquet_bytes, streamscope.read_parquet, lambda vs: [{"x": v} for v in vs]),
    "csv": ("csv", lambda vs: ("x\n" + "".join(f"{v}\n" for v in vs)).encode(), streamscope.read_csv,
            lambda vs: [{"x": v} for v in vs]),
    "json": ("jsonl", lambda vs: "".join(json.dumps({"x": v}) + "\n" for v in vs).encode(),
             lambda p, **kw: streamscope.read_json(p, lines=True, file_extensions=["jsonl"], **kw),
             lambda vs: [{"x": v} for v in vs]),
    "text": ("txt", lambda vs: "".join(f"line {v}\n" for v in vs).encode(), streamscope.read_text,
             lambda vs: [{"text": f"line {v}"} for v in vs]),
    "binary": ("bin", lambda vs: bytes(vs), streamscope.read_binary_files, lambda vs: [{"bytes": bytes(vs)}]),
    "numpy": ("npy", _npy_bytes, streamscope.read_numpy, lambda vs: [{"data": v} for v in vs]),
    "images": ("png", lambda vs: _png_bytes(vs[0]), streamscope.read_images,
               lambda vs: [{"image": int(vs[0]) * 18}]),  # the pixel sum of a 2x3 grey image of value v
}


def _plain(row):
    out = {}
    for k, v in row.items():
        if k == "image":
            v = int(np.asarray(v).sum() // 1)  # 2*3 pixels * 3 channels of value v
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_reader_lists_a_prefix_with_hive_partitions_on_s3(fmt, fs, bucket):
    ext, to_bytes, reader, file_rows = FORMATS[fmt]
    expected = []
    for (part, i), values in VALUES.items():
        _put(fs, f"{bucket}/tbl/k={part}/f{i}.{ext}", to_bytes(values))
        expected.extend(dict(r, k=part) for r in file_rows(values))
    _put(fs, f"{bucket}/tbl/_SUCCESS", b"")  # hidden markers are skipped, as locally
    _put(fs, f"{bucket}/tbl/k=a/.f9.{ext}.crc", b"junk")
    ds = reader(f"s3://{bucket}/tbl", filesystem=fs, partitioning=Partitioning("hive"))
    assert sorted(ds.input_files()) == sorted(f"s3://{bucket}/tbl/k={p}/f{i}.{ext}" for p, i in VALUES)
    got = [_plain(r) for r in ds.take_all()]
    key = lambda r: json.dumps({k: (v.hex() if isinstance(v, bytes) else v) for k, v in r.items()}, sort_keys=True)  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)


def test_many_objects_are_read_by_parallel_tasks_with_globs_and_explicit_keys(fs, bucket):
    for i in range(24):
        _put(fs, f"{bucket}/many/part-{i:02}.csv", f"x\n{i}\n".encode())
    _put(fs, f"{bucket}/many/notes.txt", b"not csv")
    ds = streamscope.read_csv(f"s3://{bucket}/many/*.csv", filesystem=fs)
    materialized = ds.materialize()
    assert sorted(r["x"] for r in materialized.take_all()) == list(range(24))
    assert materialized.num_blocks() >= 4  # several read tasks, not one reading everything
    keys = [f"s3://{bucket}/many/part-{i:02}.csv" for i in (3, 7)]
    assert sorted(r["x"] for r in streamscope.read_csv(keys, filesystem=fs).take_all()) == [3, 7]


def test_parquet_filters_prune_partitions_and_push_columns_on_s3(fs, bucket, capsys):
    for (part, i), values in VALUES.items():
        _put(fs, f"{bucket}/t/k={part}/f{i}.parquet", _parquet_bytes(values))
    ds = streamscope.read_parquet(f"s3://{bucket}/t", filesystem=fs).filter(expr="k == 'b'").select_columns(["x"])
    ds.explain()  # prints, as Ray's does
    assert "3 of 6 files pruned by k == 'b'; columns=['x']" in capsys.readouterr().out
    assert sorted(r["x"] for r in ds.take_all()) == [30, 40, 41, 42, 50, 51]


# ---- every writer ---------------------------------------------------------------------------------
ROWS = [{"x": i, "k": "a" if i % 3 else "b"} for i in range(30)]


def _read_back(fs, fmt, paths):
    import pandas as pd

    rows = []
    for p in paths:
        with fs.open(p, "rb") as f:
            if fmt == "parquet":
                rows.extend(pq.read_table(f).to_pylist())
            elif fmt == "csv":
                rows.extend(pd.read_csv(f).to_dict("records"))
            elif fmt == "json":
                rows.extend(json.loads(line) for line in f.read().decode().splitlines() if line)
            elif fmt == "numpy":
                rows.extend({"x": int(v)} for v in np.load(f))
    return rows


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json", "numpy"])
def test_every_writer_commits_final_objects_only_and_leaves_no_temporaries(fmt, fs, bucket):
    ds = streamscope.from_items(ROWS, override_num_blocks=3)
    out = f"s3://{bucket}/out"
    if fmt == "numpy":
        ds.write_numpy(out, column="x", filesystem=fs)
    else:
        getattr(ds, f"write_{fmt}")(out, filesystem=fs)
    objects = _objects(fs, f"{bucket}/out")
    assert objects and all("._tmp_" not in o for o in objects)
    assert all(o.endswith({"numpy": ".npy"}.get(fmt, "." + fmt)) for o in objects)
    got = _read_back(fs, fmt, objects)
    expected = [{"x": r["x"]} for r in ROWS] if fmt == "numpy" else ROWS
    assert sorted(got, key=lambda r: r["x"]) == expected


def test_write_images_commits_one_object_per_row_on_s3(fs, bucket):
    from PIL import Image

    images = [np.full((3, 2, 3), 10 * i, dtype=np.uint8) for i in range(5)]
    ds = streamscope.from_items([{"image": img, "i": i} for i, img in enumerate(images)], override_num_blocks=2)
    ds.write_images(f"s3://{bucket}/img", column="image", file_format="png", filesystem=fs)
    objects = _objects(fs, f"{bucket}/img")
    assert len(objects) == 5 and all(o.endswith(".png") and "._tmp_" not in o for o in objects)
    assert all(o.rsplit("_", 2)[-2].isdigit() for o in objects)  # ..._{block_index:06}_{row_index:06}.png
    decoded = sorted(int(np.asarray(Image.open(io.BytesIO(fs.cat(o)))).max()) for o in objects)
    assert decoded == [0, 10, 20, 30, 40]
    with pytest.raises(ValueError, match="Pillow cannot write file_format='nope'"):
        ds.write_images(f"s3://{bucket}/img2", column="image", file_format="nope", filesystem=fs)


def test_write_parquet_partition_cols_and_overwrite_on_s3(fs, bucket):
    out = f"s3://{bucket}/parts"
    streamscope.from_items(ROWS).write_parquet(out, filesystem=fs, partition_cols=["k"])
    first = _objects(fs, f"{bucket}/parts")
    assert {o.split("/")[2] for o in first} == {"k=a", "k=b"}
    back = streamscope.read_parquet(out, filesystem=fs)
    assert sorted(back.take_all(), key=lambda r: r["x"]) == ROWS  # Hive values come back as the column
    streamscope.from_items(ROWS[:4]).write_parquet(out, filesystem=fs, mode="overwrite")
    second = _objects(fs, f"{bucket}/parts")
    assert not set(first) & set(second)  # the old objects are gone, the new ones in place
    assert sorted(r["x"] for r in _read_back(fs, "parquet", second)) == [0, 1, 2, 3]


def test_a_failing_write_leaves_no_objects(fs, bucket):
    def boom(batch):
        if 17 in batch["x"]:
            raise ValueError("row 17 is bad")
        return batch

    ds = streamscope.from_items(ROWS, override_num_blocks=6).map_batches(boom)
    with pytest.raises(ValueError, match="row 17 is bad"):
        ds.write_json(f"s3://{bucket}/failed", filesystem=fs)
    assert _objects(fs, f"{bucket}/failed") == []


# ---- how users point at the server ----------------------------------------------------------------
def test_a_pyarrow_s3_filesystem_reads_and_writes(s3, fs, bucket):
    host = s3.endpoint.split("://", 1)[1]
    arrow_fs = pafs.S3FileSystem(endpoint_override=host, scheme="http", access_key=s3_server.KEY,
                                 secret_key=s3_server.SECRET, region=s3_server.REGION, connect_timeout=2)
    streamscope.from_items(ROWS).write_csv(f"s3://{bucket}/arrow", filesystem=arrow_fs)
    objects = _objects(fs, f"{bucket}/arrow")
    assert objects and sorted(_read_back(fs, "csv", objects), key=lambda r: r["x"]) == ROWS
    back = streamscope.read_csv(f"s3://{bucket}/arrow", filesystem=fs)  # pyarrow's "arrow/" marker is no file
    assert sorted(back.take_all(), key=lambda r: r["x"]) == ROWS
    for (part, i), values in VALUES.items():
        _put(fs, f"{bucket}/pq/k={part}/f{i}.parquet", _parquet_bytes(values))
    ds = streamscope.read_parquet(f"s3://{bucket}/pq", filesystem=arrow_fs)
    assert ds.input_files()[0] == f"s3://{bucket}/pq/k=a/f0.parquet"
    assert sorted(r["x"] for r in ds.take_all()) == sorted(v for vs in VALUES.values() for v in vs)


def test_plain_s3_paths_use_the_drivers_environment_even_in_workers_started_before(s3, fs, bucket, monkeypatch):
    streamscope.range(4, override_num_blocks=2).map(lambda r: r).take_all()  # the workers exist, without these
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_server.REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    streamscope.from_items(ROWS, override_num_blocks=3).write_json(f"s3://{bucket}/env")
    assert sorted(_read_back(fs, "json", _objects(fs, f"{bucket}/env")), key=lambda r: r["x"]) == ROWS
    ds = streamscope.read_json(f"s3://{bucket}/env")
    assert sorted(ds.take_all(), key=lambda r: r["x"]) == ROWS
    assert env_options("s3")["endpoint_url"] == s3.endpoint


def test_anonymous_at_bucket_reads_without_credentials_as_in_ray(s3, fs, bucket, monkeypatch):
    with fs.open(f"{bucket}/pub/a.csv", "wb", acl="public-read") as f:  # a public object, as Ray's examples read
        f.write(b"x\n5\n6\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_server.REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-used-for-anonymous")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-used-for-anonymous")
    source = CSVDatasource(f"s3://anonymous@{bucket}/pub")
    assert source._fs.anon is True and source._fs.key is None  # unsigned requests, the keys left out
    ds = streamscope.read_csv(f"s3://anonymous@{bucket}/pub")
    assert ds.input_files() == [f"s3://{bucket}/pub/a.csv"]
    assert sorted(r["x"] for r in ds.take_all()) == [5, 6]  # in workers too: anon travels with the filesystem
    # (moto answers unsigned HEADs with HTTP 500 while it checks credentials, so that is not tried here)


def test_filesystems_and_read_tasks_pickle_to_workers(s3, fs, bucket, run_tasks):
    _put(fs, f"{bucket}/p/a.csv", b"x\n1\n2\n")
    arrow_fs = pafs.S3FileSystem(endpoint_override=s3.endpoint.split("://", 1)[1], scheme="http",
                                 access_key=s3_server.KEY, secret_key=s3_server.SECRET, region=s3_server.REGION)
    for given in (fs, arrow_fs):
        source = CSVDatasource(f"s3://{bucket}/p", filesystem=given)
        copy = cloudpickle.loads(cloudpickle.dumps(source))
        assert run_tasks(copy, pickle=True).column("x").to_pylist() == [1, 2]


# ---- retries of transient errors ------------------------------------------------------------------
TRANSIENT = [pytest.param(503, "SlowDown", "Please reduce your request rate.", id="503-SlowDown"),
             pytest.param(500, "InternalError", "We encountered an internal error. Please try again.",
                          id="500-InternalError", marks=pytest.mark.slow)]


@pytest.mark.parametrize("status,code,message", TRANSIENT)
def test_a_transient_error_on_one_get_is_retried_by_streamscope_with_every_row_once(
        s3, fs, proxied, bucket, status, code, message):
    for i in range(4):
        _put(fs, f"{bucket}/r/f{i}.csv", ("x\n" + "".join(f"{i * 10 + j}\n" for j in range(5))).encode())
    target = f"/{bucket}/r/f2.csv"
    fault = s3.proxy.fail("GET", target, times=1, status=status, code=code, message=message)
    ds = streamscope.read_csv(f"s3://{bucket}/r", filesystem=proxied)
    assert sorted(r["x"] for r in ds.take_all()) == [i * 10 + j for i in range(4) for j in range(5)]
    assert fault.injected == 1 and s3.proxy.count("GET", target) == 2  # one error, one good retry
    assert "Retries: 1" in ds.stats()


@pytest.mark.parametrize("client", ["s3fs", "pyarrow"])
def test_a_transient_error_on_a_parquet_read_task_is_retried(client, s3, fs, proxied, bucket, ctx):
    """pyarrow's S3 words the error as Ray's default patterns do, s3fs as botocore does: both retried."""
    for (part, i), values in VALUES.items():
        _put(fs, f"{bucket}/t/k={part}/f{i}.parquet", _parquet_bytes(values))
    target = f"/{bucket}/t/k=b/f4.parquet"
    if client == "pyarrow":
        proxied = pafs.S3FileSystem(endpoint_override=s3.proxy.endpoint.split("://", 1)[1], scheme="http",
                                    access_key=s3_server.KEY, secret_key=s3_server.SECRET, region=s3_server.REGION,
                                    retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=0))  # no retries of its own
        # pyarrow pickles an S3FileSystem without its retry_strategy (workers would get pyarrow's 3
        # attempts, hiding the error), so this read runs in the driver's threads, unpickled
        ctx.small_plan_inline_rows = 1_000
    ds = streamscope.read_parquet(f"s3://{bucket}/t", filesystem=proxied)
    assert ds.count() == 14  # the driver reads (and keeps) the footers: a second run reads only in tasks
    fault = s3.proxy.fail("GET", target, times=1)  # now the read task's first GET fails
    rows = ds.take_all()
    assert sorted((r["k"], r["x"]) for r in rows) == sorted((p, v) for (p, _), vs in VALUES.items() for v in vs)
    assert fault.injected == 1 and "Retries: 1" in ds.stats()


def test_without_a_matching_pattern_the_same_error_fails_naming_the_file(s3, fs, proxied, bucket, ctx):
    """Proves nothing below streamscope (s3fs, botocore) retried the error in the tests above."""
    _put(fs, f"{bucket}/r/f0.csv", b"x\n1\n")
    s3.proxy.fail("GET", f"/{bucket}/r/f0.csv", times=1)
    ctx.retried_io_errors = []
    with pytest.raises(DataSourceError) as info:
        streamscope.read_csv(f"s3://{bucket}/r", filesystem=proxied).take_all()
    first_line = str(info.value).splitlines()[0]
    assert f"failed to read 's3://{bucket}/r/f0.csv'" in first_line and "SlowDown" in first_line
    assert s3.proxy.endpoint in first_line


def test_a_transient_error_on_one_put_is_retried_and_commits_every_row_once(s3, fs, proxied, bucket):
    fault = s3.proxy.fail("PUT", f"/{bucket}/w/._tmp_", times=1, prefix=True)
    ds = streamscope.from_items(ROWS, override_num_blocks=3)
    ds.write_parquet(f"s3://{bucket}/w", filesystem=proxied)
    objects = _objects(fs, f"{bucket}/w")
    assert fault.injected == 1 and all("._tmp_" not in o for o in objects)
    assert "Retries: 1" in ds.stats()
    assert sorted(_read_back(fs, "parquet", objects), key=lambda r: r["x"]) == ROWS


def test_a_transient_error_on_a_commit_copy_is_retried(s3, fs, proxied, bucket):
    fault = s3.proxy.fail("PUT", f"/{bucket}/c/", times=1, prefix=True, unless=("._tmp_",), status=500,
                          code="InternalError", message="We encountered an internal error. Please try again.")
    streamscope.from_items(ROWS, override_num_blocks=2).write_csv(f"s3://{bucket}/c", filesystem=proxied)
    objects = _objects(fs, f"{bucket}/c")
    assert fault.injected == 1 and all("._tmp_" not in o for o in objects)
    assert sorted(_read_back(fs, "csv", objects), key=lambda r: r["x"]) == ROWS


def test_a_put_that_keeps_failing_leaves_no_objects_and_names_the_file(s3, fs, proxied, bucket, ctx):
    ctx.retried_io_errors = []
    s3.proxy.fail("PUT", f"/{bucket}/w/._tmp_", times=1, prefix=True, skip=1)  # the second file fails
    with pytest.raises(DataSourceError, match=rf"WriteJSON: failed to write 's3://{bucket}/w/[^']+\.json'"):
        streamscope.from_items(ROWS, override_num_blocks=3).write_json(f"s3://{bucket}/w", filesystem=proxied,
                                                                      concurrency=1)
    assert _objects(fs, f"{bucket}/w") == []


def test_a_commit_that_fails_part_way_removes_the_objects_it_committed(s3, fs, proxied, bucket):
    s3.proxy.fail("PUT", f"/{bucket}/c/", times=100, prefix=True, unless=("._tmp_",), skip=1, status=403,
                  code="AccessDenied", message="Access Denied")  # the first rename works, the second cannot
    with pytest.raises(DataSourceError, match=rf"WriteCSV: could not commit 's3://{bucket}/c/[^']+\.csv' \(nothing of "
                                              r"this write was kept\): PermissionError"):
        streamscope.from_items(ROWS, override_num_blocks=3).write_csv(f"s3://{bucket}/c", filesystem=proxied)
    assert _objects(fs, f"{bucket}/c") == []


# ---- errors -----------------------------------------------------------------------------------------
def test_a_missing_key_or_bucket_names_the_path(fs, bucket):
    with pytest.raises(DataSourceError, match=rf"path not found: 's3://{bucket}/nope\.csv'"):
        streamscope.read_csv(f"s3://{bucket}/nope.csv", filesystem=fs)
    with pytest.raises(DataSourceError, match=r"'s3://no-such-bucket-x/t'.*bucket 'no-such-bucket-x' does not exist"):
        streamscope.read_parquet("s3://no-such-bucket-x/t", filesystem=fs)
    with pytest.raises(DataSourceError, match=r"WriteCSV: failed to write 's3://no-such-bucket-x/out/.*bucket does not exist"):
        streamscope.range(3).write_csv("s3://no-such-bucket-x/out", filesystem=fs)


def test_an_unreachable_endpoint_fails_at_once_naming_it():
    endpoint = s3_server.closed_port_endpoint()
    closed = s3_server.s3fs_filesystem(endpoint, connect_timeout=1)
    with pytest.raises(DataSourceError, match=r"cannot list 's3://b/t'.*" + endpoint.replace(".", r"\.")):
        streamscope.read_parquet("s3://b/t", filesystem=closed)
    with pytest.raises(DataSourceError, match=r"WriteJSON: cannot write to 's3://b/out'.*" + endpoint.replace(".", r"\.")):
        streamscope.range(3).write_json("s3://b/out", filesystem=closed)


class moto_checks_credentials:
    """``with moto_checks_credentials():`` moto refuses unknown access keys (its IAM
    authentication, on in this process's server), and lets everything through again after."""

    def __enter__(self):
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin

        self.saved = settings.INITIAL_NO_AUTH_ACTION_COUNT
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0

    def __exit__(self, *exc):
        from moto import settings

        settings.INITIAL_NO_AUTH_ACTION_COUNT = self.saved


def test_wrong_credentials_are_an_access_error_naming_path_and_endpoint(s3, fs, bucket):
    _put(fs, f"{bucket}/t/a.csv", b"x\n1\n")
    wrong = s3_server.s3fs_filesystem(s3.endpoint, key="AKIAWRONGWRONGWRONG0", secret="wrong")
    with moto_checks_credentials():
        with pytest.raises(DataSourceError, match=rf"access denied listing 's3://{bucket}/t'.*{s3.endpoint}.*credentials"):
            streamscope.read_csv(f"s3://{bucket}/t", filesystem=wrong)
        with pytest.raises(DataSourceError, match=rf"cannot write to 's3://{bucket}/w'.*PermissionError.*credentials"):
            streamscope.range(3).write_csv(f"s3://{bucket}/w", filesystem=wrong)
    assert _objects(fs, f"{bucket}/w") == []


@pytest.mark.parametrize("url,extra,module", [("s3://b/x.parquet", "s3", "s3fs"), ("gs://b/x.parquet", "gcs", "gcsfs"),
                                              ("abfs://c/x.parquet", "azure", "adlfs"),
                                              ("az://c/x.parquet", "azure", "adlfs")])
def test_a_missing_library_is_an_import_error_naming_the_extra(url, extra, module, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    message = rf"needs the '{module}' package, which is not installed: pip install 'streamscope\[{extra}\]'"
    with pytest.raises(ImportError, match=message):
        streamscope.read_parquet(url)
    with pytest.raises(ImportError, match=message):
        streamscope.range(2).write_csv(url.rsplit("/", 1)[0] + "/out")


def test_the_drivers_s3_environment_becomes_filesystem_options():
    env = {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://s3:2", "AWS_ACCESS_KEY_ID": "id",
           "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-north-1",
           "AWS_MAX_ATTEMPTS": "2", "AWS_RETRY_MODE": "standard", "AWS_PROFILE": "ignored-with-keys"}
    assert env_options("s3", env) == {
        "endpoint_url": "http://s3:2", "key": "id", "secret": "secret", "token": "tok",
        "client_kwargs": {"region_name": "eu-north-1"},
        "config_kwargs": {"retries": {"total_max_attempts": 2, "mode": "standard"}}}
    assert env_options("s3a", {"AWS_PROFILE": "dev"}) == {"profile": "dev"}
    assert env_options("gs", {"STORAGE_EMULATOR_HOST": "127.0.0.1:4443", "GOOGLE_CLOUD_PROJECT": "p"}) == {
        "endpoint_url": "http://127.0.0.1:4443", "project": "p"}
    assert env_options("file", {"AWS_ACCESS_KEY_ID": "id"}) == {}


def test_object_store_errors_read_as_rays_default_patterns():
    import gcsfs.retry
    from azure.core.exceptions import HttpResponseError

    gcs = gcsfs.retry.HttpError({"code": 503, "message": "backend error"})
    azure = HttpResponseError(message="server busy")
    azure.status_code = 500
    assert transient_aliases(gcs) == ["AWS Error UNKNOWN (HTTP status 503)"]
    assert transient_aliases(azure) == ["AWS Error INTERNAL_FAILURE"]
    assert transient_aliases(FileNotFoundError("gone")) == []


# ---- gs:// and abfs:// / az:// path handling with memory fakes --------------------------------------
class _FakeStore(MemoryFileSystem):
    """A memory filesystem answering to an object store's protocols (keys "bucket/key")."""

    store: dict = {}
    pseudo_dirs = [""]

    @classmethod
    def _strip_protocol(cls, path):
        for proto in cls.protocol:
            if isinstance(path, str) and path.startswith(proto + "://"):
                path = path[len(proto) + 3:]
        return super()._strip_protocol(path)

    def unstrip_protocol(self, name):
        return f"{self.protocol[0]}://{name.lstrip('/')}"


class FakeGCS(_FakeStore):
    protocol = ("gs", "gcs")
    store: dict = {}


class FakeAzure(_FakeStore):
    protocol = ("abfs", "abfss", "az")
    store: dict = {}


@pytest.fixture
def fake_gcs():
    pytest.importorskip("gcsfs")
    fake = FakeGCS(skip_instance_cache=True)
    fake.store.clear()
    yield fake
    fake.store.clear()


@pytest.fixture
def fake_azure():
    pytest.importorskip("adlfs")
    fake = FakeAzure(skip_instance_cache=True)
    fake.store.clear()
    yield fake
    fake.store.clear()


def test_gs_paths_list_parse_partitions_and_write_output_paths(fake_gcs):
    for (part, i), values in VALUES.items():
        fake_gcs.pipe(f"gs://bkt/tbl/k={part}/f{i}.parquet", _parquet_bytes(values))
    ds = streamscope.read_parquet("gs://bkt/tbl", filesystem=fake_gcs, include_paths=True)
    rows = ds.take_all()
    assert sorted((r["k"], r["x"]) for r in rows) == sorted((p, v) for (p, _), vs in VALUES.items() for v in vs)
    assert {r["path"] for r in rows} == {f"gs://bkt/tbl/k={p}/f{i}.parquet" for p, i in VALUES}
    assert streamscope.read_parquet("gcs://bkt/tbl/k=a", filesystem=fake_gcs).count() == 8  # gcs:// is gs://
    streamscope.from_items(ROWS).write_parquet("gs://bkt/out", filesystem=fake_gcs, partition_cols=["k"])
    written = sorted(fake_gcs.find("gs://bkt/out"))
    assert written and all(w.startswith(("/bkt/out/k=a/", "/bkt/out/k=b/")) and "._tmp_" not in w for w in written)
    back = [dict(r, k=w.split("/")[3][2:]) for w in written for r in pq.read_table(io.BytesIO(fake_gcs.cat(w))).to_pylist()]
    assert sorted(back, key=lambda r: r["x"]) == ROWS
    with pytest.raises(ValueError, match=r"'s3://' path, but filesystem= is FakeGCS"):
        streamscope.read_parquet("s3://bkt/tbl", filesystem=fake_gcs)


@pytest.mark.parametrize("scheme", ["abfs", "az"])
def test_azure_paths_list_and_write(scheme, fake_azure):
    for i in range(3):
        fake_azure.pipe(f"{scheme}://container/d/p{i}.csv", f"x\n{i}\n".encode())
    ds = streamscope.read_csv(f"{scheme}://container/d", filesystem=fake_azure)
    assert sorted(ds.input_files()) == [f"abfs://container/d/p{i}.csv" for i in range(3)]
    assert sorted(r["x"] for r in ds.take_all()) == [0, 1, 2]
    streamscope.from_items(ROWS[:5]).write_json(f"{scheme}://container/o", filesystem=fake_azure)
    written = fake_azure.find(f"{scheme}://container/o")
    assert written and all("._tmp_" not in w for w in written)
    assert sorted(json.loads(line)["x"] for w in written for line in fake_azure.cat(w).decode().splitlines()) == [0, 1, 2, 3, 4]
