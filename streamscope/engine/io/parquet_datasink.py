"""Parquet files. Tensor columns are stored as Arrow's canonical extension types (pyarrow keeps
the Arrow schema in the file), so plain ``pyarrow.parquet.read_table`` gives them back as
``arrow.fixed_shape_tensor`` / ``arrow.variable_shape_tensor``.

``arrow_parquet_args`` (and what ``arrow_parquet_args_fn`` returns, which wins on duplicate keys)
are Ray Data's: the options of pyarrow's Parquet writer, plus ``row_group_size``, ``schema`` (each
file's rows are cast to it) and ``partitioning_flavor`` (``"hive"``, the default, is the only
layout written). They are checked against pyarrow's option list in the driver, before the run.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from streamscope.engine.io.file_datasink import FileDatasink
from streamscope.engine.io.save_mode import SaveMode

_NOT_WRITER_OPTIONS = ("row_group_size", "schema", "partitioning_flavor")


def check_parquet_args(args: Dict[str, Any], partition_cols: Optional[Sequence[str]], writer: str = "WriteParquet") -> None:
    """Refuse an option pyarrow's Parquet writer does not have (the TypeError names it), a
    ``schema`` that is not a ``pyarrow.Schema``, and a partitioning flavor other than Hive."""
    options = {k: v for k, v in args.items() if k not in _NOT_WRITER_OPTIONS}
    try:
        pads.ParquetFileFormat().make_write_options(**options)
    except TypeError as exc:
        raise TypeError(f"{writer}: {exc} (arrow_parquet_args are pyarrow.parquet.ParquetWriter options)") from None
    if "schema" in args and not isinstance(args["schema"], pa.Schema):
        raise TypeError(f"{writer}: arrow_parquet_args schema must be a pyarrow.Schema, got {type(args['schema']).__name__}")
    if "partitioning_flavor" in args:
        if not partition_cols:
            raise ValueError(f"{writer}: partition_cols must be provided when partitioning_flavor is set.")
        if args["partitioning_flavor"] != "hive":
            raise ValueError(f"{writer}: partitioning_flavor={args['partitioning_flavor']!r} is not supported; "
                             "streamscope writes the Hive layout (col=value/ directories) only")


class ParquetDatasink(FileDatasink):
    _FILE_FORMAT = "parquet"
    _ALWAYS_BLOCK_SUFFIX = True

    def __init__(self, path: str, *, partition_cols: Optional[Sequence[str]] = None, filesystem: Any = None,
                 try_create_dir: bool = True, filename_provider: Any = None, dataset_uuid: Optional[str] = None,
                 mode: Any = SaveMode.APPEND, arrow_parquet_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                 min_rows_per_file: Optional[int] = None, max_rows_per_file: Optional[int] = None,
                 **arrow_parquet_args: Any):
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode,
                         min_rows_per_file=min_rows_per_file, max_rows_per_file=max_rows_per_file,
                         partition_cols=partition_cols)
        if arrow_parquet_args_fn is not None and not callable(arrow_parquet_args_fn):
            raise TypeError(f"WriteParquet: arrow_parquet_args_fn must be callable, got {arrow_parquet_args_fn!r}")
        self._args_fn = arrow_parquet_args_fn
        self._args = arrow_parquet_args
        check_parquet_args(self._resolved_args(), self._partition_cols)  # Ray calls the fn in the driver too

    def get_name(self) -> str:
        return "WriteParquet"

    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        if self._filename_provider is not None and self._mode == SaveMode.APPEND:
            name = self.filename_for(0, 0)
            if self._write_uuid not in name:  # Ray 2.60 refuses this too (in its write tasks)
                raise ValueError(
                    f"WriteParquet: the filename_provider's names ({name!r}) do not contain the write uuid, so "
                    "appending could replace existing files; include write_uuid in the name or use mode='overwrite'"
                )
        super().on_write_start(schema)

    def _resolved_args(self) -> Dict[str, Any]:
        extra = self._args_fn() if self._args_fn else {}
        if not isinstance(extra, dict):
            raise TypeError(f"WriteParquet: arrow_parquet_args_fn must return a dict, got {type(extra).__name__}")
        return dict(self._args, **extra)

    def _write_block(self, f: Any, block: pa.Table) -> None:
        args = self._resolved_args()
        args.pop("partitioning_flavor", None)
        schema = args.pop("schema", None)
        if schema is not None:
            if self._partition_cols:
                schema = pa.schema([fld for fld in schema if fld.name not in self._partition_cols], metadata=schema.metadata)
            block = block.select(schema.names).cast(schema)
        pq.write_table(block, f, **args)
