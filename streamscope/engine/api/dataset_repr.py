"""The text a Dataset prints as (``print(ds)``, ``str(ds)``, ``repr(ds)``), in Ray Data 2.60's shape.

Why two shapes, as Ray: when the plan knows its schema without running (a read with a known
schema, filters, sorts, limits, column selections over it, in-memory data) the dataset prints as a
table of its columns and types, with its first and last rows when it is materialized; when a UDF
hides the schema, it prints as the tree of its operators down to the source, e.g.::

    MapBatches(add_column)
    +- Dataset(num_rows=10, schema={id: int64})

Printing never runs anything: row counts and schemas come from metadata, and a materialized
dataset's preview rows are read from the blocks it already holds. Operator names are Ray's
(``Project`` for ``Project[select=['id']]``): the bracketed details streamscope adds to its plan
views are left out here.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine.block import iter_rows
from streamscope.engine.logical import operators as L

ELLIPSIS = "…"
MAX_ROWS = 10
"""Rows a materialized dataset previews at most: all of them up to this many, else the first
``HEAD_ROWS`` and the last ``MAX_ROWS - HEAD_ROWS`` around a row of ellipses."""
HEAD_ROWS = 5
MAX_CELL_WIDTH = 40
LINE_LIMIT = 80
"""The ``Dataset(...)`` line of the tree breaks its fields onto lines of their own beyond this."""
MIN_NAME_CHARS = 10
INDENT = "   "


def dataset_repr(dag: L.LogicalOperator, cls_name: str, name: Optional[str], materialized: bool) -> str:
    """The text of a dataset whose plan ends in ``dag``: a table when the schema is known
    without running, else the operator tree."""
    schema = _known(dag.output_schema)
    if schema is None or not len(schema.names):
        return _summary_repr(dag, cls_name, name, materialized)
    head: list[list[str]] = []
    tail: list[list[str]] = []
    rows = _known(dag.output_num_rows)
    if materialized:
        try:
            head, tail = _preview_rows(dag, schema.names, rows)
        except Exception:  # a preview that cannot be read must not hide the dataset
            head, tail = [], []
    return _table_repr(schema, rows, name, materialized, head, tail)


# ---- the table ------------------------------------------------------------------------------
def _table_repr(schema: pa.Schema, num_rows: Optional[int], name: Optional[str], materialized: bool,
                head: list[list[str]], tail: list[list[str]]) -> str:
    headers = [_cell(str(col)) for col in schema.names]
    dtypes = [_cell(_dtype_text(t)) for t in schema.types]
    dashes = ["---"] * len(headers)
    body = head + ([[ELLIPSIS] * len(headers)] if head and tail else []) + tail
    widths = [max(len(r[i]) for r in [headers, dtypes, dashes] + body) for i in range(len(headers))]
    lines = [_border("╭", "┬", "╮", "─", widths), _row(headers, widths), _row(dashes, widths), _row(dtypes, widths)]
    if body:
        lines.append(_border("╞", "╪", "╡", "═", widths))
        lines.extend(_row(r, widths) for r in body)
    lines.append(_border("╰", "┴", "╯", "─", widths))
    shown = len(head) + len(tail)
    if materialized:
        footer = f"(Showing {shown} of {num_rows if num_rows is not None else '?'} rows)"
    else:
        footer = "(Dataset isn't materialized)"
    parts = [f"name: {name}"] if name is not None else []
    parts += [f"shape: ({num_rows if num_rows is not None else '?'}, {len(headers)})", "\n".join(lines), footer]
    return "\n".join(parts)


def _border(left: str, middle: str, right: str, fill: str, widths: list[int]) -> str:
    return left + middle.join(fill * (w + 2) for w in widths) + right


def _row(cells: list[str], widths: list[int]) -> str:
    return "│" + "┆".join(f" {c.ljust(w)} " for c, w in zip(cells, widths)) + "│"


def _cell(text: str) -> str:
    return text if len(text) <= MAX_CELL_WIDTH else text[: MAX_CELL_WIDTH - 1] + ELLIPSIS


def _dtype_text(dtype: Any) -> str:
    if isinstance(dtype, type):
        return dtype.__name__
    name = getattr(dtype, "name", None)
    return name if isinstance(name, str) else str(dtype)


def _value_text(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    return str(value).replace("\n", " ").replace("\r", " ")


def _preview_rows(dag: L.LogicalOperator, columns: list[str], num_rows: Optional[int]) -> tuple[list, list]:
    """The first and last rows of a materialized dataset, read from the blocks it holds (only
    the blocks the preview needs)."""
    tables = _held_tables(dag)
    if num_rows is None or num_rows <= MAX_ROWS:
        want_head, want_tail = (num_rows if num_rows is not None else MAX_ROWS), 0
    else:
        want_head, want_tail = HEAD_ROWS, MAX_ROWS - HEAD_ROWS
    head: list[dict] = []
    for table in tables:
        if len(head) >= want_head:
            break
        head.extend(iter_rows(table.slice(0, want_head - len(head))))
    tail: list[dict] = []
    for table in reversed(tables):
        if len(tail) >= want_tail:
            break
        need = want_tail - len(tail)
        tail = list(iter_rows(table.slice(max(0, table.num_rows - need)))) + tail
    as_cells = lambda rows: [[_cell(_value_text(r.get(c))) for c in columns] for r in rows]  # noqa: E731
    return as_cells(head), as_cells(tail)


class _HeldTables:
    """The blocks of a materialized dataset, each fetched from the store at most once."""

    def __init__(self, op: L.InputData):
        self._op = op
        self._cache: dict[int, pa.Table] = {}
        self._n = op.num_blocks()

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> pa.Table:
        if i not in self._cache:
            if self._op.tables is not None:
                self._cache[i] = self._op.tables[i]
            else:
                ref, _meta = self._op.refs[i]
                self._cache[i] = self._op.runtime.get(ref)
        return self._cache[i]

    def __iter__(self):
        return (self[i] for i in range(self._n))

    def __reversed__(self):
        return (self[i] for i in range(self._n - 1, -1, -1))


def _held_tables(dag: L.LogicalOperator) -> Any:
    if not isinstance(dag, L.InputData):
        return []
    return _HeldTables(dag)


# ---- the tree -------------------------------------------------------------------------------
def _summary_repr(dag: L.LogicalOperator, cls_name: str, name: Optional[str], materialized: bool) -> str:
    lines: list[str] = []
    depth = _tree_lines(dag, 0, lines) if not materialized else 0
    schema, count = _source_facts(dag)
    schema_text = "Unknown schema" if schema is None else "{" + ", ".join(
        f"{n}: {_type_text(t)}" for n, t in zip(schema.names, schema.types)) + "}"
    count_text = "?" if count is None else str(count)
    blocks = dag.num_blocks() if materialized and isinstance(dag, L.InputData) else None
    name_part = f"name={name}, " if name is not None else ""
    blocks_part = f"num_blocks={blocks}, " if blocks else ""
    line = f"{cls_name}({name_part}{blocks_part}num_rows={count_text}, schema={schema_text})"
    if len(line) > LINE_LIMIT:
        line = _broken_dataset_line(cls_name, name, blocks, count_text, schema, schema_text, INDENT * depth)
    text = "".join(lines)
    return text + (line if depth == 0 else f"{INDENT * (depth - 1)}+- {line}")


def _tree_lines(op: L.LogicalOperator, depth: int, lines: list[str]) -> int:
    """Append the operators above the sources (depth-first, inputs in order); return the depth
    the source line goes at."""
    if not op.inputs:
        return depth
    label = ray_operator_name(op)
    lines.append(f"{label}\n" if depth == 0 else f"{INDENT * (depth - 1)}+- {label}\n")
    deepest = depth
    for child in op.inputs:
        deepest = max(deepest, _tree_lines(child, depth + 1, lines))
    return deepest


def _source_facts(dag: L.LogicalOperator) -> tuple[Optional[pa.Schema], Optional[int]]:
    """Schema and rows shown on the ``Dataset(...)`` line: the source's, when the plan is a single
    chain down to one source (with a union, a zip or a join, both stay unknown, as in Ray)."""
    op = dag
    while op.inputs:
        if len(op.inputs) > 1:
            return None, None
        op = op.inputs[0]
    return _known(op.output_schema), _known(op.output_num_rows)


def _known(fact: Any) -> Any:
    """A schema or row count from metadata, or None (unknown) when asking for it fails: a
    custom datasource's ``get_read_tasks`` may raise, and printing a dataset must still work
    (the error surfaces when the dataset is consumed)."""
    try:
        return fact()
    except Exception:
        return None


def _broken_dataset_line(cls_name: str, name: Optional[str], blocks: Optional[int], count_text: str,
                         schema: Optional[pa.Schema], schema_text: str, lead: str) -> str:
    """The ``Dataset(...)`` line too long for one line: a field per line, and the schema a column
    per line when it does not fit on its own (a name too long for the line keeps its first
    characters and its type)."""
    if schema is not None and len(f"{lead}{INDENT}schema={schema_text}") > LINE_LIMIT:
        cols = []
        for n, t in zip(schema.names, schema.types):
            col = f"{lead}{INDENT * 2}{n}: {_type_text(t)}"
            if len(col) > LINE_LIMIT:
                suffix = f"...: {t}"
                col = col[: max(LINE_LIMIT - len(suffix), MIN_NAME_CHARS)] + suffix
            cols.append(col)
        schema_text = "{\n" + ",\n".join(cols) + f"\n{lead}{INDENT}" + "}"
    parts = [f"{cls_name}("]
    if name is not None:
        parts.append(f"\n{lead}{INDENT}name={name},")
    if blocks:
        parts.append(f"\n{lead}{INDENT}num_blocks={blocks},")
    parts.append(f"\n{lead}{INDENT}num_rows={count_text},")
    parts.append(f"\n{lead}{INDENT}schema={schema_text}")
    parts.append(f"\n{lead})")
    return "".join(parts)


def _type_text(dtype: Any) -> str:
    return dtype.__name__ if hasattr(dtype, "__name__") else str(dtype)


_DETAIL = re.compile(r"^(\w+)\[.*\]$", re.S)


def ray_operator_name(op: L.LogicalOperator) -> str:
    """The operator's name as Ray Data prints it: without streamscope's bracketed details
    (``Project[select=['id']]`` -> ``Project``); ``add_column`` and ``drop_columns`` appear as
    Ray's ``MapBatches(add_column)`` / ``MapBatches(drop_columns)``."""
    if isinstance(op, L.AddColumn):
        return "MapBatches(add_column)"
    name = op.name
    if isinstance(op, L.Project) and name.startswith("Project[drop="):
        return "MapBatches(drop_columns)"
    match = _DETAIL.match(name)
    return match.group(1) if match else name
