"""``streamscope.datasource.file_based_datasource``: as ``ray.data.datasource.file_based_datasource``.

Examples:
    >>> from streamscope.datasource.file_based_datasource import FileBasedDatasource, FileShuffleConfig
    >>> FileShuffleConfig(seed=1).seed
    1
"""

from __future__ import annotations

from streamscope.engine.io.file_datasource import FileBasedDatasource
from streamscope.engine.io.file_shuffle import FileShuffleConfig

__all__ = ["FileBasedDatasource", "FileShuffleConfig"]
