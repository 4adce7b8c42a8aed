"""Avro object container files, read with ``fastavro`` (Ray Data's ``read_avro``).

Why types come from the file's schema: an Avro file carries its writer schema in its header, so
every block of a read gets the same Arrow types whatever values it happens to hold (Ray Data 2.60
infers types from each block's Python values, so an all-null block of a ``["null", "string"]``
field, or a decimal whose values are short, changes type from block to block). The mapping keeps
Ray's results where they are stable:

==========================================  ===============================================
Avro                                         Arrow column
==========================================  ===============================================
``int``, ``long``                            ``int64`` (as Ray: Python ints)
``float``, ``double``                        ``double`` (as Ray: Python floats)
``boolean`` / ``string`` / ``enum``          ``bool`` / ``string`` / ``string``
``bytes``, ``fixed``                         ``binary``
``record``                                   ``struct`` of its fields
``array``                                    ``list`` of the items' type
``map``                                      ``map<string, values>`` (Ray: a struct of the keys seen)
``["null", T]``                              ``T``, nullable
union of several types                       their common type (``int``/``long`` -> ``int64``,
                                             numbers -> ``double``), else a column of Python
                                             objects (``streamscope.python_object``, as Ray)
``timestamp-millis`` / ``-micros``           ``timestamp[ms]`` / ``timestamp[us]``, no time zone
                                             (UTC wall time, as Ray gives them)
``local-timestamp-millis`` / ``-micros``     ``timestamp[ms]`` / ``timestamp[us]``
``date``                                     ``date32``
``time-millis``, ``time-micros``             ``time64[us]`` (as Ray)
``decimal(p, s)``                            ``decimal128(p, s)`` (``decimal256`` past 38 digits)
``uuid``                                     ``arrow.uuid``
==========================================  ===============================================

Records are streamed: ``fastavro.reader`` decodes one Avro block at a time and the rows are
turned into Arrow blocks of about 4 MiB, so a large file never sits in memory whole. A projection
(``select_columns``, or columns a later operator never uses) becomes fastavro's reader schema:
fields left out are skipped while decoding, not decoded and dropped.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource, split_file_args
from streamscope.engine.io.parquet_datasource import STREAM_BATCH_BYTES
from streamscope.engine.io.paths import display_path
from streamscope.engine.python_objects import objects_to_arrow

OBJECT = "python_object"
"""What :func:`avro_to_arrow` returns for a type kept as Python objects (mixed unions, recursion)."""

_PRIMITIVES = {
    "null": pa.null(), "boolean": pa.bool_(), "int": pa.int64(), "long": pa.int64(), "float": pa.float64(),
    "double": pa.float64(), "bytes": pa.binary(), "string": pa.string(),
}
_TIMESTAMPS = {
    "timestamp-millis": "ms", "timestamp-micros": "us", "timestamp-nanos": "ns",
    "local-timestamp-millis": "ms", "local-timestamp-micros": "us", "local-timestamp-nanos": "ns",
}
_FIRST_ROWS = 1024
"""Rows in a read's first block; later blocks are sized from its bytes per row."""


def avro_to_arrow(schema: Any, named: Optional[dict] = None, namespace: str = "",
                  active: frozenset = frozenset()) -> Any:
    """The Arrow type of an Avro schema (the table in the module docstring), or :data:`OBJECT`.

    ``named`` collects the named types (records, enums, fixed) defined so far, as Avro lets later
    fields refer to them by name; ``active`` holds the records being converted, so a recursive
    type becomes Python objects instead of an endless struct.

    Examples:
        >>> avro_to_arrow(["null", "long"])
        DataType(int64)
        >>> avro_to_arrow({"type": "map", "values": "string"})
        MapType(map<string, string>)
        >>> avro_to_arrow(["int", "string"])
        'python_object'
    """
    named = {} if named is None else named
    if isinstance(schema, list):
        return _union_type([avro_to_arrow(b, named, namespace, active) for b in schema])
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        for key in (full, schema):
            if key in named:
                if key in active:
                    return OBJECT
                return named[key]
        raise ValueError(f"unknown Avro type {schema!r}")
    if not isinstance(schema, dict):
        raise ValueError(f"not an Avro schema: {schema!r}")
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical is not None:
        converted = _logical_type(logical, schema)
        if converted is not None:
            return converted
    if isinstance(kind, (dict, list)):
        return avro_to_arrow(kind, named, namespace, active)
    if kind in ("record", "error"):
        name = _fullname(schema, namespace)
        inner = schema.get("namespace", name.rpartition(".")[0])
        named[name] = named.get(name, OBJECT)  # referenced while being defined: recursive
        fields = []
        for field in schema.get("fields", []):
            ftype = avro_to_arrow(field["type"], named, inner, active | {name})
            if ftype == OBJECT:
                named[name] = OBJECT
                return OBJECT
            fields.append(pa.field(field["name"], ftype))
        named[name] = pa.struct(fields)
        return named[name]
    if kind == "enum":
        named[_fullname(schema, namespace)] = pa.string()
        return pa.string()
    if kind == "fixed":
        named[_fullname(schema, namespace)] = pa.binary()
        return pa.binary()
    if kind == "array":
        items = avro_to_arrow(schema["items"], named, namespace, active)
        return OBJECT if items == OBJECT else pa.list_(items)
    if kind == "map":
        values = avro_to_arrow(schema["values"], named, namespace, active)
        return OBJECT if values == OBJECT else pa.map_(pa.string(), values)
    return avro_to_arrow(kind, named, namespace, active)


