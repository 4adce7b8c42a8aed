"""Copy-on-write for ``write_iceberg``'s overwrite and upsert: which existing data files the new
snapshot drops, and the rows of theirs it must keep (written again as new data files).

Why by file: an Iceberg snapshot references whole data files. Replacing the rows that match an
``overwrite_filter`` (or whose keys the upsert brings again) means dropping every file that holds
such a row and adding back, as a new file, the rows of it that do not match. Files the manifests
show cannot match are never opened (``plan_files`` with the filter); files whose column bounds
show every row matches are dropped without reading (Iceberg's strict metrics evaluation); the
others are read with PyIceberg's reader (delete files applied) and split.

Runs in the driver, when the write commits. PyIceberg is imported inside the functions.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pyarrow as pa
import pyarrow.compute as pc


@dataclass
class Replacement:
    """What a commit removes and adds back: data files dropped, and new files of kept rows."""

    dropped: list = field(default_factory=list)
    kept_files: list = field(default_factory=list)


def _read_file(metadata: Any, io: Any, task: Any) -> pa.Table:
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    return ArrowScan(table_metadata=metadata, io=io, projected_schema=metadata.schema(),
                     row_filter=AlwaysTrue()).to_table(tasks=[task])


def replace_matching(txn: Any, io: Any, predicate: Any, case_sensitive: bool, branch: Optional[str],
                     write_kept: Callable[[pa.Table], list]) -> Replacement:
    """The files an overwrite with ``predicate`` drops and the files of rows it keeps."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.expressions.visitors import _StrictMetricsEvaluator, bind
    from pyiceberg.io.pyarrow import _expression_to_complementary_pyarrow

    metadata = txn.table_metadata
    out = Replacement()
    for task in _plan(txn, predicate, case_sensitive, branch):
        if isinstance(predicate, AlwaysTrue) or isinstance(task.residual, AlwaysTrue) or \
                _StrictMetricsEvaluator(metadata.schema(), predicate, case_sensitive).eval(task.file):
            out.dropped.append(task.file)  # every row matches: no need to read it
            continue
        rows = _read_file(metadata, io, task)
        bound = bind(metadata.schema(), predicate, case_sensitive)
        kept = rows.filter(_expression_to_complementary_pyarrow(bound, metadata.schema()))
        _split(out, task, rows, kept, write_kept)
    return out


def replace_keys(txn: Any, io: Any, keys: pa.Table, columns: list[str], case_sensitive: bool,
                 branch: Optional[str], write_kept: Callable[[pa.Table], list]) -> Replacement:
    """The files an upsert drops (those holding a row with one of ``keys``) and the files of
    their other rows. Candidate files come from a range filter over the keys' min and max."""
    import pyiceberg.expressions as ie

    predicate: Any = ie.AlwaysTrue()
    for name in columns:
        bounds = pc.min_max(keys[name])
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        try:
            predicate = ie.And(predicate, ie.And(ie.GreaterThanOrEqual(name, low), ie.LessThanOrEqual(name, high)))
        except (TypeError, ValueError):
            pass  # a key type Iceberg literals do not take: every file is a candidate for this column
    metadata = txn.table_metadata
    out = Replacement()
    for task in _plan(txn, predicate, case_sensitive, branch):
        rows = _read_file(metadata, io, task)
        positions = rows.select(columns)
        wanted = keys.cast(pa.schema([pa.field(c, positions.schema.field(c).type) for c in columns]))
        positions = positions.append_column("__row__", pa.array(range(rows.num_rows), pa.int64()))
        left = positions.join(wanted, keys=columns, join_type="left anti")  # rows whose key is not upserted
        index = left.column("__row__").combine_chunks()
        kept = rows.take(pc.take(index, pc.sort_indices(index)))
        _split(out, task, rows, kept, write_kept)
    return out


def _plan(txn: Any, predicate: Any, case_sensitive: bool, branch: Optional[str]) -> list:
    scan = txn._scan(row_filter=predicate, case_sensitive=case_sensitive)
    if branch is not None and txn.table_metadata.snapshot_by_name(branch) is not None:
        scan = scan.use_ref(branch)
    elif branch is not None and branch != "main":
        return []  # a new branch holds no files yet
    return list(scan.plan_files())


def _split(out: Replacement, task: Any, rows: pa.Table, kept: pa.Table, write_kept: Callable[[pa.Table], list]) -> None:
    if rows.num_rows == 0 or kept.num_rows == rows.num_rows:
        return  # nothing in this file is replaced
    out.dropped.append(task.file)
    if kept.num_rows:
        out.kept_files.extend(write_kept(kept))


def unique_non_null_keys(keys: list[pa.Table], columns: list[str]) -> Optional[pa.Table]:
    """The distinct key rows of the upserted data; rows with a null key match nothing (as in SQL)."""
    if not keys:
        return None
    table = pa.concat_tables(keys, promote_options="permissive")
    mask = functools.reduce(pc.and_, [pc.is_valid(table[c]) for c in columns])
    table = table.filter(mask)
    if table.num_rows == 0:
        return None
    return table.group_by(columns).aggregate([])


def kept_writer(metadata: Any, io: Any, write_uuid: Any, first_id: int) -> Callable[[pa.Table], list]:
    """Writes kept rows as data files named with ``write_uuid`` (so a failed commit's cleanup
    finds them), numbered from ``first_id``."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    counter = itertools.count(first_id)

    def write(table: pa.Table) -> list:
        return list(_dataframe_to_data_files(table_metadata=metadata, df=table, io=io, write_uuid=write_uuid,
                                             counter=counter))

    return write
