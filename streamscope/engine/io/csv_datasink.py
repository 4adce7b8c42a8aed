"""CSV files via ``pyarrow.csv`` (header line with quoted names, as Ray writes).

``arrow_csv_args`` (and what ``arrow_csv_args_fn`` returns, which wins on duplicate keys) are Ray
Data's: the keyword arguments of ``pyarrow.csv.write_csv`` after the table and file, i.e.
``write_options=pyarrow.csv.WriteOptions(...)``. Anything else is refused in the driver, before
the run (Ray would fail in every write task). ``WriteOptions`` cannot be pickled, so the sink
carries its fields to the workers and rebuilds it there.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import pyarrow as pa
import pyarrow.csv as pacsv

from streamscope.engine.io.file_datasink import FileDatasink, tensor_columns
from streamscope.engine.io.save_mode import SaveMode


def csv_write_kwargs(args: Dict[str, Any], writer: str = "WriteCSV") -> Dict[str, Any]:
    """The keyword arguments for ``pyarrow.csv.write_csv``: ``write_options`` only."""
    args = dict(args)
    options = args.pop("write_options", None)
    if options is not None and not isinstance(options, pacsv.WriteOptions):
        raise TypeError(f"{writer}: write_options must be a pyarrow.csv.WriteOptions, got {type(options).__name__}")
    if args:
        raise TypeError(f"{writer}: unexpected arrow_csv_args {sorted(args)}; pyarrow.csv.write_csv takes "
                        "write_options=pyarrow.csv.WriteOptions(...) (e.g. WriteOptions(delimiter=';'))")
    return {"write_options": options} if options is not None else {}


def _options_fields(options: pacsv.WriteOptions) -> Dict[str, Any]:
    fields = ("include_header", "batch_size", "delimiter", "quoting_style", "quoting_header", "null_string", "eol")
    return {f: getattr(options, f) for f in fields if hasattr(options, f)}


class CSVDatasink(FileDatasink):
    _FILE_FORMAT = "csv"

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = SaveMode.APPEND,
                 arrow_csv_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                 min_rows_per_file: Optional[int] = None, **arrow_csv_args: Any):
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode,
                         min_rows_per_file=min_rows_per_file)
        self._args_fn = arrow_csv_args_fn
        options = csv_write_kwargs(arrow_csv_args).get("write_options")
        self._args = {} if options is None else {"write_options": _options_fields(options)}
        if arrow_csv_args_fn is not None:
            csv_write_kwargs(arrow_csv_args_fn())

    def get_name(self) -> str:
        return "WriteCSV"

    def _resolved_args(self) -> Dict[str, Any]:
        args = {k: pacsv.WriteOptions(**v) if k == "write_options" else v for k, v in self._args.items()}
        return dict(args, **(self._args_fn() if self._args_fn else {}))

    def _check_block(self, block: pa.Table) -> None:
        tensors = tensor_columns(block)
        if tensors:
            raise TypeError(
                f"WriteCSV: tensor columns {tensors} cannot be stored in CSV; drop them, or use "
                "write_parquet / write_numpy"
            )

    def _write_block(self, f: Any, block: pa.Table) -> None:
        pacsv.write_csv(block, f, **csv_write_kwargs(self._resolved_args()))
