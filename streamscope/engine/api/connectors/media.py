"""``read_audio`` and ``read_videos``: audio and video files, Ray Data 2.60's signatures.

Why here: both need optional libraries (``soundfile`` for audio, PyAV ``av`` for video, the
``media`` extra), imported in the driver when the read is called so a missing one is an
ImportError naming the reader and ``pip install 'streamscope[media]'`` before any work. Ray
decodes video with decord; streamscope uses PyAV and gives decord's columns and semantics (see
``engine/io/video_datasource.py``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple, Union

from streamscope.engine.api.read import read_datasource
from streamscope.engine.io.media_extensions import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS
from streamscope.engine.io.optional_deps import import_optional
from streamscope.engine.io.partitioning import Partitioning

# The datasources are imported inside the functions: they import fsspec (~0.25 s, through
# io/paths.py), which ``import streamscope`` must not pay.


def read_audio(
    paths: Union[str, List[str]],
    *,
    filesystem: Optional[Any] = None,
    arrow_open_stream_args: Optional[Dict[str, Any]] = None,
    partition_filter: Optional[Any] = None,
    partitioning: Optional[Partitioning] = None,
    include_paths: bool = False,
    ignore_missing_paths: bool = False,
    file_extensions: Optional[List[str]] = AUDIO_EXTENSIONS,
    shuffle: Union[Literal["files"], None] = None,
    concurrency: Optional[int] = None,
    override_num_blocks: Optional[int] = None,
    num_cpus: Optional[float] = None,
    num_gpus: Optional[float] = None,
    memory: Optional[float] = None,
    label_selector: Optional[Dict[str, str]] = None,
    fallback_strategy: Optional[List[Dict[str, Any]]] = None,
    max_calls: Optional[int] = None,
    resources: Optional[Dict[str, float]] = None,
    accelerator_type: Optional[str] = None,
    runtime_env: Optional[Dict[str, Any]] = None,
    ray_remote_args: Optional[Dict[str, Any]] = None,
):
    """A dataset of audio files decoded with soundfile, one row per file: ``amplitude`` (float32,
    shape ``(channels, samples)``, mono as ``(1, samples)``) and ``sample_rate`` (int), as in Ray
    Data; ``include_paths=True`` adds ``path``. Files are split across read tasks by size;
    ``arrow_open_stream_args={"compression": "gzip"}`` (or a ``.gz`` name) decompresses while
    reading. Needs ``pip install 'streamscope[media]'``.

    Examples:
        >>> import os, tempfile
        >>> import numpy as np, soundfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)
        >>> soundfile.write(os.path.join(tmp.name, "tone.wav"), tone, 8000)
        >>> row = streamscope.read_audio(tmp.name).take(1)[0]
        >>> row["amplitude"].shape, row["amplitude"].dtype, row["sample_rate"]
        ((1, 800), dtype('float32'), 8000)
        >>> tmp.cleanup()
    """
    import_optional("soundfile", extra="media", connector="read_audio")
    from streamscope.engine.io.audio_datasource import AudioDatasource

    datasource = AudioDatasource(
        paths, filesystem=filesystem, open_stream_args=arrow_open_stream_args, partition_filter=partition_filter,
        partitioning=partitioning, ignore_missing_paths=ignore_missing_paths, shuffle=shuffle,
        include_paths=include_paths, file_extensions=file_extensions)
    return read_datasource(
        datasource, ray_remote_args=ray_remote_args, label_selector=label_selector,
        fallback_strategy=fallback_strategy, max_calls=max_calls, resources=resources,
        accelerator_type=accelerator_type, runtime_env=runtime_env, num_cpus=num_cpus, num_gpus=num_gpus,
        memory=memory, concurrency=concurrency, override_num_blocks=override_num_blocks)


def read_videos(
    paths: Union[str, List[str]],
    *,
    filesystem: Optional[Any] = None,
    arrow_open_stream_args: Optional[Dict[str, Any]] = None,
    partition_filter: Optional[Any] = None,
    partitioning: Optional[Partitioning] = None,
    include_paths: bool = False,
    include_timestamps: bool = False,
    fps: Optional[int] = None,
    resize: Optional[Tuple[int, int]] = None,
    ignore_missing_paths: bool = False,
    file_extensions: Optional[List[str]] = VIDEO_EXTENSIONS,
    shuffle: Union[Literal["files"], None] = None,
    concurrency: Optional[int] = None,
    override_num_blocks: Optional[int] = None,
    num_cpus: Optional[float] = None,
    num_gpus: Optional[float] = None,
    memory: Optional[float] = None,
    label_selector: Optional[Dict[str, str]] = None,
    fallback_strategy: Optional[List[Dict[str, Any]]] = None,
    max_calls: Optional[int] = None,
    resources: Optional[Dict[str, float]] = None,
    accelerator_type: Optional[str] = None,
    runtime_env: Optional[Dict[str, Any]] = None,
    ray_remote_args: Optional[Dict[str, Any]] = None,
):
    """A dataset of video frames decoded with PyAV, one row per frame: ``frame`` (uint8 RGB,
    ``(height, width, 3)``) and ``frame_index`` (its position in the video), as in Ray Data;
    ``include_timestamps=True`` adds ``frame_timestamp`` (float32 ``[start, end]`` seconds),
    ``fps=n`` keeps every ``round(source_fps / n)``-th frame, ``resize=(height, width)`` scales
    at decode. Frames stream out in blocks as they are decoded, so long videos never sit in
    memory whole. Needs ``pip install 'streamscope[media]'``.

    Examples:
        >>> import os, tempfile
        >>> import av, numpy as np
        >>> tmp = tempfile.TemporaryDirectory()
        >>> with av.open(os.path.join(tmp.name, "clip.mkv"), "w") as out:
        ...     stream = out.add_stream("ffv1", rate=10)
        ...     stream.width, stream.height = 32, 24
        ...     for i in range(6):
        ...         image = np.full((24, 32, 3), 40 * i, np.uint8)
        ...         for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
        ...             out.mux(packet)
        ...     for packet in stream.encode():
        ...         out.mux(packet)
        >>> ds = streamscope.read_videos(tmp.name, fps=5, resize=(12, 16), include_timestamps=True)
        >>> [(r["frame_index"], r["frame"].shape, [round(float(t), 2) for t in r["frame_timestamp"]])
        ...  for r in ds.take_all()]
        [(0, (12, 16, 3), [0.0, 0.1]), (2, (12, 16, 3), [0.2, 0.3]), (4, (12, 16, 3), [0.4, 0.5])]
        >>> tmp.cleanup()
    """
    import_optional("av", extra="media", connector="read_videos")
    from streamscope.engine.io.video_datasource import VideoDatasource

    datasource = VideoDatasource(
        paths, filesystem=filesystem, open_stream_args=arrow_open_stream_args, partition_filter=partition_filter,
        partitioning=partitioning, ignore_missing_paths=ignore_missing_paths, shuffle=shuffle,
        include_paths=include_paths, include_timestamps=include_timestamps, fps=fps, resize=resize,
        file_extensions=file_extensions)
    return read_datasource(
        datasource, ray_remote_args=ray_remote_args, label_selector=label_selector,
        fallback_strategy=fallback_strategy, max_calls=max_calls, resources=resources,
        accelerator_type=accelerator_type, runtime_env=runtime_env, num_cpus=num_cpus, num_gpus=num_gpus,
        memory=memory, concurrency=concurrency, override_num_blocks=override_num_blocks)
