"""ORC files via ``pyarrow.orc.write_table`` (Ray Data's ``write_orc``), one file per block (or
per ``min_rows_per_file`` bundle), written under temporary names and renamed only when every task
has succeeded (``file_datasink.py``).

``arrow_orc_args`` (and what ``arrow_orc_args_fn`` returns, which wins on duplicate keys, as in
Ray) are keyword arguments of ``pyarrow.orc.write_table`` (``compression=``, ``stripe_size=``,
``file_version=``...). A name it does not have is refused in the driver, and the values are tried
on an empty table there too, so a bad ``compression`` fails before the run, not in every task.

ORC has no type for some Arrow columns (tensors and other extension types, Python objects,
``null``, ``float16``, ``time``, ``duration``, dictionary-encoded columns); a column of such a type
is refused by name, before the run when the dataset's schema is known.
"""

from __future__ import annotations

import inspect
import io
from typing import Any, Callable, Dict, Optional

import pyarrow as pa

from streamscope.engine.io.file_datasink import FileDatasink
from streamscope.engine.io.save_mode import SaveMode


def orc_writer_params() -> list[str]:
    """The keyword arguments ``pyarrow.orc.write_table`` takes (besides the table and file)."""
    from pyarrow import orc

    return [p for p in inspect.signature(orc.write_table).parameters if p not in ("table", "where")]


def check_orc_args(args: Dict[str, Any], writer: str = "WriteORC") -> None:
    """Refuse names ``pyarrow.orc.write_table`` does not take, then try the values on an empty
    table so a bad one fails here, naming pyarrow's complaint."""
    from pyarrow import orc

    allowed = orc_writer_params()
    unknown = sorted(k for k in args if k not in allowed)
    if unknown:
        raise TypeError(f"{writer}: unexpected arrow_orc_args {unknown}; they are keyword arguments of "
                        f"pyarrow.orc.write_table: {allowed}")
    try:
        orc.write_table(pa.table({"x": pa.array([], pa.int64())}), io.BytesIO(), **args)
    except (ValueError, TypeError, pa.ArrowException) as exc:
        raise ValueError(f"{writer}: pyarrow.orc.write_table refused arrow_orc_args {sorted(args)}: {exc}") from None


def unsupported_orc_columns(schema: pa.Schema) -> list[str]:
    """``"name (type)"`` for each column ORC cannot store (at any nesting depth)."""
    return [f"{field.name} ({field.type})" for field in schema if not _orc_can_store(field.type)]


def _orc_can_store(t: pa.DataType) -> bool:
    if isinstance(t, pa.BaseExtensionType):
        return False
    if (pa.types.is_null(t) or pa.types.is_float16(t) or pa.types.is_time(t) or pa.types.is_duration(t)
            or pa.types.is_dictionary(t) or pa.types.is_interval(t) or pa.types.is_union(t)):
        return False
    if pa.types.is_struct(t):
        return all(_orc_can_store(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_map(t):
        return _orc_can_store(t.key_type) and _orc_can_store(t.item_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _orc_can_store(t.value_type)
    return True


class ORCDatasink(FileDatasink):
    _FILE_FORMAT = "orc"

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = SaveMode.APPEND,
                 arrow_orc_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                 min_rows_per_file: Optional[int] = None, **arrow_orc_args: Any):
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode,
                         min_rows_per_file=min_rows_per_file)
        if arrow_orc_args_fn is not None and not callable(arrow_orc_args_fn):
            raise TypeError(f"WriteORC: arrow_orc_args_fn must be callable, got {arrow_orc_args_fn!r}")
        self._args_fn = arrow_orc_args_fn
        self._args = arrow_orc_args
        check_orc_args(self._resolved_args())

    def get_name(self) -> str:
        return "WriteORC"

    def _resolved_args(self) -> Dict[str, Any]:
        extra = self._args_fn() if self._args_fn else {}
        if not isinstance(extra, dict):
            raise TypeError(f"WriteORC: arrow_orc_args_fn must return a dict, got {type(extra).__name__}")
        return dict(self._args, **extra)

    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        base = getattr(schema, "base_schema", schema)
        if isinstance(base, pa.Schema):
            self._refuse_types(base)
        super().on_write_start(schema)

    def _refuse_types(self, schema: pa.Schema) -> None:
        if len(schema) == 0:
            raise ValueError("WriteORC: write_orc requires at least one column.")
        bad = unsupported_orc_columns(schema)
        if bad:
            raise ValueError(f"WriteORC: ORC cannot store the columns {bad}; cast or drop them first "
                             "(e.g. tensors to lists with map_batches, dictionary columns to their value type), "
                             "or write Parquet, which stores them")

    def _check_block(self, block: pa.Table) -> None:
        self._refuse_types(block.schema)

    def _write_block(self, f: Any, block: pa.Table) -> None:
        from pyarrow import orc

        orc.write_table(block, f, **self._resolved_args())
