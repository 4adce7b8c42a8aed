"""Audio files via soundfile (libsndfile): one row per file, as Ray Data 2.60's ``read_audio``.

Columns, as Ray: ``amplitude``, a float32 tensor of shape ``(channels, samples)`` (mono files
too: ``(1, samples)``), and ``sample_rate`` (int64), then partition columns and ``path``. Ray
decodes with ``soundfile.read(..., always_2d=True, dtype="float32")`` and transposes; so does this
reader, so values are libsndfile's own float conversion (PCM_16 ``x`` becomes ``x / 32768``).

A read task decodes its files in order and packs their rows into blocks of about
``DataContext.target_max_block_size`` (each file is one row, decoded whole: audio is not split).
``amplitude`` is a fixed-shape tensor when every file of a block has the same shape, else a
variable-shape one. A projection without ``amplitude`` reads only the files' headers.
``arrow_open_stream_args`` (``compression``, ``buffer_size``) work as in Ray: compressed files
(``clip.wav.gz``, or ``compression="gzip"``) are decompressed while reading.
"""

from __future__ import annotations

import io
from typing import Any, Iterable, Iterator, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource
from streamscope.engine.io.paths import display_path
from streamscope.engine.io.media_extensions import AUDIO_EXTENSIONS
from streamscope.engine.io.stream_open_args import OpenArgs, seekable



class AudioDatasource(FileBasedDatasource):
    """Reads audio files with soundfile into ``amplitude`` (channels x samples, float32) and
    ``sample_rate`` columns, one row per file.

    Examples:
        >>> import os, tempfile
        >>> import numpy as np, soundfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> soundfile.write(os.path.join(tmp.name, "a.wav"), np.zeros((8, 2)), 8000)
        >>> row = streamscope.read_datasource(AudioDatasource(tmp.name)).take(1)[0]
        >>> row["amplitude"].shape, row["sample_rate"]
        ((2, 8), 8000)
        >>> tmp.cleanup()
    """

    _FILE_EXTENSIONS = AUDIO_EXTENSIONS

    def __init__(self, paths: Any, *, open_stream_args: Optional[dict] = None, file_extensions: Any = _DEFAULT,
                 **file_args: Any):
        self._open_args = OpenArgs.check(open_stream_args, "read_audio")
        super().__init__(paths, file_extensions=file_extensions, **file_args)

    def get_name(self) -> str:
        return "ReadAudio"

    # ---- decoding one file -----------------------------------------------------------------
    def _open(self, path: str) -> Any:
        return self._open_args.open_random_access(self._fs, path, "read_audio")

    def _decode(self, f: Any, with_samples: bool = True) -> tuple[Optional[np.ndarray], int]:
        """``(amplitude (channels, samples) float32 or None, sample rate)`` of one open file."""
        import soundfile

        if not seekable(f):  # a subclass's own _open_input_source may give a plain stream
            f = io.BytesIO(f.read())  # libsndfile needs random access
        try:
            if not with_samples:
                with soundfile.SoundFile(f) as sound:
                    return None, int(sound.samplerate)
            samples, rate = soundfile.read(f, dtype="float32", always_2d=True)
        except soundfile.LibsndfileError as exc:
            raise ValueError(f"libsndfile (soundfile) cannot decode this file as audio: {exc.error_string}") from exc
        return np.ascontiguousarray(samples.T), int(rate)

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        """One file as a one-row table (the subclass hook of FileBasedDatasource)."""
        amplitude, rate = self._decode(f)
        yield pa.Table.from_arrays([tensor.tensors_to_arrow([amplitude]), pa.array([rate], pa.int64())],
                                   names=["amplitude", "sample_rate"])

    def _decoded(self, path: str, with_samples: bool) -> Iterator[tuple[Optional[np.ndarray], int]]:
        with self._open(path) as f:
            yield self._decode(f, with_samples)

    def _read_file(self, path: str) -> Iterator[pa.Table]:
        with self._open(path) as f:
            yield from self._read_stream(f, path)

    # ---- tasks: files -> blocks ----------------------------------------------------------------
    def _needs_samples(self) -> bool:
        wanted = self._file_read_columns()
        return wanted is None or "amplitude" in wanted

    def _read_paths(self, paths: Iterable[str]) -> Iterator[pa.Table]:
        if type(self)._read_stream is not AudioDatasource._read_stream:
            yield from super()._read_paths(paths)  # a subclass decodes files itself
            return
        max_bytes = DataContext.get_current().target_max_block_size or (128 << 20)
        with_samples = self._needs_samples()
        remaining = self._limit
        exact = self._row_predicate is None  # without a row filter each file read is a row out
        rows: list[tuple[Optional[np.ndarray], int]] = []
        sources: list[str] = []
        nbytes = 0
        for path in paths:
            if remaining is not None and (remaining <= 0 or (exact and len(rows) >= remaining)):
                break
            for row in self._read_file_checked(path, lambda p=path: self._decoded(p, with_samples)):
                rows.append(row)
                sources.append(path)
                nbytes += row[0].nbytes if row[0] is not None else 16
            if nbytes >= max_bytes:
                table = self._block(rows, sources, with_samples)
                if remaining is not None:
                    table = table.slice(0, max(remaining, 0))
                    remaining -= table.num_rows
                if table.num_rows:
                    yield table
                rows, sources, nbytes = [], [], 0
        if rows and (remaining is None or remaining > 0):
            table = self._block(rows, sources, with_samples)
            if remaining is not None:
                table = table.slice(0, remaining)
            if table.num_rows:
                yield table

    def _block(self, rows: list[tuple[Optional[np.ndarray], int]], sources: list[str],
               with_samples: bool) -> pa.Table:
        names = [display_path(self._fs, p) for p in sources]
        columns, fields = [], []
        if with_samples:
            try:
                columns.append(tensor.tensors_to_arrow([r[0] for r in rows]))
            except ValueError as exc:  # pragma: no cover - always 2-D, kept for a clear message
                raise DataSourceError(f"ReadAudio: cannot combine the amplitudes of {names[:3]}: {exc}") from exc
            fields.append("amplitude")
        columns.append(pa.array([r[1] for r in rows], pa.int64()))
        fields.append("sample_rate")
        try:
            table = pa.Table.from_arrays(columns, names=fields)
            table = _add_row_file_columns(self, table, sources)
            return self._filter_and_project(table, names[0])
        except DataSourceError:
            raise
        except (ValueError, KeyError, pa.ArrowException) as exc:
            raise DataSourceError(f"ReadAudio: {names[0]!r}: {exc}") from exc



def _add_row_file_columns(source: FileBasedDatasource, table: pa.Table, sources: list[str]) -> pa.Table:
    """Partition and ``path`` columns for a block whose row ``i`` comes from file ``sources[i]``."""
    if not len(source._partition_schema) and not source._include_paths:
        return table
    start = 0
    parts = []
    while start < len(sources):  # one slice per run of rows from the same file
        end = start
        while end < len(sources) and sources[end] == sources[start]:
            end += 1
        parts.append(source._add_file_columns(table.slice(start, end - start), sources[start]))
        start = end
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
