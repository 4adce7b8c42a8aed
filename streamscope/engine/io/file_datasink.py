"""Shared machinery of the file datasinks: naming, save modes and the two-phase commit.

Why two phases: a write task stores each block under a hidden temporary name in the destination
(``._tmp_<write uuid>_<final name>``, skipped by every reader because it starts with a dot), and
only :meth:`on_write_complete`, called once every task has succeeded, renames them to their final
names. :meth:`on_write_failed` deletes the temporaries, including those of tasks that died before
reporting, found by the write's uuid. So a failed or cancelled write never leaves files that look
like output, and ``mode="overwrite"`` removes old files only after the new ones are complete.

Names follow Ray Data 2.60: ``{dataset_uuid}_{write_uuid}_{task_index:06}.{ext}`` for a task's
first block (Parquet adds ``-0``, as Ray's Parquet writer does); further blocks of the same task
add ``-{block_index}`` before the extension.
"""

from __future__ import annotations

import posixpath
import uuid
from typing import Any, Iterable, Optional

import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.io.datasink import Datasink, WriteResult
from streamscope.engine.io.paths import display_path, filesystem_for, is_process_local
from streamscope.engine.io.retry import call_with_retry

SAVE_MODES = ("append", "overwrite", "ignore", "error", "create")
_TMP_PREFIX = "._tmp_"


def _mode_name(mode: Any) -> str:
    name = str(getattr(mode, "value", mode)).lower()
    if name not in SAVE_MODES:
        raise ValueError(f"mode must be one of {SAVE_MODES}, got {mode!r}")
    return name


class FileDatasink(Datasink):
    """Base of the file writers. Subclasses set ``_FILE_FORMAT`` and implement ``_write_block``."""

    _FILE_FORMAT = ""
    _ALWAYS_BLOCK_SUFFIX = False

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = "append",
                 file_format: Optional[str] = None):
        if not isinstance(path, str):
            raise TypeError(f"path must be a str, got {type(path).__name__}")
        self._fs, self._dir = filesystem_for(path, filesystem)
        self._dir = self._dir.rstrip("/") or "/"
        self._path = path
        self._try_create_dir = try_create_dir
        self._filename_provider = filename_provider
        self._dataset_uuid = dataset_uuid or uuid.uuid4().hex[:22]
        self._write_uuid = uuid.uuid4().hex
        self._mode = _mode_name(mode)
        self._format = file_format or self._FILE_FORMAT
        self._skip = False

    def get_name(self) -> str:
        return "Write" + self._format.upper().replace("PARQUET", "Parquet").replace("NPY", "Numpy")

    # ---- names ----------------------------------------------------------------------------
    def filename_for(self, task_index: int, block_index: int) -> str:
        provider = self._filename_provider
        if provider is not None and hasattr(provider, "get_filename_for_task"):
            try:
                name = provider.get_filename_for_task(self._write_uuid, task_index)
            except NotImplementedError:
                name = None
            if name is not None:
                return self._with_block_suffix(name, block_index)
        if provider is not None and hasattr(provider, "get_filename_for_block"):
            return provider.get_filename_for_block(None, self._write_uuid, task_index, block_index)
        name = f"{self._dataset_uuid}_{self._write_uuid}_{task_index:06}.{self._format}"
        return self._with_block_suffix(name, block_index)

    def _with_block_suffix(self, name: str, block_index: int) -> str:
        if block_index == 0 and not self._ALWAYS_BLOCK_SUFFIX:
            return name
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        return f"{stem}-{block_index}" + (f".{ext}" if ext else "")

    def _temp_for(self, final_name: str) -> str:
        return posixpath.join(self._dir, f"{_TMP_PREFIX}{self._write_uuid}_{final_name}")

    # ---- driver side -----------------------------------------------------------------------
    def _existing_files(self) -> list[str]:
        if not self._fs.exists(self._dir):
            return []
        return [p for p in self._fs.find(self._dir, withdirs=False, detail=False)
                if not posixpath.basename(p).startswith((".", "_"))]

    def is_process_local(self) -> bool:
        return is_process_local(self._fs)

    def on_write_start(self) -> None:
        if self._fs.exists(self._dir) and not self._fs.isdir(self._dir):
            raise FileExistsError(f"cannot write to {self._path!r}: it is a file, not a directory")
        if self._mode in ("error", "create") and self._existing_files():
            raise FileExistsError(f"{self._path!r} already holds data and mode={self._mode!r}; use mode='overwrite' or 'append'")
        if self._mode == "ignore" and self._existing_files():
            self._skip = True
            return
        if self._try_create_dir:
            self._fs.makedirs(self._dir, exist_ok=True)

    def on_write_complete(self, results: list[WriteResult]) -> list[str]:
        new_temps = [t for r in results for t in r.temp_paths]
        finals = [f for r in results for f in r.final_paths]
        if self._mode == "overwrite":
            keep = set(finals)
            for old in self._existing_files():
                if old not in keep:
                    self._fs.rm(old)
        for temp, final in zip(new_temps, finals):
            call_with_retry(lambda: self._fs.mv(temp, final), f"renaming {temp} to {final}")
        return [display_path(self._fs, f) for f in finals]

    def on_write_failed(self, results: list[WriteResult], error: BaseException | None) -> None:
        temps = {t for r in results or [] for t in r.temp_paths}
        try:
            if self._fs.exists(self._dir):
                prefix = f"{_TMP_PREFIX}{self._write_uuid}_"
                temps.update(p for p in self._fs.ls(self._dir, detail=False) if posixpath.basename(p).startswith(prefix))
        except Exception:
            pass
        for temp in temps:
            try:
                self._fs.rm(temp)
            except FileNotFoundError:
                pass

    # ---- worker side -----------------------------------------------------------------------
    def write(self, blocks: Iterable[pa.Table], task_index: int) -> WriteResult:
        result = WriteResult()
        if self._skip:
            return result
        block_index = 0
        for block in blocks:
            if block.num_rows == 0:
                continue
            self._check_block(block)
            final = posixpath.join(self._dir, self.filename_for(task_index, block_index))
            temp = self._temp_for(posixpath.basename(final))
            try:
                if block_index == 0 and self._try_create_dir:
                    self._fs.makedirs(self._dir, exist_ok=True)
                call_with_retry(lambda: self._write_file(temp, block), f"writing {temp}")
            except BaseException:
                try:
                    self._fs.rm(temp)
                except Exception:
                    pass
                raise
            result.temp_paths.append(temp)
            result.final_paths.append(final)
            result.num_rows += block.num_rows
            result.size_bytes += int(block.nbytes)
            block_index += 1
        return result

    def _write_file(self, temp: str, block: pa.Table) -> None:
        with self._fs.open(temp, "wb") as f:
            self._write_block(f, block)

    def _check_block(self, block: pa.Table) -> None:
        """Reject blocks the format cannot hold, with the column named."""

    def _write_block(self, f: Any, block: pa.Table) -> None:
        raise NotImplementedError


def tensor_columns(block: pa.Table) -> list[str]:
    return [f.name for f in block.schema if tensor.is_tensor_type(f.type)]
