"""The implementation of ``Dataset.write_tfrecords`` (the method, in
``api/connector_writes.py``, hands its arguments here): build the TFRecord datasink and run the
two-phase file write.

Kept apart from ``tfrecords.py`` (``read_tfrecords``): that module imports ``read_datasource``
and so the Dataset class, whose write method imports this one; together they would close an
import cycle.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.io.tfrecords_datasink import TFRecordDatasink
from streamscope.engine.io.write_args import refuse_unsupported, rows_per_file


def write_tfrecords(ds: Any, path: str, *, tf_schema: Any = None, filesystem: Any = None, try_create_dir: bool = True,
                    arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                    min_rows_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                    concurrency: Optional[int] = None, num_rows_per_file: Optional[int] = None,
                    mode: SaveMode = SaveMode.APPEND) -> None:
    """Write ``ds`` as TFRecord files of ``tf.train.Example`` records into the directory ``path``
    (see :meth:`Dataset.write_tfrecords <streamscope.Dataset.write_tfrecords>`).

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> write_tfrecords(streamscope.from_items([{"x": [1.5, 2.5]}]), tmp.name)
        >>> streamscope.read_tfrecords(tmp.name).take_all()
        [{'x': [1.5, 2.5]}]
        >>> tmp.cleanup()
    """
    writer = "write_tfrecords"
    refuse_unsupported(writer, arrow_open_stream_args=arrow_open_stream_args)
    low, _ = rows_per_file(writer, num_rows_per_file=num_rows_per_file, min_rows_per_file=min_rows_per_file)
    sink = TFRecordDatasink(path, tf_schema=tf_schema, filesystem=filesystem, try_create_dir=try_create_dir,
                            filename_provider=filename_provider, mode=mode, min_rows_per_file=low)
    ds.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)
