"""``streamscope.datasource``: the public names of ``ray.data.datasource`` that streamscope has,
under the same path (``from ray.data.datasource import Datasink`` becomes
``from streamscope.datasource import Datasink``).

A thin re-export: each name lives in the engine module that implements it. Names of
``ray.data.datasource.__all__`` not listed here are not implemented (database and lakehouse
sources, ``RandomIntRowDatasource``, the legacy ``Reader``, the file metadata providers).
"""

from __future__ import annotations

from streamscope.engine.io.datasink import Datasink, WriteResult, WriteReturnType
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.save_mode import SaveMode

# ---- file-based reading (Partitioning, PartitionStyle, PathPartitionFilter, PathPartitionParser,
# FileShuffleConfig, FileBasedDatasource): re-exported here by the helper that adds them under
# streamscope/engine/io/; add their imports and __all__ entries in this block. ----

__all__ = [
    "Datasink",
    "Datasource",
    "ReadTask",
    "SaveMode",
    "WriteResult",
    "WriteReturnType",
]
