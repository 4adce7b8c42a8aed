"""``download("uri")``: the bytes behind each URI of a column, as Ray Data 2.60's expression.

URIs are read through fsspec (local paths, ``file://``, ``memory://``, ``s3://``, ``gs://``...) or through the ``filesystem`` given (a
``pyarrow.fs.FileSystem`` or an fsspec filesystem), several at a time on threads, keeping row
order. A null URI gives null bytes. A URI that cannot be read fails the block with an error naming
the URI and its column, where Ray Data gives null bytes and logs at debug level: a missing file
should not turn silently into a null.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import pyarrow as pa

from streamscope.engine.datatype import DataType
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.expression_core import EvalContext, Expr

__all__ = ["DownloadExpr", "download"]

_THREADS = 16


def _reader(filesystem: Any) -> Any:
    """A function uri -> bytes for ``filesystem`` (None: fsspec picks one per URI scheme)."""
    if filesystem is not None and hasattr(filesystem, "open_input_stream"):  # pyarrow.fs.FileSystem
        def read_pyarrow(uri: str) -> bytes:
            path = uri.split("://", 1)[1] if "://" in uri else uri
            with filesystem.open_input_stream(path) as f:
                return f.read()
        return read_pyarrow
    if filesystem is not None:  # an fsspec filesystem
        def read_fsspec(uri: str) -> bytes:
            with filesystem.open(uri, "rb") as f:
                return f.read()
        return read_fsspec

    import fsspec.core

    def read_any(uri: str) -> bytes:
        fs, path = fsspec.core.url_to_fs(uri)  # fsspec keeps one filesystem per scheme and options
        with fs.open(path, "rb") as f:
            return f.read()
    return read_any


class DownloadExpr(Expr):
    """The bytes read from each URI of column ``uri_column_name`` (what :func:`download` builds).

    Examples:
        >>> from streamscope.expressions import DownloadExpr, download
        >>> expr = download("uri")
        >>> isinstance(expr, DownloadExpr), expr.columns(), expr.data_type
        (True, ['uri'], DataType(arrow:binary))
    """

    _kind = "download"
    _convertible_self = False

    def __init__(self, uri_column_name: str, filesystem: Any = None):
        if not isinstance(uri_column_name, str):
            raise TypeError(f"download: uri_column_name must be a column name (str), got {type(uri_column_name).__name__}")
        self.uri_column_name = uri_column_name
        self.filesystem = filesystem

    @property
    def data_type(self) -> DataType:
        return DataType.binary()

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        if ctx.probe:
            return pa.array([], pa.binary())
        column = table.column(self.uri_column_name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            raise TypeError(f"download({self.uri_column_name!r}): the column holds {column.type}, not URI strings")
        uris = column.to_pylist()
        read = _reader(self.filesystem)

        def fetch(uri: Optional[str]) -> Optional[bytes]:
            if uri is None:
                return None
            try:
                return read(uri)
            except Exception as exc:  # noqa: BLE001 - the error names the URI, the cause follows
                raise DataSourceError(f"download({self.uri_column_name!r}): cannot read {uri!r}: "
                                      f"{type(exc).__name__}: {exc}") from exc

        if len(uris) <= 1:
            return pa.array([fetch(u) for u in uris], pa.binary())
        with ThreadPoolExecutor(max_workers=min(_THREADS, len(uris))) as pool:
            return pa.array(list(pool.map(fetch, uris)), pa.binary())

    def _collect(self, out: list[str]) -> None:
        out.append(self.uri_column_name)

    def _key(self) -> tuple:
        return ("download", self.uri_column_name, None if self.filesystem is None else id(self.filesystem))

    def _text(self) -> str:
        return f"download({self.uri_column_name!r})"


def download(uri_column_name: str, *, filesystem: Optional["pa.fs.FileSystem"] = None) -> DownloadExpr:
    """The bytes behind each URI in column ``uri_column_name`` (paths, ``file://``, ``s3://``,
    ``memory://``...), read through fsspec or the given ``filesystem``; null URIs give null bytes,
    and a URI that cannot be read raises an error naming it.

    Examples:
        >>> import fsspec
        >>> from streamscope.expressions import download
        >>> with fsspec.open("memory://docs/download/a.txt", "wb") as f:
        ...     _ = f.write(b"hello")
        >>> ds = streamscope.from_items([{"uri": "memory://docs/download/a.txt"}, {"uri": None}])
        >>> ds.with_column("bytes", download("uri")).take()
        [{'uri': 'memory://docs/download/a.txt', 'bytes': b'hello'}, {'uri': None, 'bytes': None}]
    """
    return DownloadExpr(uri_column_name, filesystem)
