"""Images via Pillow: column ``image`` (uint8 HWC or HW arrays), optional ``path``.

Mirrors Ray Data's ``read_images``: ``size=(height, width)`` resizes with bilinear resampling
before ``mode`` converts (``"RGB"``, ``"L"``, ...). A task decodes several files into one block
(up to ``DataContext.target_max_block_size``): the column is a fixed-shape tensor when every image
of the block has the same shape and dtype, else a variable-shape tensor. With ``size`` and
``mode`` given, every block has the same fixed shape.
"""

from __future__ import annotations

import io
from typing import Any, Iterable, Iterator, Optional, Tuple

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource
from streamscope.engine.io.paths import display_path

IMAGE_EXTENSIONS = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif"]


def _require_pillow():
    try:
        import PIL.Image  # noqa: F401
    except ImportError as exc:
        raise ImportError("read_images needs Pillow: pip install pillow (or streamscope[images])") from exc


class ImageDatasource(FileBasedDatasource):
    _FILE_EXTENSIONS = IMAGE_EXTENSIONS

    def __init__(self, paths: Any, *, size: Optional[Tuple[int, int]] = None, mode: Optional[str] = None,
                 file_extensions: Any = _DEFAULT, **file_args: Any):
        _require_pillow()
        if size is not None:
            if len(size) != 2 or any(int(s) <= 0 for s in size):
                raise ValueError(f"size must be a (height, width) pair of positive ints, got {size!r}")
            size = (int(size[0]), int(size[1]))
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        self._size = size
        self._mode = mode

    def get_name(self) -> str:
        return "ReadImage"

    def _read_stream(self, f: Any, path: str) -> Iterator[np.ndarray]:
        from PIL import Image, UnidentifiedImageError

        try:
            image = Image.open(io.BytesIO(f.read()))
        except UnidentifiedImageError as exc:
            raise ValueError("Pillow cannot identify this file as an image") from exc
        if self._size is not None and image.size != (self._size[1], self._size[0]):
            height, width = self._size
            image = image.resize((width, height), resample=Image.BILINEAR)
        if self._mode is not None and image.mode != self._mode:
            image = image.convert(self._mode)
        yield np.asarray(image)

    def _read_paths(self, paths: Iterable[str]) -> Iterator[pa.Table]:
        max_bytes = DataContext.get_current().target_max_block_size or (128 << 20)
        remaining = self._limit
        exact = self._row_predicate is None  # without a row filter every image read is a row out
        images: list[np.ndarray] = []
        sources: list[str] = []
        nbytes = 0
        for path in paths:
            if remaining is not None and (remaining <= 0 or (exact and len(images) >= remaining)):
                break
            for array in self._read_file_checked(path):
                images.append(array)
                sources.append(path)
                nbytes += array.nbytes
            if nbytes >= max_bytes:
                table = self._block(images, sources)
                if remaining is not None:
                    table = table.slice(0, max(remaining, 0))
                    remaining -= table.num_rows
                if table.num_rows:
                    yield table
                images, sources, nbytes = [], [], 0
        if images and (remaining is None or remaining > 0):
            table = self._block(images, sources)
            if remaining is not None:
                table = table.slice(0, remaining)
            if table.num_rows:
                yield table

    def _block(self, images: list[np.ndarray], sources: list[str]) -> pa.Table:
        names = [display_path(self._fs, p) for p in sources]
        try:
            column = tensor.tensors_to_arrow(images)
        except ValueError as exc:
            raise DataSourceError(
                f"ReadImage: images of different ranks (e.g. grayscale and RGB) among {names[:3]}...; "
                f"pass mode='RGB' (or 'L') to read_images to convert them to one mode ({exc})"
            ) from exc
        try:
            table = pa.Table.from_arrays([column], names=["image"])
            if len(self._partition_schema):
                # one file per row: the partition columns hold each row's own file's values
                parts = [self._add_file_columns(table.slice(i, 1), p).drop_columns(["image"])
                         for i, p in enumerate(sources)]
                values = pa.concat_tables(parts)
                for name in values.column_names:
                    table = table.append_column(name, values.column(name))
            elif self._include_paths:
                table = table.append_column("path", pa.array(names, pa.string()))
            return self._filter_and_project(table, names[0])
        except DataSourceError:
            raise
        except (ValueError, KeyError, pa.ArrowException) as exc:
            raise DataSourceError(f"ReadImage: {names[0]!r}: {exc}") from exc
