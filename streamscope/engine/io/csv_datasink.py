"""CSV files, one per block, via ``pyarrow.csv`` (header line with quoted names, as Ray writes)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import pyarrow as pa

from streamscope.engine.io.file_datasink import FileDatasink, tensor_columns


class CSVDatasink(FileDatasink):
    _FILE_FORMAT = "csv"

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = "append",
                 arrow_csv_args_fn: Optional[Callable[[], Dict[str, Any]]] = None, **arrow_csv_args: Any):
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode)
        self._args_fn = arrow_csv_args_fn
        self._args = arrow_csv_args

    def get_name(self) -> str:
        return "WriteCSV"

    def _check_block(self, block: pa.Table) -> None:
        tensors = tensor_columns(block)
        if tensors:
            raise TypeError(
                f"WriteCSV: tensor columns {tensors} cannot be stored in CSV; drop them, or use "
                "write_parquet / write_numpy"
            )

    def _write_block(self, f: Any, block: pa.Table) -> None:
        import pyarrow.csv as pacsv

        args = dict(self._args_fn() if self._args_fn else {}, **self._args)
        pacsv.write_csv(block, f, **args)