def _fullname(schema: dict, namespace: str) -> str:
    name = schema["name"]
    space = schema.get("namespace", namespace)
    return name if "." in name or not space else f"{space}.{name}"


def _logical_type(logical: str, schema: dict) -> Optional[pa.DataType]:
    """The Arrow type of a logical type fastavro decodes (None: use the underlying type)."""
    base = schema.get("type")
    if logical in _TIMESTAMPS and base == "long":
        return pa.timestamp(_TIMESTAMPS[logical])
    if logical == "date" and base == "int":
        return pa.date32()
    if (logical, base) in (("time-millis", "int"), ("time-micros", "long")):
        return pa.time64("us")
    if logical == "decimal" and base in ("bytes", "fixed"):
        precision, scale = int(schema.get("precision", 38)), int(schema.get("scale", 0))
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if logical == "uuid" and base in ("string", "fixed"):
        return pa.uuid()
    return None


def _union_type(branches: list) -> Any:
    kinds = [b for b in branches if b != pa.null()]
    if not kinds:
        return pa.null()
    if any(k == OBJECT for k in kinds):
        return OBJECT
    if all(k == kinds[0] for k in kinds):
        return kinds[0]
    if all(k in (pa.int64(), pa.float64()) for k in kinds):
        return pa.float64()  # ints and floats in one column: floats, as Ray infers them
    return OBJECT


def arrow_schema_of(avro_schema: Any) -> pa.Schema:
    """The Arrow schema of a file's rows: a record's fields as columns (any other top-level type
    is one column, ``item``). Columns kept as Python objects get ``streamscope.python_object``.

    Examples:
        >>> arrow_schema_of({"type": "record", "name": "R", "fields": [{"name": "x", "type": "int"}]})
        x: int64
    """
    named: dict = {}
    if isinstance(avro_schema, dict) and avro_schema.get("type") in ("record", "error"):
        fields = []
        name = _fullname(avro_schema, "")
        inner = avro_schema.get("namespace", name.rpartition(".")[0])
        named[name] = OBJECT
        for field in avro_schema.get("fields", []):
            ftype = avro_to_arrow(field["type"], named, inner, frozenset({name}))
            fields.append(pa.field(field["name"], _object_type() if ftype == OBJECT else ftype))
        return pa.schema(fields)
    ftype = avro_to_arrow(avro_schema, named)
    return pa.schema([pa.field("item", _object_type() if ftype == OBJECT else ftype)])


def _object_type() -> pa.DataType:
    return objects_to_arrow([]).type


def projected_reader_schema(writer_schema: Any, columns: list[str]) -> Optional[dict]:
    """A reader schema holding only ``columns`` of a record schema, so fastavro skips the other
    fields while decoding; None when that cannot be done safely (a kept field refers to a named
    type defined in a dropped one, or the schema is no record)."""
    import fastavro

    if not isinstance(writer_schema, dict) or writer_schema.get("type") not in ("record", "error"):
        return None
    keep = set(columns)
    reader = dict(writer_schema)
    reader["fields"] = [f for f in writer_schema.get("fields", []) if f["name"] in keep]
    try:
        fastavro.parse_schema(copy.deepcopy(reader))
    except Exception:
        return None
    return reader


