"""``Dataset.write_orc``'s implementation, apart from ``orc.py`` so the Dataset method can import
it lazily: this module imports only ``engine/io`` (``orc.py`` builds Datasets through
``read_datasource`` and so sits above ``dataset.py``)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.io.write_args import refuse_unsupported, rows_per_file


def write_orc(ds: Any, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
              arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
              arrow_orc_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
              min_rows_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
              concurrency: Optional[int] = None, mode: SaveMode = SaveMode.APPEND, **arrow_orc_args: Any) -> None:
    """Write ``ds`` as ORC files into the directory ``path`` (what ``Dataset.write_orc`` does).

    Examples:
        >>> import tempfile
        >>> from streamscope.engine.api.connectors.orc_write import write_orc
        >>> tmp = tempfile.TemporaryDirectory()
        >>> write_orc(streamscope.range(5), tmp.name, compression="zstd")
        >>> streamscope.read_orc(tmp.name).count()
        5
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.orc_datasink import ORCDatasink

    writer = "write_orc"
    refuse_unsupported(writer, arrow_open_stream_args=arrow_open_stream_args)
    low, _ = rows_per_file(writer, min_rows_per_file=min_rows_per_file)
    sink = ORCDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir, filename_provider=filename_provider,
                       mode=mode, arrow_orc_args_fn=arrow_orc_args_fn,
                       min_rows_per_file=low, **arrow_orc_args)
    ds.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)
