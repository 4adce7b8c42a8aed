"""read_lance / Dataset.write_lance on local Lance datasets, checked against lance's own reader
(``lance.dataset(uri).to_table()``), its manifests (versions, fragments) and pyarrow."""

from __future__ import annotations

import contextlib
import glob
import io
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest

lance = pytest.importorskip("lance")

import streamscope  # noqa: E402
from streamscope import DataSourceError  # noqa: E402
from streamscope.engine.expressions import parse  # noqa: E402
from streamscope.engine.io.sql_predicate import split_sql, to_sql  # noqa: E402


def _rows(table_or_rows, key="id"):
    rows = table_or_rows.to_pylist() if isinstance(table_or_rows, pa.Table) else list(table_or_rows)
    return sorted(rows, key=lambda r: (r[key] is None, r[key]))


def _plan_text(ds) -> str:
    """What ``ds.explain()`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ds.explain()
    return out.getvalue()


def _files(root) -> set[str]:
    return {os.path.relpath(p, root) for p in glob.glob(os.path.join(str(root), "**"), recursive=True)
            if os.path.isfile(p)}


DATA = pa.table({"id": list(range(10)), "x": [1, None, 3, 4, None, 6, 7, 8, 9, 10],
                 "tag": ["a", "b", None, "a", "b", "c", "a", None, "b", "c"]})


@pytest.fixture
def dataset(tmp_path):
    """Version 1: DATA in four fragments; version 2: one more fragment; version 3: a row deleted."""
    uri = str(tmp_path / "points.lance")
    lance.write_dataset(DATA, uri, max_rows_per_file=3)
    lance.write_dataset(pa.table({"id": [10, 11], "x": [11, None], "tag": ["d", "a"]}), uri, mode="append")
    lance.dataset(uri).delete("id = 4")
    return uri


# ---- reads ------------------------------------------------------------------------------------
def test_read_matches_lance(dataset, runtime):
    expected = lance.dataset(dataset).to_table()
    ds = streamscope.read_lance(dataset)
    assert ds.schema().base_schema == expected.schema
    assert ds.count() == expected.num_rows == 11
    assert ds._plan.dag.datasource.num_rows() == 11  # from the manifest, before any read
    assert _rows(ds.take_all()) == _rows(expected)


def test_one_task_per_fragment_grouped_when_asked(dataset):
    source = streamscope.read_lance(dataset)._plan.dag.datasource
    fragments = lance.dataset(dataset).get_fragments()
    tasks = source.get_read_tasks(100)
    assert len(tasks) == len(fragments) == 5
    assert sorted(t.metadata.num_rows for t in tasks) == sorted(f.count_rows() for f in fragments)
    grouped = source.get_read_tasks(2)
    assert len(grouped) == 2 and sum(t.metadata.num_rows for t in grouped) == 11


def test_time_travel_by_number_and_tag(dataset, runtime):
    lance.dataset(dataset).tags.create("first", 1)
    for version in (1, "first"):
        ds = streamscope.read_lance(dataset, version=version)
        assert _rows(ds.take_all()) == _rows(lance.dataset(dataset, version=1).to_table())
    assert "version=2" in _plan_text(streamscope.read_lance(dataset, version=2))


def test_columns_filter_and_scanner_options_go_to_lances_scanner(dataset, runtime):
    ds = streamscope.read_lance(dataset, columns=["tag", "id"])
    assert ds.schema().names == ["tag", "id"]
    assert _rows(ds.take_all()) == _rows(lance.dataset(dataset).to_table(columns=["tag", "id"]))
    with pytest.warns(DeprecationWarning, match="filter"):
        filtered = streamscope.read_lance(dataset, filter="x > 5 AND tag = 'a'")
    assert _rows(filtered.take_all()) == _rows(lance.dataset(dataset).to_table(filter="x > 5 AND tag = 'a'"))
    assert "filter (SQL, from read_lance)=x > 5 AND tag = 'a'" in _plan_text(filtered)
    with_ids = streamscope.read_lance(dataset, scanner_options={"with_row_id": True, "batch_size": 2})
    assert with_ids.schema().names == ["id", "x", "tag", "_rowid"]
    assert sorted(r["_rowid"] for r in with_ids.take_all()) == sorted(
        lance.dataset(dataset).to_table(with_row_id=True).column("_rowid").to_pylist())
    first = lance.dataset(dataset).get_fragments()[0]
    one = streamscope.read_lance(dataset, scanner_options={"fragments": [first]})
    assert _rows(one.take_all()) == _rows(first.to_table())


def test_refused_and_unknown_scanner_options(dataset):
    with pytest.raises(ValueError, match=r"scanner_options\['limit'\] is not supported: .*Dataset.limit"):
        streamscope.read_lance(dataset, scanner_options={"limit": 3})
    with pytest.raises(ValueError, match="unknown scanner_options key 'bogus'"):
        streamscope.read_lance(dataset, scanner_options={"bogus": 1})
    with pytest.raises(ValueError, match="columns given twice"):
        streamscope.read_lance(dataset, columns=["id"], scanner_options={"columns": ["x"]})


FILTERS = ["x > 5", "tag == 'a' or x is null", "x not in [1, 3, 10]", "tag in ['a', None]", "not (x >= 4 and id < 8)",
           "x % 2 == 0 and tag != 'c'", "x * 2 + 1 > 9", "tag is not null and id - 1 <= 3"]


@pytest.mark.parametrize("expr", FILTERS)
def test_pushed_filters_keep_exactly_the_rows_pyarrow_keeps(dataset, runtime, expr):
    expected = lance.dataset(dataset).to_table().filter(parse(expr).to_pyarrow())
    ds = streamscope.read_lance(dataset).filter(expr=expr)
    text = _plan_text(ds)
    assert "Filter[" not in text.split("(Optimized)")[1]  # the whole filter went into the read
    sql, rest = split_sql(parse(expr))
    if sql:
        assert "filter (Lance SQL)=" in text
    if rest:
        assert "row filter=" in text
    assert _rows(ds.take_all()) == _rows(expected)


def test_sql_translation_gives_up_where_sql_differs():
    assert to_sql(parse("x / 2 > 1")) is None  # SQL divides integers
    assert to_sql(parse("x // 2 == 1")) is None
    assert to_sql(parse("col('a.b') == 1")) is None  # a dotted name would be a nested field
    assert to_sql(parse("s == \"it's\"")) == "`s` = 'it''s'"


def test_projection_pushdown_and_limit(dataset, runtime):
    ds = streamscope.read_lance(dataset).select_columns(["x"])
    assert "columns=['x']" in _plan_text(ds)
    assert sorted(ds.take_all(), key=str) == sorted(
        lance.dataset(dataset).to_table(columns=["x"]).to_pylist(), key=str)
    assert len(streamscope.read_lance(dataset).limit(4).take_all()) == 4


def test_several_datasets_are_read_together(tmp_path, runtime):
    a, b = str(tmp_path / "a.lance"), str(tmp_path / "b.lance")
    lance.write_dataset(pa.table({"id": [1, 2]}), a)
    lance.write_dataset(pa.table({"id": [3], "extra": ["e"]}), b)
    ds = streamscope.read_lance([a, b])
    assert ds.schema().names == ["id", "extra"]
    assert _rows(ds.take_all()) == [{"id": 1, "extra": None}, {"id": 2, "extra": None}, {"id": 3, "extra": "e"}]


def test_errors_name_the_connector_and_the_uri(tmp_path, dataset, runtime):
    with pytest.raises(DataSourceError, match=r"read_lance: cannot read .*nope.lance.*no Lance dataset"):
        streamscope.read_lance(str(tmp_path / "nope.lance"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataSourceError, match="read_lance: cannot read .*plain"):
        streamscope.read_lance(str(tmp_path / "plain"))
    with pytest.raises(DataSourceError, match="version 42 not found .*latest version is 3"):
        streamscope.read_lance(dataset, version=42)
    with pytest.raises(ValueError, match="must not be empty"):
        streamscope.read_lance([])
    with pytest.raises(DataSourceError, match=r"columns \['zzz'\] not found"):
        streamscope.read_lance(dataset, columns=["zzz"])
    victim = sorted(glob.glob(os.path.join(dataset, "data", "*.lance")))[0]
    with open(victim, "wb") as f:
        f.write(b"garbage" * 100)
    with pytest.raises(DataSourceError, match="ReadLance: failed to read fragments .* of the Lance dataset at"):
        streamscope.read_lance(dataset).take_all()


def test_missing_lance_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "lance", None)
    with pytest.raises(ImportError, match=r"read_lance needs the 'lance' package.*streamscope\[lance\]"):
        streamscope.read_lance(str(tmp_path))
    with pytest.raises(ImportError, match=r"write_lance needs .*streamscope\[lance\]"):
        streamscope.range(1).write_lance(str(tmp_path / "t.lance"))


# ---- writes -----------------------------------------------------------------------------------
def test_write_creates_a_dataset_lance_reads(tmp_path, runtime):
    uri = str(tmp_path / "out.lance")
    streamscope.from_arrow(DATA).repartition(3).write_lance(uri, min_rows_per_file=1, max_rows_per_file=2)
    ds = lance.dataset(uri)
    assert ds.version == 1
    assert _rows(ds.to_table()) == _rows(DATA)
    assert len(ds.get_fragments()) >= 5  # at most two rows per file
    assert not os.path.exists(os.path.join(uri, "_streamscope_uncommitted"))
    with pytest.raises(ValueError, match="already exists"):
        streamscope.range(1).write_lance(uri)  # mode="create" is the default


def test_append_overwrite_ignore_and_time_travel(tmp_path, runtime):
    uri = str(tmp_path / "t.lance")
    streamscope.from_arrow(DATA).write_lance(uri)
    streamscope.from_items([{"id": 100, "tag": "new"}]).write_lance(uri, mode="append")  # x missing: nulls
    ds = lance.dataset(uri)
    assert ds.version == 2 and ds.count_rows() == 11
    assert ds.to_table(filter="id = 100").to_pylist() == [{"id": 100, "x": None, "tag": "new"}]
    streamscope.range(3).write_lance(uri, mode=streamscope.SaveMode.OVERWRITE)
    assert _rows(lance.dataset(uri).to_table()) == [{"id": 0}, {"id": 1}, {"id": 2}]
    assert _rows(streamscope.read_lance(uri, version=1).take_all()) == _rows(DATA)
    streamscope.range(50).write_lance(uri, mode="ignore")
    assert lance.dataset(uri).version == 3
    with pytest.raises(ValueError, match=r"columns \['extra'\] that the Lance dataset"):
        streamscope.from_items([{"id": 1, "extra": 2}]).write_lance(uri, mode="append")
    with pytest.raises(ValueError, match="mode='append' needs an existing Lance dataset"):
        streamscope.range(1).write_lance(str(tmp_path / "none.lance"), mode="append")


def test_schema_argument_casts_the_data(tmp_path, runtime):
    uri = str(tmp_path / "t.lance")
    schema = pa.schema([("id", pa.int32()), ("name", pa.large_string())])
    streamscope.from_items([{"name": "a", "id": 1}]).write_lance(uri, schema=schema)
    assert lance.dataset(uri).schema == schema
    assert lance.dataset(uri).to_table().to_pylist() == [{"id": 1, "name": "a"}]


def test_refused_arguments(tmp_path):
    uri = str(tmp_path / "t.lance")
    for kwargs in ({"table_id": ["db", "t"]}, {"namespace_impl": "dir"}, {"namespace_properties": {"root": "/x"}}):
        with pytest.raises(ValueError, match="not supported: Lance namespaces"):
            streamscope.range(1).write_lance(uri, **kwargs)
    with pytest.raises(ValueError, match="mode='upsert' is not supported"):
        streamscope.range(1).write_lance(uri, mode="upsert")
    with pytest.raises(ValueError, match="min_rows_per_file must be a positive integer"):
        streamscope.range(1).write_lance(uri, min_rows_per_file=0)
    assert not os.path.exists(uri)


def _fail_on_late_rows(batch):
    if batch["id"].min() >= 10:
        raise RuntimeError("boom in the UDF")
    return batch


def test_failed_write_leaves_the_dataset_and_its_files_as_they_were(tmp_path, runtime):
    uri = str(tmp_path / "t.lance")
    streamscope.range(4).write_lance(uri)
    before_files, before_version = _files(uri), lance.dataset(uri).version
    for mode in ("append", "overwrite"):
        with pytest.raises(Exception, match="boom in the UDF"):
            streamscope.range(20, override_num_blocks=4).map_batches(_fail_on_late_rows).write_lance(
                uri, mode=mode, min_rows_per_file=5)
        assert lance.dataset(uri).version == before_version
        assert _files(uri) == before_files
    assert sorted(lance.dataset(uri).to_table().column("id").to_pylist()) == [0, 1, 2, 3]


def test_failed_write_of_a_new_dataset_leaves_nothing(tmp_path, runtime):
    uri = tmp_path / "new.lance"
    with pytest.raises(Exception, match="boom in the UDF"):
        streamscope.range(20, override_num_blocks=4).map_batches(_fail_on_late_rows).write_lance(
            str(uri), min_rows_per_file=5)
    assert not uri.exists()


def test_written_fragments_follow_max_rows_per_file(tmp_path, runtime):
    uri = str(tmp_path / "t.lance")
    streamscope.range(10).write_lance(uri, max_rows_per_file=4)
    sizes = sorted(f.count_rows() for f in lance.dataset(uri).get_fragments())
    assert sizes == [2, 4, 4]
    assert pc.sum(lance.dataset(uri).to_table().column("id")).as_py() == 45


def test_data_storage_version_reaches_lance(tmp_path, runtime):
    uri = str(tmp_path / "t.lance")
    streamscope.range(3).write_lance(uri, data_storage_version="legacy")
    assert lance.dataset(uri).data_storage_version == "0.1"
    assert sorted(r["id"] for r in streamscope.read_lance(uri).take_all()) == [0, 1, 2]
