"""``.npy`` files, each holding one column stacked along a new first axis (Ray's
``write_numpy(path, column=...)``)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.io.file_datasink import FileDatasink
from streamscope.engine.io.save_mode import SaveMode


class NumpyDatasink(FileDatasink):
    _FILE_FORMAT = "npy"

    def __init__(self, path: str, *, column: str, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = SaveMode.APPEND,
                 min_rows_per_file: Optional[int] = None):
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode,
                         min_rows_per_file=min_rows_per_file)
        if not isinstance(column, str):
            raise TypeError(f"column must be a str, got {column!r}")
        self._column = column

    def get_name(self) -> str:
        return "WriteNumpy"

    def _check_block(self, block: pa.Table) -> None:
        if self._column not in block.column_names:
            raise KeyError(f"WriteNumpy: column {self._column!r} not found; available columns: {block.column_names}")

    def _write_block(self, f: Any, block: pa.Table) -> None:
        array = tensor.arrow_to_numpy(block.column(self._column))
        if array.dtype == object:
            raise TypeError(
                f"WriteNumpy: column {self._column!r} holds values of different shapes or nulls; "
                ".npy needs one shape per file"
            )
        np.save(f, array, allow_pickle=False)
