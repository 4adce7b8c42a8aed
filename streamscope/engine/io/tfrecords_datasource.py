"""TFRecord files of ``tf.train.Example`` records (Ray Data's ``read_tfrecords``), without
TensorFlow: framing, CRCs and protobuf come from ``tfrecord_codec``.

Ray Data 2.60's mapping of a record to a row, kept here:

- one column per feature, in the order the record stores them;
- ``bytes_list`` -> ``binary`` (never decoded to str), ``float_list`` -> ``float`` (float32),
  ``int64_list`` -> ``int64``;
- a list of exactly one value becomes that value (a scalar column); any other length stays a
  list (``list<int64>`` ...); an empty Feature is an empty list;
- with ``tf_schema``, lists are never unwrapped, a feature the schema lacks is an error, and
  so is a feature whose stored type differs from the schema's.

Where Ray fails to combine the records of a file ("Unable to merge ... list<int64> vs int64"),
streamscope decides, per block: a feature holding several values in some records is a list
column (a record's single value a one-item list); one holding a single value or none is a scalar
column with nulls for the empty records (so a null that ``write_tfrecords`` stored as an empty
list reads back as a null); one empty in every record of the block is ``list<null>``, as in Ray.
Checksums are verified (Ray skips the data CRC), so a corrupt file fails with the record index
instead of producing garbage rows.

Records are gathered into blocks of up to ``_ROWS_PER_BLOCK`` rows or
``DataContext.target_max_block_size`` bytes, each yielded as soon as it is full, so a large
file streams. A projection decodes only the projected features.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine.context import DataContext
from streamscope.engine.io.file_datasource import FileBasedDatasource
from streamscope.engine.io.open_stream_args import open_compression
from streamscope.engine.io.tfrecord_codec import BYTES, FLOAT, INT, TFRecordFormatError, decode_example, iter_records

_ARROW_TYPES = {BYTES: pa.binary(), FLOAT: pa.float32(), INT: pa.int64(), None: pa.null()}
_SCHEMA_KINDS = {1: BYTES, 2: INT, 3: FLOAT}
"""tensorflow_metadata ``FeatureType`` values (BYTES = 1, INT = 2, FLOAT = 3; TYPE_UNKNOWN = 0 and
STRUCT = 4 name no list kind)."""


def schema_feature_kinds(tf_schema: Any, caller: str) -> Optional[dict[str, Optional[str]]]:
    """``{feature name: kind}`` of a ``tensorflow_metadata`` ``schema_pb2.Schema`` (read through
    its ``feature`` entries' ``name`` and ``type``, so tensorflow_metadata is not imported here),
    or None without a schema."""
    if tf_schema is None:
        return None
    features = getattr(tf_schema, "feature", None)
    try:
        return {str(f.name): _SCHEMA_KINDS.get(int(f.type)) for f in features}
    except (TypeError, AttributeError, ValueError):
        raise TypeError(f"{caller}: tf_schema must be a tensorflow_metadata schema_pb2.Schema (its .feature entries "
                        f"have .name and .type), got {type(tf_schema).__name__}") from None


def schema_text(kinds: dict[str, Optional[str]]) -> str:
    return "{" + ", ".join(f"{k}: {v or 'unknown'}" for k, v in kinds.items()) + "}"


class _Column:
    __slots__ = ("kinds", "force_list", "max_len", "values")

    def __init__(self, rows_before: int):
        self.kinds: set = set()
        self.force_list = False
        self.max_len = 0
        self.values: list = [None] * rows_before

    @property
    def is_list(self) -> bool:
        """A list column unless every record holds at most one value and one holds exactly one."""
        return self.force_list or self.max_len != 1


class _BlockBuilder:
    """Rows of one block, column by column; ``build`` resolves each column's Arrow type."""

    def __init__(self, where: str):
        self.where = where
        self.columns: dict[str, _Column] = {}
        self.rows = 0
        self.nbytes = 0

    def add(self, row: dict[str, tuple[Optional[str], Any, bool]], nbytes: int) -> None:
        for name, (kind, values, force_list) in row.items():
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = _Column(self.rows)
            if kind is not None:
                column.kinds.add(kind)
            column.force_list = column.force_list or force_list
            column.max_len = max(column.max_len, len(values))
            column.values.append(values)
        self.rows += 1
        for column in self.columns.values():
            if len(column.values) < self.rows:
                column.values.append(None)
        self.nbytes += nbytes

    def build(self, names_wanted: Optional[list[str]] = None) -> pa.Table:
        arrays, names = [], []
        for name, column in self.columns.items():
            arrays.append(self._column(name, column))
            names.append(name)
        for name in names_wanted or []:
            if name not in self.columns:
                arrays.append(pa.nulls(self.rows))
                names.append(name)
        table = pa.Table.from_arrays(arrays, names=names)
        self.columns, self.rows, self.nbytes = {}, 0, 0
        return table

    def _column(self, name: str, column: _Column) -> pa.Array:
        if len(column.kinds) > 1:
            raise TFRecordFormatError(f"{self.where}: feature {name!r} holds {' and '.join(sorted(column.kinds))} "
                                      "lists in different records; one feature must keep one type")
        kind = next(iter(column.kinds), None)
        value_type = _ARROW_TYPES[kind]
        if not column.is_list:  # an empty list in a column of single values is a null
            return pa.array([None if v is None or not len(v) else (v[0] if kind == BYTES else v[0].item())
                             for v in column.values], type=value_type)
        offsets = [0]
        mask = []
        flat: list = []
        total = 0
        for v in column.values:
            if v is not None:
                total += len(v)
                flat.append(v)
            offsets.append(total)
            mask.append(v is None)
        if kind == BYTES:
            values = pa.array([b for piece in flat for b in piece], type=pa.binary())
        elif kind is None:
            values = pa.nulls(total)
        else:
            dtype = np.float32 if kind == FLOAT else np.int64
            values = pa.array(np.concatenate(flat) if flat else np.zeros(0, dtype=dtype), type=value_type)
        offset_type = pa.int32() if total < 2**31 else pa.int64()
        cls = pa.ListArray if offset_type == pa.int32() else pa.LargeListArray
        return cls.from_arrays(pa.array(offsets, offset_type), values, mask=pa.array(mask, pa.bool_()))


class TFRecordDatasource(FileBasedDatasource):
    """``tf.train.Example`` records of TFRecord files (``.gz``/``.bz2``/``.zst`` decompressed by
    extension or ``open_stream_args={"compression": ...}``); see the module docstring for the
    row mapping."""

    _ROWS_PER_BLOCK = 4096

    def __init__(self, paths: Any, tf_schema: Any = None, *, open_stream_args: Optional[dict] = None,
                 file_extensions: Any = None, **file_args: Any):
        compression = open_compression(open_stream_args, "read_tfrecords")
        kinds = schema_feature_kinds(tf_schema, "read_tfrecords")
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        self._OPEN_COMPRESSION = compression
        self._schema_kinds = kinds

    def get_name(self) -> str:
        return "ReadTFRecord"

    def _row(self, features: dict, where: str) -> dict[str, tuple[Optional[str], Any, bool]]:
        """``{name: (kind, values, is_list)}`` by Ray's rules (see the module docstring)."""
        schema = self._schema_kinds
        row = {}
        for name, (kind, values) in features.items():
            if values is None:
                values = []
            if schema is None:
                row[name] = (kind, values, False)
                continue
            if name not in schema:
                raise TFRecordFormatError(f"{where}: found extra unexpected feature {name!r} not in the specified "
                                          f"tf_schema {schema_text(schema)}")
            specified = schema[name]
            if kind is not None and kind != specified:
                raise TFRecordFormatError(f"{where}: schema field type mismatch for feature {name!r}: specified type "
                                          f"is {specified}, but the stored type is {kind}")
            row[name] = (specified if len(values) else None, values, True)
        return row

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        wanted = self._file_read_columns()
        max_bytes = DataContext.get_current().target_max_block_size or (128 << 20)
        builder = _BlockBuilder("")
        seen: set = set()
        index = -1
        for index, record in enumerate(iter_records(f)):
            where = f"record {index}"
            builder.where = f"records up to {index}"
            try:
                features = decode_example(record, wanted)
            except ValueError as exc:
                raise TFRecordFormatError(f"{where}: cannot parse a tf.train.Example ({exc}); read_tfrecords reads "
                                          "files of tf.train.Example messages only") from None
            seen.update(features)
            builder.add(self._row(features, where), len(record))
            if builder.rows >= self._ROWS_PER_BLOCK or builder.nbytes >= max_bytes:
                yield builder.build(wanted)
        if builder.rows:
            yield builder.build(wanted)
        if wanted is not None and index >= 0:
            missing = [c for c in wanted if c not in seen]
            if missing:
                raise TFRecordFormatError(f"no record has the features {missing} (of the projected columns {wanted})")
