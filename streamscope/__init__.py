"""streamscope: a streaming dataset engine for Python whose home is the notebook.

The public API mirrors ``ray.data`` name for name::

    import streamscope
    streamscope.range(1000).map(lambda r: {"id": r["id"] * 2}).take(5)

Importing streamscope imports no widget, notebook or Ray package, and not pandas.
"""

from __future__ import annotations

from streamscope.engine.compute import ActorPoolStrategy, TaskPoolStrategy
from streamscope.engine.context import DataContext, ExecutionOptions, ExecutionResources
from streamscope.engine.api.data_iterator import DataIterator
from streamscope.engine.api.dataset import Dataset, MaterializedDataset
from streamscope.engine.api.summary import DatasetSummary
from streamscope.engine.api.dataset import set_display_provider as _set_display_provider
from streamscope.engine.exceptions import (
    DataSourceError,
    ExecutionCancelled,
    ObjectStoreFullError,
    StreamscopeError,
    UserCodeException,
    WorkerCrashedError,
)
from streamscope.engine.api.grouped_data import GroupedData
from streamscope.engine.api.init import init
from streamscope.engine.api.from_memory import from_arrow, from_blocks, from_items, from_numpy, from_pandas, from_torch
from streamscope.engine.io.datasink import Datasink
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.file_shuffle import FileShuffleConfig
from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.api.read import (
    range,
    range_tensor,
    read_binary_files,
    read_csv,
    read_datasource,
    read_images,
    read_json,
    read_numpy,
    read_parquet,
    read_text,
)
from streamscope.engine.api.connectors.tfrecords import read_tfrecords
from streamscope.engine.api.connectors.webdataset import read_webdataset
from streamscope.engine.schema import Schema

from streamscope import aggregate  # noqa: E402  (public module mirroring ray.data.aggregate)
from streamscope import block, datasource  # noqa: E402  (public modules mirroring ray.data.block, .datasource)
from streamscope.preprocessors import Preprocessor  # noqa: E402  (ray.data.Preprocessor)

__version__ = "0.1.0"

DatasetContext = DataContext
DatasetIterator = DataIterator


def _install_display() -> None:
    """Route a Dataset's notebook repr to the widgets layer.

    The widgets module is imported inside the provider on purpose: only when a Dataset is first
    displayed, so ``import streamscope`` never imports widget code (the engine may not import
    upward; this hook is the one way down to up)."""

    def provider(ds):
        from streamscope.widgets.dataset_view import dataset_mimebundle

        return dataset_mimebundle(ds._name or ds._plan.dag.name, ds._explain())

    _set_display_provider(provider)


_install_display()


def load_ipython_extension(ipython):  # pragma: no cover - exercised through IPython in tests
    # lazy on purpose: kernel_ext imports IPython, which a plain ``import streamscope`` must not
    from streamscope.kernel_ext import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython):  # pragma: no cover
    # lazy on purpose, as above
    from streamscope.kernel_ext import unload_ipython_extension as _unload

    _unload(ipython)


__all__ = [
    "Preprocessor", "ActorPoolStrategy", "TaskPoolStrategy", "DataContext", "DatasetContext", "ExecutionOptions", "ExecutionResources",
    "Dataset", "MaterializedDataset", "GroupedData", "DataIterator", "from_torch", "DataSourceError", "ExecutionCancelled", "ObjectStoreFullError",
    "StreamscopeError", "UserCodeException", "WorkerCrashedError", "from_arrow", "from_blocks", "from_items",
    "from_numpy", "from_pandas", "init", "Datasink", "Datasource", "ReadTask", "range", "range_tensor", "read_binary_files",
    "read_csv", "read_datasource", "read_images", "read_json", "read_numpy", "read_parquet", "read_text", "Schema",
    "SaveMode", "FileShuffleConfig", "read_tfrecords", "read_webdataset",
]
