"""Probe calls for the connectors (SQL, Delta Lake, Iceberg, Lance, WebDataset, TFRecords, Avro,
ORC, audio, video, Hugging Face): their small inputs, the values tried for their own arguments,
and their call templates. :mod:`probes` merges these with the file formats' ones.

Why a module of its own: each connector needs a real input of its format (a SQLite table, a
Delta table with two versions, an Iceberg SQL catalog...), made with the format's own library,
not with streamscope, so a probe tests streamscope against the real thing. Inputs are made once
per generation, on first use, and are a few rows each: the whole set costs well under a second
beyond the libraries' imports.
"""

from __future__ import annotations

import functools
import io
import json
import importlib
import os
import sqlite3
import sys
import tarfile
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pyarrow as pa

ROWS = {"id": [1, 2, 3, 4], "group": ["a", "b", "a", "b"]}
"""The rows of every connector's input (the columns the generic probe values name: ``id``, ``group``)."""


class Fx:
    """A probe value made from the connector inputs when the probe runs: ``getattr(inputs, name)()``
    (a path, a snapshot id, a catalog object: things that exist only once the inputs are made)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# --- values a Ray Data user would pass, by module-level function so they pickle -----------------------

def _sql_hash(value: Any) -> Any:
    """A stand-in for a database's hash function (SQLite has none): NULL in, NULL out."""
    return None if value is None else zlib.crc32(str(value).encode())


def sqlite_connect(path: str) -> sqlite3.Connection:
    """A sqlite3 connection with the SQL functions ``read_sql``'s sharding uses: ``MD5`` (Ray's
    default ``shard_hash_fn``; here an integer hash) and ``CRC32``, and ``CONCAT``."""
    conn = sqlite3.connect(path)
    conn.create_function("MD5", 1, _sql_hash, deterministic=True)
    conn.create_function("CRC32", 1, _sql_hash, deterministic=True)
    conn.create_function("CONCAT", -1, lambda *parts: "".join("" if p is None else str(p) for p in parts))
    return conn


def _decode_sample(sample: dict) -> dict:
    """A WebDataset decoder: the sample with its ``txt`` member decoded."""
    return {k: (v.decode() if k == "txt" and isinstance(v, bytes) else v) for k, v in sample.items()}


def _rename_member(name: str) -> str:
    """A WebDataset ``filerename``: ``.text`` members read as ``.txt``."""
    return name[:-5] + ".txt" if name.endswith(".text") else name


def _encode_sample(sample: dict) -> dict:
    """A WebDataset encoder: every field written as UTF-8 text."""
    return {k: (v if k.startswith("__") else str(v).encode()) for k, v in sample.items()}


def _orc_args() -> dict:
    return {"compression": "zstd"}


def _tf_schema(**kinds: str) -> Any:
    """A ``tensorflow_metadata`` ``schema_pb2.Schema`` stand-in (tensorflow_metadata is not a
    dependency): ``.feature`` entries with ``.name`` and ``.type`` (BYTES = 1, INT = 2, FLOAT = 3)."""
    codes = {"bytes": 1, "int": 2, "float": 3}
    return SimpleNamespace(feature=[SimpleNamespace(name=n, type=codes[t]) for n, t in kinds.items()])


class ProbeCatalog:
    """A catalog in Ray Data 2.60's ``Catalog`` shape (``resolve(table, reader=, mode=)`` returning a
    ``ResolvedSource``-like object), resolving to the probe inputs: what ``ray.data.DatabricksUnityCatalog``
    gives a reader, without a server."""

    def __init__(self, path: Any = None, catalog_kwargs: Any = None):
        self._path, self._catalog_kwargs = path, catalog_kwargs

    def resolve(self, table: str, *, reader: Any = None, mode: Any = "read") -> Any:
        return SimpleNamespace(path=self._path or table, filesystem=None, storage_options=None,
                               catalog_kwargs=self._catalog_kwargs, table_identifier=None, data_format=reader)

    def __repr__(self) -> str:
        return "<catalog>"


def _import_with_env(module: str, **env: str) -> Any:
    """Import ``module`` with ``env`` set while it initialises (the Hugging Face libraries read
    their offline switches at import), leaving the process environment as it was."""
    if module in sys.modules:
        return sys.modules[module]
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update({key: value for key, value in env.items() if saved[key] is None})
    try:
        return importlib.import_module(module)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


def _cached(method: Callable) -> Callable:
    """Make an input once, on first use."""
    @functools.wraps(method)
    def wrapper(self):
        key = method.__name__
        if key not in self._made:
            self._made[key] = method(self)
        return self._made[key]
    return wrapper


