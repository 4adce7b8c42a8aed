"""``CheckpointConfig``: Ray Data 2.60's settings for jobs that can be killed and started again.

A pipeline that reads, maps and writes files records, for every write task that committed its
files, the ids of the rows it wrote (``id_column``) under ``checkpoint_path``. Started again after
a crash (the driver killed at any moment included), the same pipeline drops the rows whose ids are
recorded right after reading, so they are neither computed nor written twice, and the output ends
with every row exactly once. How the commit is made exactly-once: ``io/checkpointing_datasink.py``.

Set it on the context, as in Ray: ``DataContext.get_current().checkpoint_config =
CheckpointConfig(id_column="id", checkpoint_path="/tmp/ckpt")`` (a dict of the same keys is
accepted too).
"""

from __future__ import annotations

import os
import warnings
from enum import Enum
from typing import Any, Optional


class InvalidCheckpointingConfig(ValueError):
    """A CheckpointConfig that cannot work (a missing id column name, a setting streamscope has not).

    Examples:
        >>> try:
        ...     CheckpointConfig(id_column="")
        ... except InvalidCheckpointingConfig as exc:
        ...     print(exc)
        CheckpointConfig: id_column must be a non-empty string (the column that identifies each row), got ''
    """


class CheckpointBackend(Enum):
    """Where checkpoint files live. Both kinds are written the same way here (one file per write
    task, through fsspec), so the choice only documents the storage.

    Examples:
        >>> CheckpointBackend("FILE_STORAGE")
        <CheckpointBackend.FILE_STORAGE: 'FILE_STORAGE'>
    """

    CLOUD_OBJECT_STORAGE = "CLOUD_OBJECT_STORAGE"
    FILE_STORAGE = "FILE_STORAGE"


DEFAULT_CHECKPOINT_PATH_BUCKET_ENV_VAR = "RAY_DATA_CHECKPOINT_PATH_BUCKET"
DEFAULT_CHECKPOINT_PATH_DIR = "ray_data_checkpoint"
_DEFAULT_WRITE_NUM_THREADS = 3


class CheckpointConfig:
    """Checkpointing of a read -> map -> write pipeline by row id (Ray Data 2.60's names).

    ``id_column`` must hold a value unique to each row and kept by every operator;
    ``checkpoint_path`` is a directory (local or any fsspec URL; without it, Ray's
    ``$RAY_DATA_CHECKPOINT_PATH_BUCKET/ray_data_checkpoint``); ``delete_checkpoint_on_success``
    removes it once a run completes. ``override_filesystem`` (fsspec or pyarrow) opens the
    checkpoint path. ``write_num_threads`` has no effect here (each write task writes its one
    checkpoint file itself); a custom ``checkpoint_filter_cls``, ``checkpoint_manager_cls`` or
    ``checkpoint_path_partition_filter`` is refused.

    Examples:
        >>> import tempfile
        >>> config = CheckpointConfig(id_column="id", checkpoint_path=tempfile.mkdtemp())
        >>> config.id_column, config.delete_checkpoint_on_success
        ('id', True)
    """

    def __init__(self, id_column: Optional[str] = None, checkpoint_path: Optional[str] = None, *,
                 delete_checkpoint_on_success: bool = True, override_filesystem: Any = None,
                 override_backend: Optional[CheckpointBackend] = None, write_num_threads: int = _DEFAULT_WRITE_NUM_THREADS,
                 checkpoint_path_partition_filter: Any = None, checkpoint_filter_cls: Any = None,
                 checkpoint_manager_cls: Any = None):
        if not isinstance(id_column, str) or not id_column:
            raise InvalidCheckpointingConfig(
                "CheckpointConfig: id_column must be a non-empty string (the column that identifies each "
                f"row), got {id_column!r}")
        refused = {"checkpoint_path_partition_filter": checkpoint_path_partition_filter,
                   "checkpoint_filter_cls": checkpoint_filter_cls, "checkpoint_manager_cls": checkpoint_manager_cls}
        for name, value in refused.items():
            if value is not None:
                raise InvalidCheckpointingConfig(
                    f"CheckpointConfig: {name}= is not supported by streamscope: checkpoints are loaded and "
                    "filtered by the built-in id-column scheme; leave it unset")
        if not isinstance(write_num_threads, int) or isinstance(write_num_threads, bool) or write_num_threads < 1:
            raise InvalidCheckpointingConfig(f"CheckpointConfig: write_num_threads must be a positive int, got {write_num_threads!r}")
        if write_num_threads != _DEFAULT_WRITE_NUM_THREADS:
            warnings.warn("CheckpointConfig: write_num_threads has no effect in streamscope: each write task "
                          "writes its own checkpoint file as it commits", UserWarning, stacklevel=2)
        if override_backend is not None:
            override_backend = CheckpointBackend(override_backend.value if isinstance(override_backend, CheckpointBackend)
                                                 else override_backend)
        if checkpoint_path is None:
            bucket = os.environ.get(DEFAULT_CHECKPOINT_PATH_BUCKET_ENV_VAR)
            if not bucket:
                raise InvalidCheckpointingConfig(
                    "CheckpointConfig: give checkpoint_path= (a directory for the checkpoint files), or set "
                    f"${DEFAULT_CHECKPOINT_PATH_BUCKET_ENV_VAR}")
            checkpoint_path = f"{bucket.rstrip('/')}/{DEFAULT_CHECKPOINT_PATH_DIR}"
        self.id_column = id_column
        self.checkpoint_path = str(checkpoint_path)
        self.delete_checkpoint_on_success = bool(delete_checkpoint_on_success)
        self.override_filesystem = override_filesystem
        self.override_backend = override_backend
        self.write_num_threads = write_num_threads

    def __repr__(self) -> str:
        return (f"CheckpointConfig(id_column={self.id_column!r}, checkpoint_path={self.checkpoint_path!r}, "
                f"delete_checkpoint_on_success={self.delete_checkpoint_on_success})")


def as_checkpoint_config(value: Any) -> Optional[CheckpointConfig]:
    """What ``DataContext.checkpoint_config`` may be set to: None, a CheckpointConfig, or a dict
    of its keyword arguments (as Ray accepts).

    Examples:
        >>> as_checkpoint_config({"id_column": "id", "checkpoint_path": "/tmp/ckpt"}).id_column
        'id'
    """
    if value is None or isinstance(value, CheckpointConfig):
        return value
    if isinstance(value, dict):
        return CheckpointConfig(**value)
    raise InvalidCheckpointingConfig(f"checkpoint_config must be a CheckpointConfig, a dict or None, got {type(value).__name__}")
