"""Text files: one row per line in column ``text`` (Ray Data's ``read_text``).

Lines are split on ``\\n`` with a trailing ``\\r`` removed; ``drop_empty_lines`` (default True, as
in Ray) drops lines that are empty after that.
"""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa

from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource


class TextDatasource(FileBasedDatasource):
    _OPEN_COMPRESSION = "infer"

    def __init__(self, paths: Any, *, encoding: str = "utf-8", drop_empty_lines: bool = True,
                 file_extensions: Any = _DEFAULT, **file_args: Any):
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        "".encode(encoding)  # fail now, on the driver, for an unknown encoding
        self._encoding = encoding
        self._drop_empty_lines = drop_empty_lines

    def get_name(self) -> str:
        return "ReadText"

    def schema(self) -> pa.Schema:
        return self._schema_with_file_columns(pa.schema([("text", pa.string())]))

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        text = f.read().decode(self._encoding)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the newline that ends the file does not start another line
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        if self._drop_empty_lines:
            lines = [line for line in lines if line]
        yield pa.Table.from_arrays([pa.array(lines, pa.string())], names=["text"])
