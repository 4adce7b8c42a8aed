"""Whole files as bytes: column ``bytes`` (Ray Data's ``read_binary_files``)."""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa

from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource


class BinaryDatasource(FileBasedDatasource):
    def __init__(self, paths: Any, *, file_extensions: Any = _DEFAULT, **file_args: Any):
        super().__init__(paths, file_extensions=file_extensions, **file_args)

    def get_name(self) -> str:
        return "ReadBinary"

    def schema(self) -> pa.Schema:
        return self._schema_with_file_columns(pa.schema([("bytes", pa.binary())]))

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        yield pa.Table.from_arrays([pa.array([f.read()], pa.binary())], names=["bytes"])
