"""JSON lines files: one object per row, as Ray's ``write_json`` (pandas
``to_json(orient="records", lines=True)``). Tensor cells are written as nested lists.

``pandas_json_args`` (and what ``pandas_json_args_fn`` returns, which wins on duplicate keys) are
keyword arguments of ``pandas.DataFrame.to_json``; a name it does not have is refused in the
driver, before the run.
"""

from __future__ import annotations

import inspect
import io
from typing import Any, Callable, Dict, Optional

import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.io.file_datasink import FileDatasink, tensor_columns
from streamscope.engine.io.save_mode import SaveMode


def check_json_args(args: Dict[str, Any], writer: str = "WriteJSON") -> None:
    import pandas as pd  # only when writing JSON: ``import streamscope`` stays free of pandas

    params = inspect.signature(pd.DataFrame.to_json).parameters
    unknown = sorted(k for k in args if k not in params or k in ("self", "path_or_buf"))
    if unknown:
        raise TypeError(f"{writer}: unexpected pandas_json_args {unknown}; they are keyword arguments of "
                        "pandas.DataFrame.to_json")


class JSONDatasink(FileDatasink):
    _FILE_FORMAT = "json"

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = SaveMode.APPEND,
                 pandas_json_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                 min_rows_per_file: Optional[int] = None, **pandas_json_args: Any):
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode,
                         min_rows_per_file=min_rows_per_file)
        self._args_fn = pandas_json_args_fn
        self._args = pandas_json_args
        check_json_args(self._resolved_args())

    def get_name(self) -> str:
        return "WriteJSON"

    def _resolved_args(self) -> Dict[str, Any]:
        return dict(self._args, **(self._args_fn() if self._args_fn else {}))

    def _write_block(self, f: Any, block: pa.Table) -> None:
        tensors = tensor_columns(block)
        plain = block.drop_columns(tensors) if tensors else block
        df = plain.to_pandas()
        for name in tensors:
            values = tensor.arrow_to_numpy(block.column(name))
            df[name] = [None if v is None else v.tolist() for v in values]
        df = df[block.column_names]
        args = {"orient": "records", "lines": True}
        args.update(self._resolved_args())
        text = io.StringIO()
        df.to_json(text, **args)
        f.write(text.getvalue().encode("utf-8"))
