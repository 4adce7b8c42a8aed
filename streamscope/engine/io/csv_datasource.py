"""CSV files via ``pyarrow.csv``; ``arrow_csv_args`` pass through as in Ray Data's ``read_csv``.

Why pyarrow.csv: it parses in C++ with type inference, and a column projection goes straight into
``ConvertOptions.include_columns`` so unused columns are never converted.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

import pyarrow as pa

from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource, split_file_args


class CSVDatasource(FileBasedDatasource):
    _OPEN_COMPRESSION = "infer"
    _FILE_EXTENSIONS = None  # Ray's read_csv reads every file unless file_extensions= says otherwise

    def __init__(self, paths: Any, *, file_extensions: Any = _DEFAULT, **kwargs: Any):
        file_args, arrow_csv_args = split_file_args(kwargs)
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        allowed = {"read_options", "parse_options", "convert_options"}
        unknown = set(arrow_csv_args) - allowed
        if unknown:
            raise TypeError(f"read_csv got unexpected arrow_csv_args {sorted(unknown)}; allowed: {sorted(allowed)}")
        self._arrow_csv_args = arrow_csv_args

    def get_name(self) -> str:
        return "ReadCSV"

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        import pyarrow.csv as pacsv

        args = dict(self._arrow_csv_args)
        if self._columns is not None:
            convert = args.get("convert_options") or pacsv.ConvertOptions()
            wanted = self._file_read_columns()
            if not convert.include_columns:
                convert.include_columns = wanted
            args["convert_options"] = convert
        try:
            table = pacsv.read_csv(f, **args)
        except pa.ArrowInvalid as exc:
            located = _with_row_number(f, args, exc)
            if located is None:
                raise
            raise located from exc
        yield table


def _with_row_number(f: Any, args: dict, exc: BaseException) -> "BaseException | None":
    """The same parse error with the row it is on (``CSV parse error: Row #4: Expected 3
    columns, got 2``). pyarrow knows the row only when it parses on one thread, so the file is
    parsed again that way, on the error path only. None when that is not possible (a stream that
    cannot seek) or the error is no row's."""
    import pyarrow.csv as pacsv

    text = str(exc)
    if "CSV parse error" not in text or "Row #" in text:
        return None
    try:
        f.seek(0)
        options = copy.deepcopy(args.get("read_options")) or pacsv.ReadOptions()
        options.use_threads = False
        pacsv.read_csv(f, **{**args, "read_options": options})
    except pa.ArrowInvalid as again:
        return again if "Row #" in str(again) else None
    except Exception:
        return None
    return None
