"""Job checkpointing, as Ray Data 2.60's ``ray.data.checkpoint``: a re-export module (the classes
live in ``streamscope.engine.checkpoint_config``).

Examples:
    >>> from streamscope.checkpoint import CheckpointConfig
    >>> CheckpointConfig(id_column="id", checkpoint_path="/tmp/ckpt").id_column
    'id'
"""

from streamscope.engine.checkpoint_config import CheckpointBackend, CheckpointConfig, InvalidCheckpointingConfig

__all__ = ["CheckpointBackend", "CheckpointConfig", "InvalidCheckpointingConfig"]
