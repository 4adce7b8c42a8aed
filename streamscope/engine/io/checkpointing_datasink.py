"""A file datasink whose tasks commit on their own and record the row ids they committed, so a
killed job started again writes every row exactly once (``DataContext.checkpoint_config``).

Why each task commits instead of the write's usual all-at-the-end rename: a job killed after
hours must keep what it finished. The order of one task's commit makes it exactly-once:

1. the task writes its data files under hidden temporary names (as every file write does);
2. it writes one checkpoint file, ``<write uuid>-<task index>.parquet`` in the checkpoint
   directory, atomically (a hidden temporary renamed into place): the ids of its rows, and in its
   schema metadata the (temporary, final) name of each data file;
3. it renames its data files to their final names.

A crash before 2 leaves only hidden temporaries (deleted at the next start, never read). Once 2
is done the task counts as committed: the next start completes any rename that 3 did not finish
(roll forward), then skips those ids. A retry of a task that already committed (its worker died
before reporting) finds its checkpoint file and only completes the renames. One writer per output
directory is assumed: the next start deletes hidden temporaries it finds there.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from typing import Any, Iterable, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from streamscope.engine.checkpoint_config import CheckpointConfig
from streamscope.engine.io.datasink import Datasink, WriteResult
from streamscope.engine.io.file_datasink import _TMP_PREFIX, FileDatasink, FilesWritten
from streamscope.engine.io.paths import filesystem_for, is_process_local

_FILES_KEY = b"streamscope.checkpoint.files"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be honoured: a committed data file is gone, or the id column is
    missing from the rows being written.

    Examples:
        >>> issubclass(CheckpointError, RuntimeError)
        True
    """


