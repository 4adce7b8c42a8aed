"""Image files, one per row (Ray's ``write_images(path, column, file_format)``): each value of
``column`` (an ``(H, W)`` or ``(H, W, C)`` uint8 array) is encoded by Pillow in ``file_format``.

Names follow Ray Data 2.60's row files: the task's file name (``{dataset_uuid}_{write_uuid}_
{task_index:06}.{format}``, or a ``filename_provider``'s ``get_filename_for_task``) with
``_{block_index:06}_{row_index:06}`` before the extension. Every image goes through the same
two-phase commit as the other file formats (a hidden temporary, renamed once every task succeeded).
"""

from __future__ import annotations

import io
import posixpath
from typing import Any, Iterable, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.io.file_datasink import FileDatasink, FilesWritten
from streamscope.engine.io.optional_deps import import_optional
from streamscope.engine.io.save_mode import SaveMode


class ImageDatasink(FileDatasink):
    def __init__(self, path: str, *, column: str, file_format: str = "png", filesystem: Any = None,
                 try_create_dir: bool = True, filename_provider: Any = None, dataset_uuid: Optional[str] = None,
                 mode: Any = SaveMode.APPEND):
        if not isinstance(column, str):
            raise TypeError(f"WriteImage: column must be a str, got {column!r}")
        if not isinstance(file_format, str) or not file_format:
            raise TypeError(f"WriteImage: file_format must be a Pillow format name such as 'png', got {file_format!r}")
        image = import_optional("PIL.Image", extra="images", connector="write_images")
        image.init()
        if file_format.upper() not in image.SAVE:
            raise ValueError(f"WriteImage: Pillow cannot write file_format={file_format!r}; formats it writes: "
                             f"{sorted(f.lower() for f in image.SAVE)}")
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode,
                         file_format=file_format)
        self._column = column

    def get_name(self) -> str:
        return "WriteImage"

    def _check_block(self, block: pa.Table) -> None:
        if self._column not in block.column_names:
            raise KeyError(f"WriteImage: column {self._column!r} not found; available columns: {block.column_names}")

    def write(self, blocks: Iterable[pa.Table], ctx: Any) -> FilesWritten:
        result = FilesWritten()
        if self._skip_write:
            return result
        stem, dot, ext = self.filename_for(ctx.task_idx, 0).rpartition(".")
        if not dot:
            stem, ext = ext, ""
        for block_index, block in enumerate(self._tables(blocks)):
            values = tensor.arrow_to_numpy(block.column(self._column))
            for row_index in range(block.num_rows):
                name = f"{stem}_{block_index:06}_{row_index:06}" + (f".{ext}" if ext else "")
                final = posixpath.join(self._dir, name)
                data = self._encode(values[row_index], final)
                self._write_one(final, lambda temp, data=data: self._fs.pipe_file(temp, data),
                                block.slice(row_index, 1), result, make_dir=self._make_dirs)
        return result

    def _encode(self, value: Any, where: str) -> bytes:
        from PIL import Image

        if value is None:
            raise ValueError(f"WriteImage: column {self._column!r} is null for {where!r}")
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(value)).save(buffer, format=self._format)
        return buffer.getvalue()
