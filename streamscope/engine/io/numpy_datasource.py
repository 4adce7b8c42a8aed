"""``.npy`` files: the first axis becomes rows of column ``data`` (Ray Data's ``read_numpy``).

A 1-D array gives a plain column; an n-D array gives a fixed-shape tensor column of per-row
shape ``array.shape[1:]`` (Ray: shape (3, 2) reads as 3 rows of shape (2,)).
"""

from __future__ import annotations

import io
from typing import Any, Iterator

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource, split_file_args


class NumpyDatasource(FileBasedDatasource):
    _FILE_EXTENSIONS = ["npy"]

    def __init__(self, paths: Any, *, file_extensions: Any = _DEFAULT, allow_pickle: bool = False, **kwargs: Any):
        file_args, numpy_load_args = split_file_args(kwargs)
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        self._load_args = dict(numpy_load_args, allow_pickle=allow_pickle)

    def get_name(self) -> str:
        return "ReadNumpy"

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        array = np.load(io.BytesIO(f.read()), **self._load_args)
        if array.ndim == 0:
            array = array.reshape(1)
        yield pa.Table.from_arrays([tensor.ndarray_to_arrow(array)], names=["data"])
