"""``print(ds)`` prints what Ray Data 2.60 prints, and never runs the plan.

The expected texts are written out by hand in Ray's two shapes: a table of columns and types when
the plan knows its schema (with preview rows once materialized), the operator tree above a
``Dataset(num_rows=..., schema=...)`` line when a UDF hides the schema.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

import streamscope
from streamscope.block import BlockMetadata


def add_column(batch):
    return {"id": batch["id"], "x": batch["id"]}


def identity(batch):
    return batch


def keep(row):
    return True


def _table(*lines: str) -> str:
    return "\n".join(lines)


def test_a_plan_with_a_known_schema_prints_as_a_table_without_running():
    ds = streamscope.range(10).filter(expr="id > 3")
    assert str(ds) == _table(
        "shape: (?, 1)",
        "╭───────╮",
        "│ id    │",
        "│ ---   │",
        "│ int64 │",
        "╰───────╯",
        "(Dataset isn't materialized)",
    )
    assert repr(ds) == str(ds)
    assert ds._last_run is None


def test_columns_take_the_width_of_their_widest_cell():
    ds = streamscope.range(4).rename_columns({"id": "identifier"}).limit(2)
    assert str(ds) == _table(
        "shape: (2, 1)",
        "╭────────────╮",
        "│ identifier │",
        "│ ---        │",
        "│ int64      │",
        "╰────────────╯",
        "(Dataset isn't materialized)",
    )


def test_a_udf_hides_the_schema_and_the_plan_prints_as_a_tree():
    ds = streamscope.range(10).map_batches(add_column).select_columns(["id"])
    assert str(ds) == _table(
        "Project",
        "+- MapBatches(add_column)",
        "   +- Dataset(num_rows=10, schema={id: int64})",
    )
    assert ds._last_run is None


def test_tree_of_filter_over_map():
    ds = streamscope.range(10).map_batches(identity).filter(keep)
    assert str(ds) == _table(
        "Filter(keep)",
        "+- MapBatches(identity)",
        "   +- Dataset(num_rows=10, schema={id: int64})",
    )


def test_an_n_ary_operator_leaves_the_source_unknown():
    ds = streamscope.range(10).zip(streamscope.range(10).map_batches(add_column))
    assert str(ds) == _table(
        "Zip",
        "+- MapBatches(add_column)",
        "   +- Dataset(num_rows=?, schema=Unknown schema)",
    )
    union = streamscope.range(5).map_batches(identity).union(streamscope.range(3))
    assert str(union) == _table(
        "Union",
        "+- MapBatches(identity)",
        "   +- Dataset(num_rows=?, schema=Unknown schema)",
    )


def test_named_datasets():
    tree = streamscope.range(5).map_batches(identity)
    tree.set_name("ids")
    assert str(tree) == _table("MapBatches(identity)", "+- Dataset(name=ids, num_rows=5, schema={id: int64})")
    table = streamscope.range(3)
    table.set_name("small")
    assert str(table).splitlines()[:2] == ["name: small", "shape: (3, 1)"]


def test_a_long_dataset_line_breaks_its_fields_and_its_schema():
    row = {f"c{i}": i for i in range(8)}
    ds = streamscope.from_items([row]).map_batches(identity)
    expected = ["MapBatches(identity)", "+- Dataset(", "      num_rows=1,", "      schema={"]
    expected += [f"         c{i}: int64," for i in range(7)] + ["         c7: int64", "      }", "   )"]
    assert str(ds) == "\n".join(expected)


def test_a_materialized_dataset_previews_its_first_and_last_rows():
    rows = [{"k": i, "text": "x" * i} for i in range(12)]
    ds = streamscope.from_items(rows)
    widths = (5, len("x" * 11))
    lines = ["shape: (12, 2)", "╭" + "─" * (widths[0] + 2) + "┬" + "─" * (widths[1] + 2) + "╮"]

    def row(a: str, b: str) -> str:
        return f"│ {a.ljust(widths[0])} ┆ {b.ljust(widths[1])} │"

    lines += [row("k", "text"), row("---", "---"), row("int64", "string")]
    lines.append("╞" + "═" * (widths[0] + 2) + "╪" + "═" * (widths[1] + 2) + "╡")
    lines += [row(str(r["k"]), r["text"]) for r in rows[:5]]
    lines.append(row("…", "…"))
    lines += [row(str(r["k"]), r["text"]) for r in rows[-5:]]
    lines.append("╰" + "─" * (widths[0] + 2) + "┴" + "─" * (widths[1] + 2) + "╯")
    lines.append("(Showing 10 of 12 rows)")
    assert str(ds) == "\n".join(lines)


def test_a_lazy_dataset_over_a_materialized_one_is_a_tree():
    ds = streamscope.from_items([{"a": 1}, {"a": 2}]).map_batches(identity)
    assert str(ds) == _table("MapBatches(identity)", "+- Dataset(num_rows=2, schema={a: int64})")


def _counted_read(counter: str):
    with open(counter, "a") as f:
        f.write("r")
    return [pa.table({"a": [1, 2, 3, 4]})]


class NoSchemaDatasource(streamscope.Datasource):
    def __init__(self, counter: str):
        super().__init__()
        self.counter = counter

    def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
        return [streamscope.ReadTask(lambda: _counted_read(self.counter), BlockMetadata(4, 32, None))]

    def estimate_inmemory_data_size(self):
        return 32


def test_a_source_without_a_schema_prints_its_row_count_and_is_not_read(tmp_path):
    counter = str(tmp_path / "reads")
    ds = streamscope.read_datasource(NoSchemaDatasource(counter))
    assert str(ds) == "Dataset(num_rows=4, schema=Unknown schema)"
    assert not os.path.exists(counter)


class BrokenDatasource(streamscope.Datasource):
    def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
        raise ConnectionError("service down")


def test_printing_survives_a_datasource_that_cannot_plan():
    ds = streamscope.read_datasource(BrokenDatasource())
    assert str(ds) == "Dataset(num_rows=?, schema=Unknown schema)"
    with pytest.raises(ConnectionError, match="service down"):
        ds.take_all()
