"""``streamscope.datasource``: the names of ``ray.data.datasource`` (replace ``ray.data`` with
``streamscope`` and the import paths map one to one: ``from ray.data.datasource import Datasink``
becomes ``from streamscope.datasource import Datasink``).

A thin re-export: each name lives in the engine module that implements it. Names of
``ray.data.datasource.__all__`` not listed here are not implemented (database and lakehouse
sources, ``RandomIntRowDatasource``, the legacy ``Reader``, the file metadata providers).

``FileBasedDatasource`` is imported on first use (it brings fsspec, which ``import streamscope``
must not pay for); everything else here is light.

Examples:
    >>> from streamscope.datasource import Partitioning, PathPartitionFilter
    >>> Partitioning("hive").style.value
    'hive'
"""

from __future__ import annotations

from typing import Any

from streamscope.engine.io.datasink import Datasink, WriteResult, WriteReturnType
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.file_shuffle import FileShuffleConfig
from streamscope.engine.io.partitioning import Partitioning, PartitionStyle, PathPartitionFilter, PathPartitionParser
from streamscope.engine.io.save_mode import SaveMode

__all__ = [
    "Datasink", "Datasource", "FileBasedDatasource", "FileShuffleConfig", "PartitionStyle", "Partitioning",
    "PathPartitionFilter", "PathPartitionParser", "ReadTask", "SaveMode", "WriteResult", "WriteReturnType",
]


def __getattr__(name: str) -> Any:
    if name == "FileBasedDatasource":
        # lazy on purpose: the file datasources import fsspec (~0.25 s) through io/paths.py
        from streamscope.engine.io.file_datasource import FileBasedDatasource

        return FileBasedDatasource
    raise AttributeError(f"module 'streamscope.datasource' has no attribute {name!r}")
