"""WebDataset tar shards (Ray Data's ``write_webdataset``): each row becomes one sample, each
column one member ``{__key__}.{column}``.

As in Ray Data 2.60: ``encoder`` (default True: the built-in encoder of ``webdataset_codec``, by
the column name's extension) turns values into bytes; a str value is written as UTF-8; columns
whose name starts with ``__`` (``__key__``, ``__url__``) and ``None`` values are not written; a
row without ``__key__`` gets a random hex key. Members have mode 0644, owner ``data``, the
time of writing as mtime. A value that is still neither bytes nor str after encoding (an int
column named ``id``, say) is refused naming the column, where Ray fails an assertion.
"""

from __future__ import annotations

import io
import tarfile
import time
import uuid
from typing import Any, Optional

import pyarrow as pa

from streamscope.engine.block import table_rows
from streamscope.engine.io.file_datasink import FileDatasink
from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.io.webdataset_codec import apply_specs, check_codec_spec, default_encoder


class WebDatasetDatasink(FileDatasink):
    _FILE_FORMAT = "tar"

    def __init__(self, path: str, encoder: Any = True, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = SaveMode.APPEND,
                 min_rows_per_file: Optional[int] = None):
        check_codec_spec(encoder, "encoder", "write_webdataset")
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir,
                         filename_provider=filename_provider, dataset_uuid=dataset_uuid, mode=mode,
                         min_rows_per_file=min_rows_per_file)
        self.encoder = encoder

    def get_name(self) -> str:
        return "WriteWebDataset"

    def _write_block(self, f: Any, block: pa.Table) -> None:
        stream = tarfile.open(fileobj=f, mode="w|")
        for row in table_rows(block):
            key = row.get("__key__")
            sample = row
            if self.encoder is not None:
                try:
                    sample = apply_specs(self.encoder, row, default=default_encoder)
                except Exception as exc:
                    raise ValueError(f"WriteWebDataset: encoding sample {key!r} failed: {type(exc).__name__}: "
                                     f"{exc}") from exc
                if not isinstance(sample, dict):
                    raise TypeError(f"WriteWebDataset: the encoder returned a {type(sample).__name__} for sample "
                                    f"{key!r}; an encoder must return the sample dict")
            key = sample.get("__key__")
            if key is None:
                key = uuid.uuid4().hex
            for name, value in sample.items():
                if value is None or name.startswith("__"):
                    continue
                if isinstance(value, str):
                    value = value.encode("utf-8")
                elif isinstance(value, (bytearray, memoryview)):
                    value = bytes(value)
                elif not isinstance(value, bytes):
                    raise TypeError(
                        f"WriteWebDataset: column {name!r} of sample {key!r} holds a {type(value).__name__} after "
                        "encoding, and a tar member must be bytes or str: name the column with an extension the "
                        "built-in encoder knows (txt, cls, json, npy, png, jpg, ...) or pass an encoder= function")
                info = tarfile.TarInfo(f"{key}.{name}")
                info.size = len(value)
                info.mtime = time.time()
                info.mode, info.uname, info.gname = 0o644, "data", "data"
                stream.addfile(info, io.BytesIO(value))
        stream.close()
