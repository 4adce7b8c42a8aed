"""``arrow_open_stream_args`` of the record readers (TFRecords, WebDataset): the one key they
honour, ``compression``.

Why only that: Ray Data documents ``arrow_open_stream_args={"compression": "gzip"}`` as the way
to read compressed TFRecord and tar shards, and streamscope opens files through fsspec, which
can decompress the same codecs. Without it (or with ``None``) the codec is inferred from the file
extension (``.gz``, ``.bz2``, ``.xz``, ``.zst``), as Ray infers it. Other keys (``buffer_size``...)
are pyarrow options with no fsspec meaning and are refused by name.
"""

from __future__ import annotations

from typing import Any, Optional

_CODECS = {"gzip": "gzip", "gz": "gzip", "bz2": "bz2", "zstd": "zstd", "lzma": "lzma", "xz": "xz"}
"""Codec names accepted (Arrow's and fsspec's spellings) -> fsspec's name."""


def open_compression(open_stream_args: Optional[dict], reader: str) -> Optional[str]:
    """The fsspec ``compression=`` to open each file with: ``"infer"`` (by extension) unless
    ``open_stream_args["compression"]`` names a codec.

    Examples:
        >>> open_compression(None, "read_tfrecords"), open_compression({"compression": "gzip"}, "read_tfrecords")
        ('infer', 'gzip')
        >>> open_compression({"buffer_size": 1024}, "read_tfrecords")
        Traceback (most recent call last):
        ...
        ValueError: read_tfrecords: arrow_open_stream_args keys ['buffer_size'] are not supported: only 'compression' is (e.g. {'compression': 'gzip'}); configure other options on an fsspec filesystem passed as filesystem=
    """
    if open_stream_args is None:
        return "infer"
    if not isinstance(open_stream_args, dict):
        raise TypeError(f"{reader}: arrow_open_stream_args must be a dict or None, got {type(open_stream_args).__name__}")
    unknown = sorted(k for k in open_stream_args if k != "compression")
    if unknown:
        raise ValueError(f"{reader}: arrow_open_stream_args keys {unknown} are not supported: only 'compression' is "
                         "(e.g. {'compression': 'gzip'}); configure other options on an fsspec filesystem passed "
                         "as filesystem=")
    codec: Any = open_stream_args.get("compression")
    if codec is None:
        return "infer"
    name = _CODECS.get(str(codec).lower()) if isinstance(codec, str) else None
    if name is None:
        raise ValueError(f"{reader}: arrow_open_stream_args compression={codec!r} is not supported; use one of "
                         f"{sorted(set(_CODECS.values()))}, or None to infer it from the file extension")
    return name