class ConnectorInputs:
    """One small input per connector under ``root``, made on first use with the format's library."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(exist_ok=True)
        self._made: dict[str, Any] = {}
        self._fresh = 0

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def _next(self) -> int:
        self._fresh += 1
        return self._fresh

    # SQL: a SQLite file with a table; write probes each get a new empty table
    @_cached
    def sqlite_db(self) -> str:
        path = str(self.root / "probe.db")
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE items(id INTEGER, grp TEXT)")
            conn.executemany("INSERT INTO items VALUES (?, ?)", list(zip(ROWS["id"], ROWS["group"])))
        conn.close()
        return path

    def sql_factory(self) -> Callable[[], Any]:
        return functools.partial(sqlite_connect, self.sqlite_db())

    def sql_insert(self) -> str:
        """A new empty table for ``write_sql``; its ``INSERT`` statement."""
        name = f"out{self._next()}"
        conn = sqlite3.connect(self.sqlite_db())
        with conn:
            conn.execute(f'CREATE TABLE {name}(id INTEGER, "group" TEXT, x REAL)')
        conn.close()
        return f"INSERT INTO {name} VALUES (?, ?, ?)"

    # Delta Lake: a table with two versions (0 and 1)
    @_cached
    def delta_path(self) -> str:
        from deltalake import write_deltalake

        path = str(self.root / "delta")
        write_deltalake(path, pa.table(ROWS))
        write_deltalake(path, pa.table({"id": [5], "group": ["a"]}), mode="append")
        return path

    def delta_filesystem(self) -> Any:
        """A pyarrow filesystem rooted at the table's directory, as ``read_delta`` takes it."""
        import pyarrow.fs as pafs

        return pafs.SubTreeFileSystem(self.delta_path(), pafs.LocalFileSystem())

    def delta_catalog(self) -> Any:
        return ProbeCatalog(path=self.delta_path())

    # Lance: a dataset with two versions (1 and 2)
    @_cached
    def lance_uri(self) -> str:
        import lance

        uri = str(self.root / "probe.lance")
        lance.write_dataset(pa.table(ROWS), uri)
        lance.write_dataset(pa.table({"id": [5], "group": ["a"]}), uri, mode="append")
        return uri

    # Iceberg: a SQL catalog on SQLite with namespace ``db``, a table with two snapshots
    @_cached
    def iceberg_kwargs(self) -> dict:
        from pyiceberg.catalog.sql import SqlCatalog

        root = self._dir("iceberg")
        kwargs = {"name": "probe", "type": "sql", "uri": f"sqlite:///{root}/catalog.db",
                  "warehouse": f"file://{root}/warehouse"}
        catalog = SqlCatalog("probe", **{k: v for k, v in kwargs.items() if k not in ("name", "type")})
        catalog.create_namespace("db")
        table = catalog.create_table("db.events", schema=pa.schema([("id", pa.int64()), ("group", pa.string())]))
        table.append(pa.table(ROWS))
        self._made["iceberg_first_snapshot"] = table.current_snapshot().snapshot_id
        table.append(pa.table({"id": [5], "group": ["a"]}))
        engine = getattr(catalog, "engine", None)
        if engine is not None:
            engine.dispose()  # no connection left open
        return kwargs

    def iceberg_catalog_kwargs(self) -> dict:
        return dict(self.iceberg_kwargs())

    def iceberg_snapshot(self) -> int:
        self.iceberg_kwargs()
        return self._made["iceberg_first_snapshot"]

    def iceberg_catalog(self) -> Any:
        return ProbeCatalog(catalog_kwargs=self.iceberg_catalog_kwargs())

    def iceberg_table(self) -> str:
        """A new empty table with the write probes' columns (``id``, ``group``, ``x``)."""
        from pyiceberg.catalog import load_catalog

        kwargs = dict(self.iceberg_kwargs())
        catalog = load_catalog(kwargs.pop("name"), **kwargs)
        name = f"db.out{self._next()}"
        catalog.create_table(name, schema=pa.schema([("id", pa.int64()), ("group", pa.string()), ("x", pa.float64())]))
        engine = getattr(catalog, "engine", None)
        if engine is not None:
            engine.dispose()
        return name

    def iceberg_overwrite_filter(self) -> Any:
        """A Ray Data expression selecting the rows an overwrite replaces (``col("id") >= 4``)."""
        from streamscope.expressions import col

        return col("id") >= 4

    # files of the other formats, one directory each
    @_cached
    def webdataset_dir(self) -> str:
        path = self._dir("webdataset")
        with tarfile.open(path / "shard-000000.tar", "w") as tar:
            for key, label in (("a", 0), ("b", 1)):
                members = {"cls": str(label).encode(), "txt": f"sample {key}".encode(),
                           "json": json.dumps({"id": label + 1}).encode()}
                for ext, data in members.items():
                    info = tarfile.TarInfo(f"{key}.{ext}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        return str(path)

    @_cached
    def tfrecords_dir(self) -> str:
        import tfrecord

        path = self._dir("tfrecords")
        writer = tfrecord.TFRecordWriter(str(path / "part.tfrecords"))
        for i, g in zip(ROWS["id"], ROWS["group"]):
            writer.write({"id": (i, "int"), "group": (g.encode(), "byte")})
        writer.close()
        return str(path)

    @_cached
    def avro_dir(self) -> str:
        import fastavro

        path = self._dir("avro")
        schema = {"type": "record", "name": "Row", "fields": [{"name": "id", "type": "long"},
                                                             {"name": "group", "type": "string"}]}
        rows = [{"id": i, "group": g} for i, g in zip(ROWS["id"], ROWS["group"])]
        with open(path / "part.avro", "wb") as f:
            fastavro.writer(f, schema, rows)
        return str(path)

    @_cached
    def orc_dir(self) -> str:
        import pyarrow.orc as orc

        path = self._dir("orc")
        orc.write_table(pa.table(ROWS), str(path / "part.orc"))
        return str(path)

    @_cached
    def audio_dir(self) -> str:
        import soundfile

        path = self._dir("audio")
        soundfile.write(str(path / "tone.wav"), 0.5 * np.sin(np.arange(800) / 8.0), 8000)
        return str(path)

    @_cached
    def video_dir(self) -> str:
        import av

        path = self._dir("videos")
        with av.open(str(path / "clip.mp4"), "w") as out:
            stream = out.add_stream("mpeg4", rate=4)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
            for i in range(4):
                frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 60 * i, np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return str(path)

    @_cached
    def hf_dataset(self) -> Any:
        """A Hugging Face ``datasets.Dataset`` held in memory: nothing is downloaded, and
        ``from_dict`` writes no cache files."""
        datasets = _import_with_env("datasets", HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")

        return datasets.Dataset.from_dict(ROWS)


_READS = {"read_webdataset": "tar", "read_tfrecords": "tfrecords", "read_avro": "avro", "read_orc": "orc",
          "read_audio": "wav", "read_videos": "mp4"}
_DELTA_STORAGE = {"timeout": "30s"}  # an object-store client option deltalake and Lance take for any store

CONNECTOR_VALUES: dict[tuple[str, str], Any] = {
    **{(name, "file_extensions"): [ext] for name, ext in _READS.items()},
    # read_sql
    ("read_sql", "sql_params"): (2,), ("read_sql", "shard_keys"): ["id"], ("read_sql", "shard_hash_fn"): "CRC32",
    # read_delta / write_delta
    ("read_delta", "version"): 0, ("read_delta", "storage_options"): _DELTA_STORAGE,
    ("read_delta", "filesystem"): Fx("delta_filesystem"), ("read_delta", "catalog"): Fx("delta_catalog"),
    ("write_delta", "catalog"): Fx("delta_catalog"), ("write_delta", "partition_by"): ["group"],
    ("write_delta", "storage_options"): _DELTA_STORAGE, ("write_delta", "schema_mode"): "error",
    ("write_delta", "name"): "probe_table", ("write_delta", "description"): "a table the probes wrote",
    # read_iceberg / write_iceberg
    ("read_iceberg", "row_filter"): "id >= 2", ("read_iceberg", "selected_fields"): ("id",),
    ("read_iceberg", "snapshot_id"): Fx("iceberg_snapshot"), ("read_iceberg", "scan_kwargs"): {"limit": 2},
    ("read_iceberg", "catalog_kwargs"): Fx("iceberg_catalog_kwargs"), ("read_iceberg", "catalog"): Fx("iceberg_catalog"),
    ("write_iceberg", "catalog_kwargs"): Fx("iceberg_catalog_kwargs"), ("write_iceberg", "catalog"): Fx("iceberg_catalog"),
    ("write_iceberg", "snapshot_properties"): {"written_by": "probe"},
    ("write_iceberg", "overwrite_filter"): Fx("iceberg_overwrite_filter"), ("write_iceberg", "upsert_kwargs"): {"join_cols": ["id"]},
    ("write_iceberg", "overwrite_kwargs"): {"case_sensitive": False},
    # read_lance / write_lance
    ("read_lance", "version"): 1, ("read_lance", "filter"): "id > 1",
    ("read_lance", "storage_options"): _DELTA_STORAGE, ("read_lance", "scanner_options"): {"batch_size": 2},
    ("write_lance", "schema"): pa.schema([("id", pa.int64()), ("group", pa.string()), ("x", pa.float32())]),
    ("write_lance", "data_storage_version"): "stable", ("write_lance", "storage_options"): _DELTA_STORAGE,
    ("write_lance", "table_id"): ["probe_table"], ("write_lance", "namespace_impl"): "dir",
    ("write_lance", "namespace_properties"): {"root": "probe-namespace"},
    # WebDataset
    ("read_webdataset", "decoder"): _decode_sample, ("read_webdataset", "fileselect"): ["*.cls", "*.txt"],
    ("read_webdataset", "filerename"): _rename_member, ("read_webdataset", "suffixes"): ["cls", "txt"],
    ("read_webdataset", "verbose_open"): True, ("read_webdataset", "expand_json"): True,
    ("write_webdataset", "encoder"): _encode_sample,
    # TFRecords
    ("read_tfrecords", "tf_schema"): _tf_schema(id="int", group="bytes"),
    ("write_tfrecords", "tf_schema"): _tf_schema(id="int", group="bytes", x="float"),
    # media
    ("read_videos", "include_timestamps"): True, ("read_videos", "fps"): 2, ("read_videos", "resize"): (8, 8),
    # ORC
    ("write_orc", "arrow_orc_args_fn"): _orc_args,
}
"""``(name, argument) -> value`` for the connectors (:class:`Fx` values are made from the inputs)."""


def made(value: Any, inputs: ConnectorInputs) -> Any:
    """A connector probe value as the call gets it."""
    return getattr(inputs, value.name)() if isinstance(value, Fx) else value


def connector_templates(ss: Any, fx: Any) -> dict[tuple[str, str], Callable[..., Any]]:
    """``(section, name) -> call(**kwargs)`` for the connectors; ``fx`` is the probes' Fixtures."""
    inputs: ConnectorInputs = fx.connectors

    def ds():
        return ss.from_items([{"id": i, "group": "ab"[i % 2], "x": float(i)} for i in range(8)])

    def samples():
        return ss.from_items([{"__key__": f"s{i}", "cls": i, "txt": f"sample {i}"} for i in range(4)])

    def read_sql(**kw):
        sql = "SELECT id, grp FROM items" + (" WHERE id >= ?" if "sql_params" in kw else "")
        if "override_num_blocks" in kw:  # Ray Data needs shard_keys for override_num_blocks > 1
            kw = {"shard_keys": ["id"], **kw}
        if "shard_hash_fn" in kw:  # the hash is used when the query is split: ask for shards
            kw = {"shard_keys": ["id"], "override_num_blocks": 2, **kw}
        return ss.read_sql(sql, inputs.sql_factory(), **kw)

    def iceberg_args(kw: dict) -> dict:
        base = {} if "catalog" in kw else {"catalog_kwargs": inputs.iceberg_catalog_kwargs()}
        return {**base, **kw}

    def write_iceberg(**kw):
        if "upsert_kwargs" in kw:  # the arguments of a mode go with that mode
            kw = {"mode": "upsert", **kw}
        if "overwrite_filter" in kw or "overwrite_kwargs" in kw:
            kw = {"mode": "overwrite", **kw}
        return ds().write_iceberg(inputs.iceberg_table(), **iceberg_args(kw))

    return {
        ("module", "read_sql"): read_sql,
        ("module", "read_delta"): lambda **kw: ss.read_delta(inputs.delta_path(), **kw),
        ("module", "read_iceberg"): lambda **kw: ss.read_iceberg(table_identifier="db.events", **iceberg_args(kw)),
        ("module", "read_lance"): lambda **kw: ss.read_lance(inputs.lance_uri(), **kw),
        ("module", "read_webdataset"): lambda **kw: ss.read_webdataset(inputs.webdataset_dir(), **kw),
        ("module", "read_tfrecords"): lambda **kw: ss.read_tfrecords(inputs.tfrecords_dir(), **kw),
        ("module", "read_avro"): lambda **kw: ss.read_avro(inputs.avro_dir(), **kw),
        ("module", "read_orc"): lambda **kw: ss.read_orc(inputs.orc_dir(), **kw),
        ("module", "read_audio"): lambda **kw: ss.read_audio(inputs.audio_dir(), **kw),
        ("module", "read_videos"): lambda **kw: ss.read_videos(inputs.video_dir(), **kw),
        ("module", "from_huggingface"): lambda **kw: ss.from_huggingface(inputs.hf_dataset(), **kw),
        ("Dataset", "write_sql"): lambda **kw: ds().write_sql(inputs.sql_insert(), inputs.sql_factory(), **kw),
        ("Dataset", "write_delta"): lambda **kw: ds().write_delta(fx.out(), **kw),
        ("Dataset", "write_iceberg"): write_iceberg,
        ("Dataset", "write_lance"): lambda **kw: ds().write_lance(fx.out(), **kw),
        ("Dataset", "write_webdataset"): lambda **kw: samples().write_webdataset(fx.out(), **kw),
        ("Dataset", "write_tfrecords"): lambda **kw: ds().write_tfrecords(fx.out(), **kw),
        ("Dataset", "write_orc"): lambda **kw: ds().write_orc(fx.out(), **kw),
    }
