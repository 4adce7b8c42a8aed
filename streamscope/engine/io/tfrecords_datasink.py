"""TFRecord files of ``tf.train.Example`` records, one per row (Ray Data's ``write_tfrecords``),
without TensorFlow (``tfrecord_codec``).

Ray Data 2.60's mapping of a column to a feature, kept here:

- integer columns -> ``int64_list``, floating -> ``float_list`` (stored as float32), binary ->
  ``bytes_list``, strings -> ``bytes_list`` of their UTF-8 bytes;
- a scalar becomes a one-value list, a null an empty list; list columns (``list<int64>`` ...)
  give their values, by the list's value type;
- tensor columns -> one ``bytes_list`` value per row: the ``tf.io.serialize_tensor`` bytes of
  the row's array (``tf.io.parse_tensor`` reads them);
- anything else (bool, nested lists, structs, timestamps, Python objects) and all-null columns
  (no type to infer) are refused, naming the column; with ``tf_schema`` a column the schema
  lacks, or whose type differs from it, is refused, and the schema's type is used for nulls.

Files are named ``*.tfrecords`` (Ray 2.60 names them ``*.tar``; see the connector notes).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.io.file_datasink import FileDatasink
from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.io.tfrecord_codec import BYTES, encode_example, serialize_tensor, write_record
from streamscope.engine.io.tfrecords_datasource import schema_feature_kinds, schema_text
from streamscope.engine.python_objects import is_python_object_type


def _underlying(value_type: pa.DataType, is_tensor: bool) -> Optional[str]:
    """Ray's ``underlying_value_type``: "bytes", "string", "float", "int", "tensor" or None."""
    if is_tensor:
        return "tensor"
    if pa.types.is_binary(value_type) or pa.types.is_large_binary(value_type) or pa.types.is_fixed_size_binary(value_type):
        return "bytes"
    if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
        return "string"
    if pa.types.is_floating(value_type):
        return "float"
    if pa.types.is_integer(value_type):
        return "int"
    return None


def _is_list(arrow_type: pa.DataType) -> bool:
    return pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type)


class TFRecordDatasink(FileDatasink):
    _FILE_FORMAT = "tfrecords"

    def __init__(self, path: str, *, tf_schema: Any = None, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = SaveMode.APPEND,
                 min_rows_per_file: Optional[int] = None):
        kinds = schema_feature_kinds(tf_schema, "write_tfrecords")
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode,
                         min_rows_per_file=min_rows_per_file)
        self._schema_kinds = kinds

    def get_name(self) -> str:
        return "WriteTFRecord"

    def _check_block(self, block: pa.Table) -> None:
        if self._schema_kinds is not None:
            for name in block.column_names:
                if name not in self._schema_kinds:
                    raise ValueError(f"WriteTFRecord: found extra unexpected feature {name!r} not in the specified "
                                     f"tf_schema {schema_text(self._schema_kinds)}")

    def _write_block(self, f: Any, block: pa.Table) -> None:
        columns = [self._feature_values(name, block.column(name)) for name in block.column_names]
        names = block.column_names
        for i in range(block.num_rows):
            write_record(f, encode_example((name, kind, rows[i]) for name, (kind, rows) in zip(names, columns)))

    def _feature_values(self, name: str, column: pa.ChunkedArray) -> tuple[str, list]:
        """``(feature kind, one list of values per row)`` for a column, by Ray's rules."""
        where = f"WriteTFRecord: column {name!r}"
        arrow_type = column.type
        if pa.types.is_dictionary(arrow_type):
            column = pa.chunked_array([c.dictionary_decode() for c in column.chunks], type=arrow_type.value_type)
            arrow_type = column.type
        is_tensor = tensor.is_tensor_type(arrow_type)
        if is_tensor:
            value_type = arrow_type
            values = tensor.arrow_to_numpy(column)
            rows: list = [[] if v is None else [v] for v in values]
        elif _is_list(arrow_type):
            value_type = arrow_type.value_type
            rows = [[] if v is None else v for v in column.to_pylist()]
        else:
            value_type = arrow_type
            if is_python_object_type(arrow_type):
                raise ValueError(f"{where} holds Python objects, which cannot be a tf.train.Feature (bytes, float or "
                                 "int); convert them to one of those first")
            rows = [[] if v is None else [v] for v in column.to_pylist()]
        underlying = _underlying(value_type, is_tensor)
        specified = self._schema_kinds.get(name) if self._schema_kinds is not None else None
        if self._schema_kinds is not None:
            underlying = self._with_schema(where, underlying, specified)
        if underlying is None:
            if pa.types.is_null(value_type):
                raise ValueError(f"{where} has only nulls (Arrow type {arrow_type}), so its feature type cannot be "
                                 "inferred; cast the column to its type, or pass tf_schema")
            raise ValueError(f"{where} has type {arrow_type}, which cannot be converted to a tf.train.Feature "
                             "storage type (bytes, float or int)")
        convert = _CONVERTERS[underlying]
        try:
            return (BYTES if underlying in ("bytes", "string", "tensor") else underlying), [convert(r) for r in rows]
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"{where}: {exc}") from None

    @staticmethod
    def _with_schema(where: str, underlying: Optional[str], specified: Optional[str]) -> Optional[str]:
        """Ray's schema rule: the schema's type wins; a stored type that differs is an error."""
        if specified == BYTES:
            expected = underlying if underlying in ("string", "tensor") else "bytes"
        else:
            expected = specified
        if underlying is not None and underlying != expected:
            raise ValueError(f"{where}: schema field type mismatch: specified type is {expected}, but the column's "
                             f"type is {underlying}")
        return expected


def _ints(values: list) -> list:
    if any(v is None for v in values):
        raise ValueError("a list holds a null; int64_list values cannot be null")
    if any(v >= 1 << 63 or v < -(1 << 63) for v in values):
        raise ValueError("a value does not fit in int64")
    return values


def _floats(values: list) -> np.ndarray:
    if any(v is None for v in values):
        raise ValueError("a list holds a null; float_list values cannot be null")
    return np.asarray(values, dtype=np.float32)


def _bytes(values: list) -> list:
    if any(v is None for v in values):
        raise ValueError("a list holds a null; bytes_list values cannot be null")
    return [bytes(v) for v in values]


def _strings(values: list) -> list:
    if any(v is None for v in values):
        raise ValueError("a list holds a null; bytes_list values cannot be null")
    return [v.encode("utf-8") for v in values]


def _tensors(values: list) -> list:
    return [serialize_tensor(np.asarray(v)) for v in values]


_CONVERTERS: dict[str, Callable[[list], Any]] = {
    "int": _ints, "float": _floats, "bytes": _bytes, "string": _strings, "tensor": _tensors,
}
