"""``streamscope.datasource.partitioning``: as ``ray.data.datasource.partitioning``.

Examples:
    >>> from streamscope.datasource.partitioning import Partitioning
    >>> Partitioning("dir", field_names=["label"]).field_names
    ['label']
"""

from __future__ import annotations

from streamscope.engine.io.partitioning import Partitioning, PartitionStyle, PathPartitionFilter, PathPartitionParser

__all__ = ["PartitionStyle", "Partitioning", "PathPartitionFilter", "PathPartitionParser"]
