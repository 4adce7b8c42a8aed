"""Whole files as bytes: column ``bytes`` (Ray Data's ``read_binary_files``)."""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa

from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource


class BinaryDatasource(FileBasedDatasource):
    def __init__(self, paths: Any, *, include_paths: bool = False, filesystem: Any = None,
                 ignore_missing_paths: bool = False, file_extensions: Any = _DEFAULT, shuffle: Any = None):
        super().__init__(paths, filesystem=filesystem, include_paths=include_paths,
                         ignore_missing_paths=ignore_missing_paths, file_extensions=file_extensions, shuffle=shuffle)

    def get_name(self) -> str:
        return "ReadBinary"

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        yield pa.Table.from_arrays([pa.array([f.read()], pa.binary())], names=["bytes"])
