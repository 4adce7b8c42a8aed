"""``read_tfrecords``: a dataset of the ``tf.train.Example`` records of TFRecord files, read
without TensorFlow.

The write side (``Dataset.write_tfrecords``) lives in ``tfrecords_write.py``: the Dataset's
write method imports it, and this module imports ``read_datasource`` (hence ``Dataset``), which
would close an import cycle.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Union

from streamscope.engine.api.read import read_datasource

# The datasource is imported inside the function: it imports fsspec (~0.25 s, through
# io/paths.py), which ``import streamscope`` must not pay.


def read_tfrecords(
    paths: Union[str, List[str]],
    *,
    filesystem: Any = None,
    parallelism: int = -1,
    num_cpus: Optional[float] = None,
    num_gpus: Optional[float] = None,
    memory: Optional[float] = None,
    arrow_open_stream_args: Optional[Dict[str, Any]] = None,
    partition_filter: Any = None,
    include_paths: bool = False,
    ignore_missing_paths: bool = False,
    tf_schema: Any = None,
    shuffle: Union[Literal["files"], Any, None] = None,
    file_extensions: Optional[List[str]] = None,
    concurrency: Optional[int] = None,
    override_num_blocks: Optional[int] = None,
    label_selector: Optional[Dict[str, str]] = None,
    fallback_strategy: Optional[List[Dict[str, Any]]] = None,
    max_calls: Optional[int] = None,
    resources: Optional[Dict[str, float]] = None,
    accelerator_type: Optional[str] = None,
    runtime_env: Optional[Dict[str, Any]] = None,
    ray_remote_args: Optional[Dict[str, Any]] = None,
):
    """A dataset of the `tf.train.Example
    <https://www.tensorflow.org/api_docs/python/tf/train/Example>`_ records of TFRecord files,
    one row per record, one column per feature; TensorFlow is not needed (no extra either).

    As in Ray Data: ``bytes_list`` features become ``binary`` columns, ``float_list`` ``float``
    (float32), ``int64_list`` ``int64``; a feature holding exactly one value becomes a scalar,
    other lengths a list (within a block of records, a feature with several values in some
    records is a list column, one with one value or none a scalar with nulls). ``tf_schema`` (a ``tensorflow_metadata`` ``schema_pb2.Schema``) keeps
    every feature a list of the schema's type and refuses features it lacks or whose type
    differs. Length and data checksums are verified: a corrupt or truncated file fails naming
    the file and the record. ``.gz``/``.bz2``/``.zst`` files are decompressed (or pass
    ``arrow_open_stream_args={"compression": "gzip"}``). Each file is read as a stream; selecting
    columns decodes only those features.

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> pets = streamscope.from_items([{"label": 1, "name": "cat"}, {"label": 0, "name": "dog"}])
        >>> pets.write_tfrecords(tmp.name)
        >>> streamscope.read_tfrecords(tmp.name).sort("label").take_all()
        [{'label': 0, 'name': b'dog'}, {'label': 1, 'name': b'cat'}]
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.tfrecords_datasource import TFRecordDatasource

    datasource = TFRecordDatasource(
        paths, tf_schema=tf_schema, filesystem=filesystem, open_stream_args=arrow_open_stream_args,
        partition_filter=partition_filter, ignore_missing_paths=ignore_missing_paths, shuffle=shuffle,
        include_paths=include_paths, file_extensions=file_extensions,
    )
    return read_datasource(
        datasource, parallelism=parallelism, num_cpus=num_cpus, num_gpus=num_gpus, memory=memory,
        concurrency=concurrency, override_num_blocks=override_num_blocks, label_selector=label_selector,
        fallback_strategy=fallback_strategy, max_calls=max_calls, resources=resources,
        accelerator_type=accelerator_type, runtime_env=runtime_env, ray_remote_args=ray_remote_args,
    )