class CheckpointingDatasink(Datasink[FilesWritten]):
    """Wraps a :class:`FileDatasink` (``mode="append"``) to commit per task with a checkpoint.

    Examples:
        >>> import tempfile
        >>> from streamscope.engine.io.parquet_datasink import ParquetDatasink
        >>> out, ckpt = tempfile.mkdtemp(), tempfile.mkdtemp()
        >>> sink = CheckpointingDatasink(ParquetDatasink(out), CheckpointConfig("id", ckpt))
        >>> len(sink.recover())   # nothing committed yet
        0
    """

    def __init__(self, inner: FileDatasink, config: CheckpointConfig):
        self.inner = inner
        self.config = config
        self._ckpt_fs, self._ckpt_dir = filesystem_for(config.checkpoint_path, config.override_filesystem)
        self._ckpt_dir = self._ckpt_dir.rstrip("/") or "/"
        self._write_uuid = uuid.uuid4().hex

    # ---- driver side -------------------------------------------------------------------------
    def get_name(self) -> str:
        return self.inner.get_name()

    @property
    def min_rows_per_write(self) -> Optional[int]:
        return self.inner.min_rows_per_write

    def is_process_local(self) -> bool:
        return self.inner.is_process_local() or is_process_local(self._ckpt_fs)

    def recover(self) -> pa.Array:
        """The ids every earlier run committed, after completing their unfinished renames and
        deleting the hidden temporaries of tasks that never committed."""
        fs = self.inner._fs
        if not self._ckpt_fs.exists(self._ckpt_dir):
            return pa.array([], pa.null())
        ids: list[pa.ChunkedArray] = []
        referenced: set[str] = set()
        for path in sorted(self._checkpoint_files()):
            table = pq.read_table(self._ckpt_fs.open(path, "rb"))
            pairs = _pairs(table)
            _roll_forward(fs, pairs, path)
            referenced.update(temp for temp, _ in pairs)
            if self.config.id_column not in table.column_names:
                raise CheckpointError(f"checkpoint file {path} has no column {self.config.id_column!r}: it was "
                                      "written with another id_column; use a new checkpoint_path")
            ids.append(table.column(self.config.id_column))
        self._delete_stale_temporaries(referenced)
        chunks = [c for chunked in ids for c in chunked.chunks]
        return pa.concat_arrays(chunks) if chunks else pa.array([], pa.null())

    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        self.inner.on_write_start(schema)
        self._ckpt_fs.makedirs(self._ckpt_dir, exist_ok=True)

    def on_write_complete(self, write_result: WriteResult[FilesWritten]) -> None:
        self.inner.on_write_complete(write_result)  # every rename is done: only the bookkeeping is left

    def on_write_failed(self, error: BaseException) -> None:
        self.inner.on_write_failed(error)  # uncommitted temporaries; committed tasks stay committed

    def delete_checkpoint(self) -> None:
        """Remove the checkpoint directory (the run completed and the config asks for it)."""
        if self._ckpt_fs.exists(self._ckpt_dir):
            self._ckpt_fs.rm(self._ckpt_dir, recursive=True)

    # ---- worker side -------------------------------------------------------------------------
    def write(self, blocks: Iterable[pa.Table], ctx: Any) -> FilesWritten:
        fs = self.inner._fs
        ckpt_path = posixpath.join(self._ckpt_dir, f"{self._write_uuid}-{ctx.task_idx:06d}.parquet")
        if self._ckpt_fs.exists(ckpt_path):  # an earlier attempt of this task committed, then died
            table = pq.read_table(self._ckpt_fs.open(ckpt_path, "rb"))
            pairs = _pairs(table)
            _roll_forward(fs, pairs, ckpt_path)
            return FilesWritten(final_paths=[final for _, final in pairs], num_rows=table.num_rows)
        blocks = [b for b in blocks if b.num_rows]
        id_column = self.config.id_column
        for block in blocks:
            if id_column not in block.column_names:
                raise CheckpointError(
                    f"{self.get_name()}: the checkpoint id column {id_column!r} is not in the rows being written "
                    f"(columns: {block.column_names}); keep it through every operator, or unset "
                    "DataContext.checkpoint_config")
        written = self.inner.write(blocks, ctx)
        pairs = list(zip(written.temp_paths, written.final_paths))
        ids = pa.chunked_array([b.column(id_column) for b in blocks]) if blocks else pa.chunked_array([], pa.int64())
        record = pa.table({id_column: ids}).replace_schema_metadata({_FILES_KEY: json.dumps(pairs).encode()})
        temp_ckpt = posixpath.join(self._ckpt_dir, f"{_TMP_PREFIX}{uuid.uuid4().hex}.parquet")
        with self._ckpt_fs.open(temp_ckpt, "wb") as f:
            pq.write_table(record, f)
        self._ckpt_fs.mv(temp_ckpt, ckpt_path)  # the commit point
        _roll_forward(fs, pairs, ckpt_path)
        return FilesWritten(final_paths=[final for _, final in pairs], num_rows=written.num_rows,
                            size_bytes=written.size_bytes)

    # ---- internals -------------------------------------------------------------------------
    def _checkpoint_files(self) -> list[str]:
        names = self._ckpt_fs.ls(self._ckpt_dir, detail=False)
        files = []
        for path in names:
            base = posixpath.basename(path.rstrip("/"))
            if base.startswith(_TMP_PREFIX):
                self._ckpt_fs.rm(path)  # a checkpoint file that never committed
            elif base.endswith(".parquet"):
                files.append(path)
        return files

    def _delete_stale_temporaries(self, referenced: set[str]) -> None:
        fs, root = self.inner._fs, self.inner._dir
        if not fs.exists(root):
            return
        for path in fs.find(root, detail=False):
            if posixpath.basename(path).startswith(_TMP_PREFIX) and path not in referenced:
                try:
                    fs.rm(path)
                except FileNotFoundError:
                    pass


def _pairs(table: pa.Table) -> list[tuple[str, str]]:
    raw = (table.schema.metadata or {}).get(_FILES_KEY)
    return [tuple(p) for p in json.loads(raw)] if raw else []


def _roll_forward(fs: Any, pairs: list[tuple[str, str]], ckpt_path: str) -> None:
    for temp, final in pairs:
        if fs.exists(final):
            continue
        if not fs.exists(temp):
            raise CheckpointError(
                f"checkpoint {ckpt_path} records {final}, which is gone (and so is its temporary {temp}); "
                "its rows would be lost: restore the file, or delete the checkpoint directory and the output "
                "to start over")
        fs.mv(temp, final)
