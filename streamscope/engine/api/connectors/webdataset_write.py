"""The implementation of ``Dataset.write_webdataset`` (the method, in
``api/connector_writes.py``, hands its arguments here): build the WebDataset datasink and run
the two-phase file write.

Kept apart from ``webdataset.py`` (``read_webdataset``): that module imports ``read_datasource``
and so the Dataset class, whose write method imports this one; together they would close an
import cycle.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.io.webdataset_datasink import WebDatasetDatasink
from streamscope.engine.io.write_args import refuse_unsupported, rows_per_file


def write_webdataset(ds: Any, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                     arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                     min_rows_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                     encoder: Any = True, concurrency: Optional[int] = None,
                     num_rows_per_file: Optional[int] = None, mode: SaveMode = SaveMode.APPEND) -> None:
    """Write ``ds`` as WebDataset tar shards into the directory ``path`` (see
    :meth:`Dataset.write_webdataset <streamscope.Dataset.write_webdataset>`).

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> write_webdataset(streamscope.from_items([{"__key__": "k", "txt": "hi"}]), tmp.name)
        >>> streamscope.read_webdataset(tmp.name).select_columns(["__key__", "txt"]).take_all()
        [{'__key__': 'k', 'txt': 'hi'}]
        >>> tmp.cleanup()
    """
    writer = "write_webdataset"
    refuse_unsupported(writer, arrow_open_stream_args=arrow_open_stream_args)
    low, _ = rows_per_file(writer, num_rows_per_file=num_rows_per_file, min_rows_per_file=min_rows_per_file)
    sink = WebDatasetDatasink(path, encoder=encoder, filesystem=filesystem, try_create_dir=try_create_dir,
                              filename_provider=filename_provider, dataset_uuid=None, mode=mode,
                              min_rows_per_file=low)
    ds.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)
