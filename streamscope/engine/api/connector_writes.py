"""Dataset write methods of the connectors (``write_sql``, ``write_delta``...), kept apart from
``writes.py`` (the file formats) so each stays one concept.

Each method has Ray Data 2.60's signature and docstring and hands its arguments to the connector's
module in ``api/connectors/``, imported lazily: a connector's library is imported only when its
write is called, so ``import streamscope`` never pays for it.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Union

from streamscope.engine.io.save_mode import SaveMode


class ConnectorWriteMixin:
    """Dataset methods that write to databases, lakehouse tables and other connectors."""

    def write_webdataset(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                         arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                         min_rows_per_file: Optional[int] = None, ray_remote_args: Dict[str, Any] = None,
                         encoder: Union[bool, str, Callable[[Dict[str, Any]], Dict[str, Any]],
                                        List[Union[bool, str, Callable[[Dict[str, Any]], Dict[str, Any]]]],
                                        None] = True,
                         concurrency: Optional[int] = None, num_rows_per_file: Optional[int] = None,
                         mode: SaveMode = SaveMode.APPEND) -> None:
        """Write the rows as WebDataset tar shards into the directory ``path``: each row is one
        sample, each column one member named ``{__key__}.{column}`` (a random key when the row has
        no ``__key__``; columns starting with ``__`` and ``None`` values are left out). The files
        appear under their final names only when every task has succeeded.

        ``encoder`` (default True) encodes by the column name's extension: ``txt`` (str),
        ``cls`` (int), ``json`` (any JSON value), ``npy`` (array), ``jpg``/``png``/... (uint8
        array or PIL image, through Pillow); str values are written as UTF-8, bytes as they are.
        A callable (or a list of specs, applied in order) takes and returns the sample dict;
        ``None`` writes the values as they are (each must be bytes or str). ``mode``,
        ``min_rows_per_file`` and ``concurrency`` as in :meth:`write_parquet`.

        Examples:
            >>> import tempfile
            >>> import numpy as np
            >>> tmp = tempfile.TemporaryDirectory()
            >>> rows = [{"__key__": f"s{i}", "cls": i, "npy": np.full(2, i)} for i in range(3)]
            >>> streamscope.from_items(rows).write_webdataset(tmp.name, min_rows_per_file=3)
            >>> [(r["__key__"], r["cls"], r["npy"].tolist()) for r in streamscope.read_webdataset(tmp.name).take_all()]
            [('s0', 0, [0, 0]), ('s1', 1, [1, 1]), ('s2', 2, [2, 2])]
            >>> tmp.cleanup()
        """
        # lazy on purpose: the connector's module (and fsspec, through its datasink) only when called
        from streamscope.engine.api.connectors.webdataset_write import write_webdataset

        write_webdataset(self, path, filesystem=filesystem, try_create_dir=try_create_dir,
                         arrow_open_stream_args=arrow_open_stream_args, filename_provider=filename_provider,
                         min_rows_per_file=min_rows_per_file, ray_remote_args=ray_remote_args, encoder=encoder,
                         concurrency=concurrency, num_rows_per_file=num_rows_per_file, mode=mode)

    def write_tfrecords(self, path: str, *, tf_schema: Any = None, filesystem: Any = None,
                        try_create_dir: bool = True, arrow_open_stream_args: Optional[Dict[str, Any]] = None,
                        filename_provider: Any = None, min_rows_per_file: Optional[int] = None,
                        ray_remote_args: Dict[str, Any] = None, concurrency: Optional[int] = None,
                        num_rows_per_file: Optional[int] = None, mode: SaveMode = SaveMode.APPEND) -> None:
        """Write the rows as TFRecord files of ``tf.train.Example`` records (one per row) into the
        directory ``path``, without TensorFlow. The files appear under their final names only when
        every task has succeeded.

        As in Ray Data: integer columns become ``int64_list`` features, floats ``float_list``
        (float32), binary and string columns ``bytes_list`` (strings as UTF-8); a scalar is a
        one-value list, a null an empty one; list columns give their values; tensor columns one
        ``tf.io.serialize_tensor`` value per row. Other types (bool, structs, nested lists) and
        all-null columns are refused naming the column. ``tf_schema`` (a ``tensorflow_metadata``
        ``schema_pb2.Schema``) sets each feature's type and refuses columns it lacks. ``mode``,
        ``min_rows_per_file`` and ``concurrency`` as in :meth:`write_parquet`.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.from_items([{"id": 7, "tags": ["a", "b"]}]).write_tfrecords(tmp.name)
            >>> streamscope.read_tfrecords(tmp.name).take_all()
            [{'id': 7, 'tags': [b'a', b'b']}]
            >>> tmp.cleanup()
        """
        # lazy on purpose: the connector's module (and fsspec, through its datasink) only when called
        from streamscope.engine.api.connectors.tfrecords_write import write_tfrecords

        write_tfrecords(self, path, tf_schema=tf_schema, filesystem=filesystem, try_create_dir=try_create_dir,
                        arrow_open_stream_args=arrow_open_stream_args, filename_provider=filename_provider,
                        min_rows_per_file=min_rows_per_file, ray_remote_args=ray_remote_args,
                        concurrency=concurrency, num_rows_per_file=num_rows_per_file, mode=mode)