class AvroDatasource(FileBasedDatasource):
    _FILE_EXTENSIONS = ["avro"]

    def __init__(self, paths: Any, *, file_extensions: Any = _DEFAULT, **kwargs: Any):
        file_args, unknown = split_file_args(kwargs)
        if unknown:
            raise TypeError(f"read_avro got unexpected arguments {sorted(unknown)}")
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        self._file_schema_cache: Optional[pa.Schema] = None

    def get_name(self) -> str:
        return "ReadAvro"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_file_schema_cache"] = None  # the driver's; each worker reads its own headers
        return state

    # ---- schema from the first file's header ------------------------------------------------
    def _header_schema(self, path: str) -> Any:
        import fastavro

        shown = display_path(self._fs, path)
        try:
            with self._fs.open(path, "rb") as f:
                return fastavro.reader(f).writer_schema
        except FileNotFoundError as exc:
            raise DataSourceError(f"ReadAvro: file not found: {shown!r}") from exc
        except Exception as exc:
            raise DataSourceError(f"ReadAvro: cannot read the Avro header of {shown!r} (corrupt or not an Avro "
                                  f"file): {type(exc).__name__}: {exc}") from exc

    def _file_schema(self) -> pa.Schema:
        """The columns of the first file (read from its header, on the driver, once)."""
        if self._file_schema_cache is None:
            path = self._paths[self._kept_indices()[0]] if self._kept_indices() else self._paths[0]
            try:
                self._file_schema_cache = arrow_schema_of(self._header_schema(path))
            except ValueError as exc:
                raise DataSourceError(f"ReadAvro: unsupported schema in {display_path(self._fs, path)!r}: "
                                      f"{exc}") from exc
        return self._file_schema_cache

    def schema(self) -> pa.Schema:
        return self._schema_with_file_columns(self._file_schema())

    def supports_predicate_pushdown(self) -> bool:
        """A filter is taken into the read: conjuncts over partition columns drop whole files,
        the rest is applied to each block as it is decoded, so a projection after the filter
        still narrows the columns decoded (to those kept plus those the filter reads)."""
        return True

    def apply_projection(self, columns: list[str]) -> "AvroDatasource":
        if self._columns is not None:
            missing = [c for c in columns if c not in self._columns]
            if missing:
                raise DataSourceError(f"ReadAvro: columns {missing} are not among the read columns {self._columns}")
        return super().apply_projection(columns)  # type: ignore[return-value]

    # ---- reading ------------------------------------------------------------------------------
    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        import fastavro

        wanted = self._file_read_columns()
        header = fastavro.reader(f)
        writer_schema = header.writer_schema
        schema = arrow_schema_of(writer_schema)
        records: Any = header
        if wanted is not None:
            reader_schema = projected_reader_schema(writer_schema, wanted)
            if reader_schema is not None and _rewind(f):
                records = fastavro.reader(f, reader_schema=reader_schema)
            schema = pa.schema([schema.field(c) for c in wanted if c in schema.names])
        is_record = isinstance(writer_schema, dict) and writer_schema.get("type") in ("record", "error")
        yield from _blocks(records, schema, is_record, _block_bytes())


def _rewind(f: Any) -> bool:
    """Back to the file's start for a second reader (with the reader schema); False when the
    stream cannot seek, and the projection is then applied after decoding."""
    try:
        f.seek(0)
        return True
    except Exception:
        return False


def _block_bytes() -> int:
    limit = DataContext.get_current().target_max_block_size or (128 << 20)
    return min(STREAM_BATCH_BYTES, limit)


def _blocks(records: Any, schema: pa.Schema, is_record: bool, target_bytes: int) -> Iterator[pa.Table]:
    """Arrow tables of about ``target_bytes`` from an iterator of decoded records."""
    rows_per_block = _FIRST_ROWS
    batch: list = []
    emitted = False
    for record in records:
        batch.append(record if is_record else {"item": record})
        if len(batch) >= rows_per_block:
            table = rows_to_table(batch, schema)
            batch = []
            emitted = True
            per_row = max(1.0, table.nbytes / max(1, table.num_rows))
            rows_per_block = int(min(1 << 20, max(64, target_bytes / per_row)))
            yield table
    if batch or not emitted:
        yield rows_to_table(batch, schema)


def rows_to_table(rows: list, schema: pa.Schema) -> pa.Table:
    """A block of decoded Avro records, one column per schema field (Python-object columns
    pickled as ``streamscope.python_object``)."""
    object_type = _object_type()
    columns = []
    for field in schema:
        values = [row.get(field.name) for row in rows]
        if field.type == object_type:
            columns.append(objects_to_arrow(values))
        else:
            columns.append(pa.array(values, type=field.type))
    if not columns:
        return pa.table({"_": pa.nulls(len(rows))}).select([])
    return pa.Table.from_arrays(columns, schema=schema)

