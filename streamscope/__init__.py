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
from streamscope.engine.execution.stats import set_html_renderer as _set_stats_html_renderer
from streamscope.engine.execution.stats import set_replay_factory as _set_replay_factory
from streamscope.engine.exceptions import (
    DataSourceError,
    ExecutionCancelled,
    ObjectStoreFullError,
    StreamscopeError,
    UserCodeException,
    WorkerCrashedError,
)
from streamscope.engine.api.grouped_data import GroupedData
from streamscope.engine.logical.operators.mix import MixStoppingCondition
from streamscope.engine.api.random_access import RandomAccessDataset
from streamscope.engine.api.init import init
from streamscope.engine.api.from_memory import (
    from_arrow,
    from_arrow_refs,
    from_blocks,
    from_items,
    from_numpy,
    from_numpy_refs,
    from_pandas,
    from_pandas_refs,
    from_torch,
)
from streamscope.engine.api.refs import ObjectRef, get
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
from streamscope.engine.api.connectors.avro import read_avro
from streamscope.engine.api.connectors.daft import from_daft
from streamscope.engine.api.connectors.dask import from_dask
from streamscope.engine.api.connectors.delta import read_delta
from streamscope.engine.api.connectors.huggingface import from_huggingface
from streamscope.engine.api.connectors.iceberg import read_iceberg
from streamscope.engine.api.connectors.lance import read_lance
from streamscope.engine.api.connectors.media import read_audio, read_videos
from streamscope.engine.api.connectors.orc import read_orc
from streamscope.engine.api.connectors.sql import read_sql
from streamscope.engine.api.connectors.tfrecords import read_tfrecords
from streamscope.engine.api.connectors.webdataset import read_webdataset
from streamscope.engine.schema import Schema

from streamscope import aggregate  # noqa: E402  (public module mirroring ray.data.aggregate)
from streamscope import block, collate_fn, datasource  # noqa: E402  (public modules mirroring ray.data.block, .collate_fn, .datasource)
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

    def stats_html(stats):
        from streamscope.widgets.report import stats_html as _stats_html

        return _stats_html(stats)

    def replay(stats):
        from streamscope.widgets.replay import replay_view

        return replay_view(stats)

    _set_display_provider(provider)
    _set_stats_html_renderer(stats_html)
    _set_replay_factory(replay)


_install_display()


def save_report(ds_or_stats, path):
    """Write one standalone HTML file for a Dataset's last run (or for ``ds.stats()``): the plan
    graph as it ended, the final stats and the dashboard's time series, with everything inline so
    it opens in a browser with no kernel and no internet (``%dataset report ds run.html`` in a
    notebook). Returns the file's absolute path.

    Examples:
        >>> import os, tempfile
        >>> ds = streamscope.range(1000).map_batches(lambda b: b)
        >>> ds.count()
        1000
        >>> path = streamscope.save_report(ds, os.path.join(tempfile.mkdtemp(), "run.html"))
        >>> open(path).read().startswith("<!DOCTYPE html>")
        True
    """
    # lazy on purpose: the report is built by the widgets layer (bokeh, graphviz)
    from streamscope.widgets.report import save_report as _save_report

    return _save_report(ds_or_stats, path)


def load_ipython_extension(ipython):  # pragma: no cover - exercised through IPython in tests
    # lazy on purpose: kernel_ext imports IPython, which a plain ``import streamscope`` must not
    from streamscope.kernel_ext import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython):  # pragma: no cover
    # lazy on purpose, as above
    from streamscope.kernel_ext import unload_ipython_extension as _unload

    _unload(ipython)


# one name per line, sorted: additions from different changes merge without conflicts
__all__ = [
    "ActorPoolStrategy",
    "DataContext",
    "DataIterator",
    "Dataset",
    "DatasetContext",
    "Datasink",
    "Datasource",
    "DataSourceError",
    "ExecutionCancelled",
    "ExecutionOptions",
    "ExecutionResources",
    "FileShuffleConfig",
    "from_arrow",
    "from_arrow_refs",
    "from_blocks",
    "from_daft",
    "from_dask",
    "from_huggingface",
    "from_items",
    "from_numpy",
    "from_numpy_refs",
    "from_pandas",
    "from_pandas_refs",
    "from_torch",
    "get",
    "GroupedData",
    "init",
    "MaterializedDataset",
    "MixStoppingCondition",
    "RandomAccessDataset",
    "ObjectRef",
    "ObjectStoreFullError",
    "Preprocessor",
    "range",
    "range_tensor",
    "read_audio",
    "read_avro",
    "read_binary_files",
    "read_csv",
    "read_datasource",
    "read_delta",
    "read_iceberg",
    "read_images",
    "read_json",
    "read_lance",
    "read_numpy",
    "read_orc",
    "read_parquet",
    "read_sql",
    "read_text",
    "read_tfrecords",
    "read_videos",
    "read_webdataset",
    "ReadTask",
    "save_report",
    "SaveMode",
    "Schema",
    "StreamscopeError",
    "TaskPoolStrategy",
    "UserCodeException",
    "WorkerCrashedError",
]
