"""``read_webdataset``: a dataset of the samples of WebDataset tar shards.

The write side (``Dataset.write_webdataset``) lives in ``webdataset_write.py``: the Dataset's
write method imports it, and this module imports ``read_datasource`` (hence ``Dataset``), which
would close an import cycle.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Literal, Optional, Union

from streamscope.engine.api.read import read_datasource

# The datasource is imported inside the function: it imports fsspec (~0.25 s, through
# io/paths.py), which ``import streamscope`` must not pay.


def read_webdataset(
    paths: Union[str, List[str]],
    *,
    filesystem: Any = None,
    parallelism: int = -1,
    num_cpus: Optional[float] = None,
    num_gpus: Optional[float] = None,
    memory: Optional[float] = None,
    arrow_open_stream_args: Optional[Dict[str, Any]] = None,
    partition_filter: Any = None,
    decoder: Union[bool, str, Callable, list, None] = True,
    fileselect: Union[list, Callable, None] = None,
    filerename: Union[list, Callable, None] = None,
    suffixes: Union[list, Callable, None] = None,
    verbose_open: bool = False,
    shuffle: Union[Literal["files"], Any, None] = None,
    include_paths: bool = False,
    file_extensions: Optional[List[str]] = None,
    concurrency: Optional[int] = None,
    override_num_blocks: Optional[int] = None,
    expand_json: bool = False,
    label_selector: Optional[Dict[str, str]] = None,
    fallback_strategy: Optional[List[Dict[str, Any]]] = None,
    max_calls: Optional[int] = None,
    resources: Optional[Dict[str, float]] = None,
    accelerator_type: Optional[str] = None,
    runtime_env: Optional[Dict[str, Any]] = None,
    ray_remote_args: Optional[Dict[str, Any]] = None,
):
    """A dataset of the samples of `WebDataset <https://github.com/webdataset/webdataset>`_ tar
    shards: the members sharing a key (the name up to the first dot of its base name) make one
    row, with ``__key__``, one column per member extension and ``__url__`` (the shard's path).
    Each shard is a read task, streamed: no shard is held in memory whole.

    ``decoder`` (default True) decodes by extension: ``txt`` -> str, ``cls`` -> int, ``json`` ->
    parsed, ``npy`` -> array, ``jpg``/``png``/... -> uint8 arrays through Pillow (``"PIL"``: PIL
    images); other members stay bytes; ``None`` keeps every member as bytes; a callable (or a
    list of specs, applied in order) takes and returns the sample dict. ``fileselect`` picks
    members by name (globs such as ``"*.jpg"`` or a callable), ``filerename`` renames them first,
    ``suffixes`` picks the fields kept; ``expand_json=True`` adds the keys of the ``json`` member
    as columns. ``arrow_open_stream_args`` may give ``{"compression": "gzip"}`` (also inferred
    from a ``.gz`` extension); other keys are refused. Selecting columns with the built-in decoder
    skips the other members unread. No extra is needed (Pillow for image members).

    Examples:
        >>> import io, os, tarfile, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> with tarfile.open(os.path.join(tmp.name, "shard-0.tar"), "w") as tar:
        ...     for key, label in [("a", 0), ("b", 1)]:
        ...         for ext, data in [("cls", str(label).encode()), ("txt", f"sample {key}".encode())]:
        ...             info = tarfile.TarInfo(f"{key}.{ext}"); info.size = len(data)
        ...             tar.addfile(info, io.BytesIO(data))
        >>> ds = streamscope.read_webdataset(tmp.name)
        >>> [(r["__key__"], r["cls"], r["txt"]) for r in ds.take_all()]
        [('a', 0, 'sample a'), ('b', 1, 'sample b')]
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.webdataset_datasource import WebDatasetDatasource

    datasource = WebDatasetDatasource(
        paths, decoder=decoder, fileselect=fileselect, filerename=filerename, suffixes=suffixes,
        verbose_open=verbose_open, expand_json=expand_json, filesystem=filesystem,
        open_stream_args=arrow_open_stream_args, partition_filter=partition_filter, shuffle=shuffle,
        include_paths=include_paths, file_extensions=file_extensions,
    )
    return read_datasource(
        datasource, parallelism=parallelism, num_cpus=num_cpus, num_gpus=num_gpus, memory=memory,
        concurrency=concurrency, override_num_blocks=override_num_blocks, label_selector=label_selector,
        fallback_strategy=fallback_strategy, max_calls=max_calls, resources=resources,
        accelerator_type=accelerator_type, runtime_env=runtime_env, ray_remote_args=ray_remote_args,
    )
