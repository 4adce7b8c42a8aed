"""Dataset write methods of the connectors (``write_sql``, ``write_delta``...), kept apart from
``writes.py`` (the file formats) so each stays one concept.

Each method has Ray Data 2.60's signature and docstring and hands its arguments to the connector's
module in ``api/connectors/``. Those modules sit above ``dataset.py`` (their ``read_*`` functions
build Datasets), so this module does not import them: each registers its write functions here
when it is imported (``register_connector_write``), which ``import streamscope`` does. A
connector's library is imported only when its write is called, so ``import streamscope`` never
pays for it.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from streamscope.engine.io.save_mode import SaveMode

_CONNECTOR_WRITES: Dict[str, Callable[..., None]] = {}


def register_connector_write(name: str, fn: Callable[..., None]) -> None:
    """Make ``fn(dataset, *args, **kwargs)`` the implementation of ``Dataset.<name>``."""
    _CONNECTOR_WRITES[name] = fn


def _connector_write(name: str) -> Callable[..., None]:
    try:
        return _CONNECTOR_WRITES[name]
    except KeyError:
        raise RuntimeError(f"Dataset.{name}: its connector module was not imported; import streamscope first") from None


class ConnectorWriteMixin:
    """Dataset methods that write to databases, lakehouse tables and other connectors."""

    def write_orc(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                  arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                  arrow_orc_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                  min_rows_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                  concurrency: Optional[int] = None, mode: SaveMode = SaveMode.APPEND, **arrow_orc_args: Any) -> None:
        """Write the rows as ORC files into the directory ``path`` (local or any fsspec URL), one
        file per block unless ``min_rows_per_file`` gathers more; the files appear under their
        final names only when every task has succeeded. ``mode`` as in :meth:`write_parquet`;
        ``**arrow_orc_args`` (and what ``arrow_orc_args_fn`` returns) go to
        ``pyarrow.orc.write_table`` (``compression=``, ``stripe_size=``...), checked before the run.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.from_items([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]).write_orc(tmp.name, min_rows_per_file=2)
            >>> streamscope.read_orc(tmp.name).take()
            [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
            >>> tmp.cleanup()
        """
        _connector_write("write_orc")(self, path, filesystem=filesystem, try_create_dir=try_create_dir,
                                      arrow_open_stream_args=arrow_open_stream_args, filename_provider=filename_provider,
                                      arrow_orc_args_fn=arrow_orc_args_fn, min_rows_per_file=min_rows_per_file,
                                      ray_remote_args=ray_remote_args, concurrency=concurrency, mode=mode,
                                      **arrow_orc_args)
