"""JSON lines files, one per block: one object per row, as Ray's ``write_json`` (pandas
``to_json(orient="records", lines=True)``). Tensor cells are written as nested lists."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.io.file_datasink import FileDatasink, tensor_columns


class JSONDatasink(FileDatasink):
    _FILE_FORMAT = "json"

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = "append",
                 pandas_json_args_fn: Optional[Callable[[], Dict[str, Any]]] = None, **pandas_json_args: Any):
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode)
        self._args_fn = pandas_json_args_fn
        self._args = pandas_json_args

    def get_name(self) -> str:
        return "WriteJSON"

    def _write_block(self, f: Any, block: pa.Table) -> None:
        import io

        tensors = tensor_columns(block)
        plain = block.drop_columns(tensors) if tensors else block
        df = plain.to_pandas()
        for name in tensors:
            values = tensor.arrow_to_numpy(block.column(name))
            df[name] = [None if v is None else v.tolist() for v in values]
        df = df[block.column_names]
        args = {"orient": "records", "lines": True}
        args.update(self._args_fn() if self._args_fn else {})
        args.update(self._args)
        text = io.StringIO()
        df.to_json(text, **args)
        f.write(text.getvalue().encode("utf-8"))
