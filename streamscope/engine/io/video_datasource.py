"""Video files via PyAV (FFmpeg): one row per frame, as Ray Data 2.60's ``read_videos``.

Ray decodes with decord; this reader gives the same columns with PyAV. ``frame``: uint8 RGB
``(height, width, 3)``; ``frame_index``: int64, the frame's position in presentation order in the
whole video (kept when ``fps`` drops frames); with ``include_timestamps``, ``frame_timestamp``: a
float32 ``[start, end]`` pair in seconds, ``(pts - stream start) * time_base`` and that plus the
frame's duration (decord's ``get_frame_timestamp``). Then partition columns and ``path``.

As decord does: the first (best) video stream is read; ``fps`` keeps every ``stride``-th frame,
``stride = max(1, round(average_fps / fps))`` (all frames when the file has no average rate);
``resize=(height, width)`` scales with FFmpeg's bilinear swscale while converting to RGB; a
display-matrix rotation (phone videos) is applied, so frames come out upright (the resize is the
upright frame's size).

Streaming: a read task decodes frame by frame and yields a block whenever its frames reach
``DataContext.target_max_block_size``, so a long video never sits in memory whole. A projection
without ``frame`` decodes but skips the RGB conversion.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterator, Optional, Tuple

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.context import DataContext
from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource
from streamscope.engine.io.media_extensions import VIDEO_EXTENSIONS
from streamscope.engine.io.stream_open_args import OpenArgs



def check_fps(fps: Any) -> Optional[int]:
    """``fps`` as Ray accepts it: None or a positive integer (bools refused).

    Examples:
        >>> check_fps(5), check_fps(None)
        (5, None)
    """
    if fps is None:
        return None
    if isinstance(fps, bool) or not isinstance(fps, numbers.Integral) or fps <= 0:
        raise ValueError(f"read_videos: fps must be a positive integer (frames per second to keep), got {fps!r}")
    return int(fps)


def check_resize(resize: Any) -> Optional[Tuple[int, int]]:
    """``resize`` as Ray accepts it: None or two positive integers ``(height, width)``.

    Examples:
        >>> check_resize([24, 32])
        (24, 32)
    """
    if resize is None:
        return None
    try:
        dims = tuple(resize)
    except TypeError:
        dims = ()
    if len(dims) != 2 or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in dims):
        raise ValueError(f"read_videos: resize must be two integers (height, width), got {resize!r}")
    if dims[0] <= 0 or dims[1] <= 0:
        raise ValueError(f"read_videos: resize must hold positive integers (height, width), got {resize!r}")
    return int(dims[0]), int(dims[1])


def frame_stride(average_rate: Any, fps: Optional[int]) -> int:
    """Keep every n-th frame: ``max(1, round(source fps / fps))``, as Ray (1 without ``fps``
    or without a known source rate).

    Examples:
        >>> frame_stride(30, 10), frame_stride(30, 60), frame_stride(25, 10), frame_stride(None, 5)
        (3, 1, 2, 1)
    """
    if fps is None or not average_rate:
        return 1
    return max(1, round(float(average_rate) / fps))


def upright_turns(rotation: Any) -> int:
    """Quarter turns counter-clockwise (``numpy.rot90``'s ``k``) that show a frame upright, from
    PyAV's ``VideoFrame.rotation`` (the display matrix's counter-clockwise angle). Only multiples
    of 90 degrees rotate, as in decord.

    Examples:
        >>> upright_turns(0), upright_turns(90), upright_turns(-90), upright_turns(180)
        (0, 1, 3, 2)
    """
    degrees = int(round(rotation or 0)) % 360
    return degrees // 90 if degrees % 90 == 0 else 0


class VideoDatasource(FileBasedDatasource):
    """Reads video files with PyAV into ``frame`` / ``frame_index`` (/ ``frame_timestamp``)
    rows, one per decoded frame.

    Examples:
        >>> import os, tempfile
        >>> import av, numpy as np
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "clip.mkv")
        >>> with av.open(path, "w") as out:
        ...     stream = out.add_stream("ffv1", rate=10)
        ...     stream.width, stream.height = 16, 8
        ...     for i in range(4):
        ...         frame = av.VideoFrame.from_ndarray(np.full((8, 16, 3), 60 * i, np.uint8), format="rgb24")
        ...         for packet in stream.encode(frame):
        ...             out.mux(packet)
        ...     for packet in stream.encode():
        ...         out.mux(packet)
        >>> rows = streamscope.read_datasource(VideoDatasource(path, fps=5)).take_all()
        >>> [(r["frame_index"], r["frame"].shape) for r in rows]
        [(0, (8, 16, 3)), (2, (8, 16, 3))]
        >>> tmp.cleanup()
    """

    _FILE_EXTENSIONS = VIDEO_EXTENSIONS

    def __init__(self, paths: Any, *, include_timestamps: bool = False, fps: Optional[int] = None,
                 resize: Optional[Tuple[int, int]] = None, open_stream_args: Optional[dict] = None,
                 file_extensions: Any = _DEFAULT, **file_args: Any):
        self._fps = check_fps(fps)
        self._resize = check_resize(resize)
        self._include_timestamps = include_timestamps is True  # as Ray: only True adds the column
        self._open_args = OpenArgs.check(open_stream_args, "read_videos")
        super().__init__(paths, file_extensions=file_extensions, **file_args)

    def get_name(self) -> str:
        return "ReadVideo"

    def _read_file(self, path: str) -> Iterator[pa.Table]:
        # containers need random access (an mp4's index may sit at its end)
        with self._open_args.open_random_access(self._fs, path, "read_videos") as f:
            yield from self._read_stream(f, path)

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        import av

        wanted = self._file_read_columns()
        with_frames = wanted is None or "frame" in wanted
        max_bytes = DataContext.get_current().target_max_block_size or (128 << 20)
        # with a limit (and no row filter) the first block need hold no more frames than it
        max_rows = self._limit if self._limit is not None and self._row_predicate is None else None
        try:
            container = av.open(f, mode="r")
        except (av.error.FFmpegError, OSError) as exc:  # an empty file fails its first seek: OSError
            raise ValueError(f"PyAV (FFmpeg) cannot open this file as a video: {type(exc).__name__}: {exc}") from exc
        with container:
            streams = container.streams.video
            if not streams:
                raise ValueError("the file has no video stream")
            stream = container.streams.best("video") or streams[0]
            stream.thread_type = "AUTO"
            stride = frame_stride(stream.average_rate, self._fps)
            time_base = float(stream.time_base) if stream.time_base else 0.0
            start = stream.start_time or 0
            frames: list[np.ndarray] = []
            indices: list[int] = []
            stamps: list[tuple[float, float]] = []
            nbytes = 0
            for index, frame in enumerate(container.decode(stream)):
                if index % stride:
                    continue
                indices.append(index)
                if self._include_timestamps:
                    stamps.append(_timestamp(frame, start, time_base))
                if with_frames:
                    frames.append(self._rgb(frame))
                    nbytes += frames[-1].nbytes
                else:
                    nbytes += 8
                if nbytes >= max_bytes or (max_rows is not None and len(indices) >= max_rows):
                    yield self._block(frames, indices, stamps, with_frames)
                    frames, indices, stamps, nbytes = [], [], [], 0
            if indices:
                yield self._block(frames, indices, stamps, with_frames)

    def _rgb(self, frame: Any) -> np.ndarray:
        """The frame as upright uint8 RGB, resized to ``resize`` (bilinear swscale)."""
        turns = upright_turns(frame.rotation)
        if self._resize is not None:
            height, width = self._resize
            if turns % 2:
                height, width = width, height  # scale the stored frame so that it is the size once turned
        else:
            height, width = frame.height, frame.width
        array = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="BILINEAR")
        if turns:
            array = np.ascontiguousarray(np.rot90(array, k=turns))
        return array

    def _block(self, frames: list[np.ndarray], indices: list[int], stamps: list[tuple[float, float]],
               with_frames: bool) -> pa.Table:
        columns, names = [], []
        if with_frames:
            columns.append(tensor.tensors_to_arrow(frames))
            names.append("frame")
        columns.append(pa.array(indices, pa.int64()))
        names.append("frame_index")
        if self._include_timestamps:
            columns.append(tensor.fixed_tensor_from_ndarray(np.asarray(stamps, dtype=np.float32).reshape(-1, 2)))
            names.append("frame_timestamp")
        return pa.Table.from_arrays(columns, names=names)

    def pushdown_summary(self) -> list[str]:
        out = super().pushdown_summary()
        if self._fps is not None:
            out.append(f"fps={self._fps}")
        if self._resize is not None:
            out.append(f"resize={self._resize}")
        return out


def _timestamp(frame: Any, start: int, time_base: float) -> tuple[float, float]:
    """decord's ``[start, end]`` of a frame, in seconds from the stream's start."""
    pts = frame.pts
    if pts is None:
        pts = frame.dts if frame.dts is not None else 0
    duration = frame.duration or 0
    return (pts - start) * time_base, (pts + duration - start) * time_base
