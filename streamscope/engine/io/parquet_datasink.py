"""Parquet files, one per block. Tensor columns are stored as Arrow's canonical extension types
(pyarrow keeps the Arrow schema in the file), so plain ``pyarrow.parquet.read_table`` gives them
back as ``arrow.fixed_shape_tensor`` / ``arrow.variable_shape_tensor``."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import pyarrow as pa

from streamscope.engine.io.file_datasink import FileDatasink


class ParquetDatasink(FileDatasink):
    _FILE_FORMAT = "parquet"
    _ALWAYS_BLOCK_SUFFIX = True

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = "append",
                 arrow_parquet_args_fn: Optional[Callable[[], Dict[str, Any]]] = None, **arrow_parquet_args: Any):
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode)
        self._args_fn = arrow_parquet_args_fn
        self._args = arrow_parquet_args

    def get_name(self) -> str:
        return "WriteParquet"

    def _write_block(self, f: Any, block: pa.Table) -> None:
        import pyarrow.parquet as pq

        args = dict(self._args_fn() if self._args_fn else {}, **self._args)
        pq.write_table(block, f, **args)
