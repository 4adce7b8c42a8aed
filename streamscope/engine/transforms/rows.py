"""Row-based transforms: map, flat_map, filter(fn). The user's function sees one row (a dict)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

import pyarrow as pa

from streamscope.engine.block import iter_rows, rows_to_block
from streamscope.engine.runtime.base import TaskContext
from streamscope.engine.transforms.udf import UserFunction, tag

ROWS_PER_OUTPUT = 65536


class MapRowsTransform:
    def __init__(self, udf: UserFunction):
        self.udf = udf
        self.name = udf.operator

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        udf = self.udf
        for table in blocks:
            rows = iter_rows(table)
            out = []
            with ctx.time_udf():
                for row in rows:
                    result = udf(row)
                    if not isinstance(result, Mapping):
                        err = TypeError(
                            f"{self.name}: the function returned {type(result).__name__}; "
                            "map() expects a dict (one output row) — use flat_map() to return several rows"
                        )
                        tag(err, self.name)
                        raise err
                    out.append(result)
            if out:
                yield _to_block(out, self.name)


class FlatMapTransform:
    def __init__(self, udf: UserFunction):
        self.udf = udf
        self.name = udf.operator

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        udf = self.udf
        for table in blocks:
            out: list = []
            with ctx.time_udf():
                for row in iter_rows(table):
                    results = udf(row)
                    if isinstance(results, Mapping):
                        out.append(results)
                        continue
                    try:
                        items = iter(results)
                    except TypeError:
                        err = TypeError(f"{self.name}: the function returned {type(results).__name__}; flat_map() expects a list of dicts")
                        tag(err, self.name)
                        raise err from None
                    for item in items:
                        if not isinstance(item, Mapping):
                            err = TypeError(f"{self.name}: an item of the returned list is {type(item).__name__}, not a dict")
                            tag(err, self.name)
                            raise err
                        out.append(item)
                    if len(out) >= ROWS_PER_OUTPUT:
                        yield _to_block(out, self.name)
                        out = []
            if out:
                yield _to_block(out, self.name)


class FilterRowsTransform:
    def __init__(self, udf: UserFunction):
        self.udf = udf
        self.name = udf.operator

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        udf = self.udf
        for table in blocks:
            with ctx.time_udf():
                mask = []
                for row in iter_rows(table):
                    keep = udf(row)
                    if not isinstance(keep, (bool, int)) and type(keep).__name__ != "bool_":
                        err = TypeError(f"{self.name}: the predicate returned {type(keep).__name__}, expected bool")
                        tag(err, self.name)
                        raise err
                    mask.append(bool(keep))
            if any(mask):
                yield table.filter(pa.array(mask, type=pa.bool_()))

    def output_schema(self, schema):
        return schema


def _to_block(rows: list, operator: str) -> pa.Table:
    try:
        return rows_to_block(rows)
    except (TypeError, ValueError) as exc:
        err = TypeError(f"{operator}: cannot build a block from the returned rows: {exc}")
        tag(err, operator)
        raise err from exc
