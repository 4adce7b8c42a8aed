"""Row-based transforms: map, flat_map, filter(fn). The user's function sees one row (a dict).

The loops are written tight on purpose: a row UDF runs millions of times, so per-row work is one
call of the user's function and nothing else; validation of what it returned is a second, cheap
pass that only digs deeper when something is off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator

import pyarrow as pa

from streamscope.engine.block import rows_to_block, table_rows
from streamscope.engine.runtime.base import TaskContext
from streamscope.engine.transforms.udf import UserFunction, tag

ROWS_PER_OUTPUT = 65536


def _fail(operator: str, exc: BaseException) -> BaseException:
    tag(exc, operator)
    return exc


class MapRowsTransform:
    def __init__(self, udf: UserFunction):
        self.udf = udf
        self.name = udf.operator

    def preserves_row_count(self) -> bool:
        return True

    def apply_rows(self, rows: list) -> list:
        fn = self.udf.bind()
        try:
            out = [fn(row) for row in rows]
        except Exception as exc:
            raise _fail(self.name, exc)
        if any(type(o) is not dict for o in out):
            out = [o if type(o) is dict else _as_row(o, self.name) for o in out]
        return out

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        return RowChain([self]).apply(blocks, ctx)


def _as_row(value, operator: str) -> dict:
    if isinstance(value, Mapping):
        return dict(value)
    raise _fail(operator, TypeError(
        f"{operator}: the function returned {type(value).__name__}; "
        "map() expects a dict (one output row) — use flat_map() to return several rows"))


class FlatMapTransform:
    def __init__(self, udf: UserFunction):
        self.udf = udf
        self.name = udf.operator

    def apply_rows(self, rows: list) -> list:
        fn = self.udf.bind()
        out: list = []
        for row in rows:
            try:
                results = fn(row)
            except Exception as exc:
                raise _fail(self.name, exc)
            if type(results) is dict:
                out.append(results)
                continue
            if isinstance(results, Mapping):
                out.append(dict(results))
                continue
            try:
                items = iter(results)
            except TypeError:
                raise _fail(self.name, TypeError(
                    f"{self.name}: the function returned {type(results).__name__}; flat_map() expects a list of dicts")) from None
            for item in items:
                out.append(item if type(item) is dict else _as_row(item, self.name))
        return out

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        return RowChain([self]).apply(blocks, ctx)


class FilterRowsTransform:
    def __init__(self, udf: UserFunction):
        self.udf = udf
        self.name = udf.operator

    def mask(self, rows: list) -> list:
        fn = self.udf.bind()
        try:
            mask = [fn(row) for row in rows]
        except Exception as exc:
            raise _fail(self.name, exc)
        if any(type(m) is not bool for m in mask):
            bad = next((m for m in mask if type(m) is not bool and type(m).__name__ != "bool_"), None)
            if bad is not None or any(m is None for m in mask):
                raise _fail(self.name, TypeError(f"{self.name}: the predicate returned {type(bad).__name__}, expected bool"))
            mask = [bool(m) for m in mask]
        return mask

    def apply_rows(self, rows: list) -> list:
        return [row for row, keep in zip(rows, self.mask(rows)) if keep]

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        return RowChain([self]).apply(blocks, ctx)

    def output_schema(self, schema):
        return schema


class RowChain:
    """Consecutive row transforms of one fused task, run on Python rows without rebuilding an
    Arrow block between them: ``map -> filter -> flat_map`` converts the block to rows once and
    back once. A chain of filters only keeps the original block's rows (``Table.filter``)."""

    def __init__(self, transforms: list):
        self.transforms = list(transforms)
        self.name = "->".join(t.name for t in self.transforms)
        self.filters_only = all(isinstance(t, FilterRowsTransform) for t in self.transforms)

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        for table in blocks:
            if table.num_rows == 0:
                continue
            rows = table_rows(table)
            with ctx.time_udf():
                if self.filters_only:
                    keep = [True] * len(rows)
                    for t in self.transforms:
                        idx = [i for i, k in enumerate(keep) if k]
                        sub = t.mask([rows[i] for i in idx]) if len(idx) < len(rows) else t.mask(rows)
                        for i, k in zip(idx, sub):
                            keep[i] = k
                    result = None
                else:
                    for t in self.transforms:
                        rows = t.apply_rows(rows)
                    result = rows
            if result is None:
                kept = table.filter(pa.array(keep, type=pa.bool_()))
                if kept.num_rows:
                    yield kept
                continue
            for start in range(0, len(result), ROWS_PER_OUTPUT * 16):
                yield _to_block(result[start:start + ROWS_PER_OUTPUT * 16], self.name)


def chain_row_transforms(transforms: list) -> list:
    """Group consecutive row transforms into RowChains (used when building a fused task)."""
    out: list = []
    run: list = []
    for t in transforms:
        if hasattr(t, "apply_rows"):
            run.append(t)
            continue
        if run:
            out.append(RowChain(run))
            run = []
        out.append(t)
    if run:
        out.append(RowChain(run))
    return out


def _to_block(rows: list, operator: str) -> pa.Table:
    try:
        return rows_to_block(rows)
    except (TypeError, ValueError) as exc:
        raise _fail(operator, TypeError(f"{operator}: cannot build a block from the returned rows: {exc}")) from exc
