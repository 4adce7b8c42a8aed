"""Lance: ``read_lance`` and the implementation of ``Dataset.write_lance``.

Why through ``pylance``: a Lance dataset is fragments plus versioned manifests; ``lance`` lists a
version's fragments on the driver and scans them in the tasks (projection and SQL filter inside
Lance's scanner), and writes fragments that one driver-side commit makes visible.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, List, Optional, Union

from streamscope.engine.api.read import read_datasource
from streamscope.engine.io.lance_datasource import LanceDatasource
from streamscope.engine.io.optional_deps import import_optional


def read_lance(uri: Union[str, List[str]], *, version: Union[int, str, None] = None,
               columns: Optional[List[str]] = None, filter: Optional[str] = None,
               storage_options: Optional[Dict[str, str]] = None, scanner_options: Optional[Dict[str, Any]] = None,
               num_cpus: Optional[float] = None, num_gpus: Optional[float] = None, memory: Optional[float] = None,
               concurrency: Optional[int] = None, override_num_blocks: Optional[int] = None,
               label_selector: Optional[Dict[str, str]] = None, fallback_strategy: Optional[List[Dict[str, Any]]] = None,
               max_calls: Optional[int] = None, resources: Optional[Dict[str, float]] = None,
               accelerator_type: Optional[str] = None, runtime_env: Optional[Dict[str, Any]] = None,
               ray_remote_args: Optional[Dict[str, Any]] = None):
    """A dataset of one version of a Lance dataset (or several, combined): one read task per
    fragment (small ones grouped), row counts from the manifest, ``version=`` (a number or a tag)
    to time travel.

    ``columns`` and later projections become Lance's scan projection; filters later in the plan
    become Lance's SQL ``filter`` where they translate exactly (the rest is applied to the rows),
    see ``explain()``. ``filter=`` takes a Lance SQL ``WHERE`` clause as written (deprecated, as in
    Ray: use ``Dataset.filter(expr=...)``). ``scanner_options`` go to ``LanceDataset.scanner``
    (``batch_size``, ``with_row_id``, ``fragments``, ...); ``storage_options`` to Lance's object
    store. Needs ``pip install 'streamscope[lance]'``.

    Examples:
        >>> import os, tempfile, lance, pyarrow as pa
        >>> tmp = tempfile.TemporaryDirectory()
        >>> uri = os.path.join(tmp.name, "points.lance")
        >>> _ = lance.write_dataset(pa.table({"x": [1, 2, 3, 4], "tag": ["a", "b", "a", "b"]}), uri, max_rows_per_file=2)
        >>> ds = streamscope.read_lance(uri)
        >>> ds.count(), sorted(r["x"] for r in ds.filter(expr="tag == 'a'").take_all())
        (4, [1, 3])
        >>> tmp.cleanup()
    """
    import_optional("lance", extra="lance", connector="read_lance")
    if filter is not None:
        warnings.warn("read_lance: the `filter` argument is deprecated (as in Ray Data); use "
                      "dataset.filter(expr=...) instead, which is pushed into the scan", DeprecationWarning, stacklevel=2)
    uris = _uris(uri)
    if version is not None and (isinstance(version, bool) or not isinstance(version, (int, str))):
        raise TypeError(f"read_lance: version must be an int (a version number), a str (a tag) or None, got {version!r}")
    for label, value in (("storage_options", storage_options), ("scanner_options", scanner_options)):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"read_lance: {label} must be a dict, got {type(value).__name__}")
    datasource = LanceDatasource(uris, version=version, columns=columns, filter=filter, storage_options=storage_options,
                                 scanner_options=scanner_options)
    return read_datasource(datasource, num_cpus=num_cpus, num_gpus=num_gpus, memory=memory, concurrency=concurrency,
                           override_num_blocks=override_num_blocks, label_selector=label_selector,
                           fallback_strategy=fallback_strategy, max_calls=max_calls, resources=resources,
                           accelerator_type=accelerator_type, runtime_env=runtime_env, ray_remote_args=ray_remote_args)


def _uris(uri: Any) -> list[str]:
    items = list(uri) if isinstance(uri, (list, tuple)) else [uri]
    if not items:
        raise ValueError("read_lance: `uri` list must not be empty")
    out = []
    for u in items:
        if hasattr(u, "__fspath__"):
            u = os.fspath(u)
        if not isinstance(u, str):
            raise TypeError(f"read_lance: uri must be a str or a list of str, got {u!r}")
        out.append(u)
    return out
