"""read_iceberg / Dataset.write_iceberg against a local PyIceberg SQL catalog (SQLite, file warehouse).

Expected values come from PyIceberg itself (``table.scan(...).to_arrow()``, snapshots, schemas),
pyarrow and pandas."""

from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("pyiceberg")

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from pyiceberg.catalog.sql import SqlCatalog  # noqa: E402
from pyiceberg.expressions import GreaterThanOrEqual  # noqa: E402
from pyiceberg.io.pyarrow import schema_to_pyarrow  # noqa: E402
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat, ManifestContent, ManifestWriterV2  # noqa: E402
from pyiceberg.partitioning import PartitionField, PartitionSpec  # noqa: E402
from pyiceberg.schema import Schema  # noqa: E402
from pyiceberg.table.snapshots import Operation  # noqa: E402
from pyiceberg.table.update.snapshot import _FastAppendFiles  # noqa: E402
from pyiceberg.transforms import IdentityTransform  # noqa: E402
from pyiceberg.typedef import Record  # noqa: E402
from pyiceberg.types import DoubleType, LongType, NestedField, StringType  # noqa: E402

import streamscope  # noqa: E402
from streamscope import SaveMode  # noqa: E402
from streamscope.engine.io.iceberg_datasink import IcebergDatasink  # noqa: E402
from streamscope.engine.logical.optimizer import optimize  # noqa: E402
from streamscope.engine.runtime.base import TaskContext  # noqa: E402
from streamscope.expressions import col  # noqa: E402

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])


@pytest.fixture
def lake(tmp_path):
    """(catalog, catalog_kwargs, warehouse dir) of a fresh SQLite catalog with namespace ``db``."""
    kwargs = {"type": "sql", "uri": f"sqlite:///{tmp_path}/catalog.db", "warehouse": f"file://{tmp_path}/warehouse"}
    catalog = SqlCatalog("default", **{k: v for k, v in kwargs.items() if k != "type"})
    catalog.create_namespace("db")
    yield catalog, kwargs, tmp_path / "warehouse"
    catalog.engine.dispose()


def _rows(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i % 3}" for i in ids],
                     "score": [None if i % 5 == 0 else i / 2 for i in ids]}, schema=SCHEMA)


@pytest.fixture
def three_files(lake):
    """Table db.t holding ids 0..299 in three data files of 100 rows (one append each)."""
    catalog, kwargs, _ = lake
    table = catalog.create_table("db.t", schema=SCHEMA)
    for start in (0, 100, 200):
        table.append(_rows(start, 100))
    return catalog.load_table("db.t"), kwargs


def _sorted(rows, key="id"):
    return sorted(rows, key=lambda r: r[key])


def _optimized_source(ds):
    op = optimize(ds._plan).plan.dag
    while not hasattr(op, "datasource"):
        op = op.inputs[0]
    return op.datasource


def _data_files(warehouse, table="t"):
    root = warehouse / "db" / table / "data"
    return sorted(str(p) for p in root.rglob("*.parquet")) if root.exists() else []


# ---- reads ---------------------------------------------------------------------------------------
def test_read_returns_the_tables_rows_schema_and_count(three_files):
    table, kwargs = three_files
    ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs)
    expected = table.scan().to_arrow()
    assert ds.schema().base_schema == schema_to_pyarrow(table.schema(), include_field_ids=False)
    assert ds.count() == expected.num_rows == 300
    assert _sorted(ds.take_all()) == _sorted(expected.to_pylist())
    source = ds._plan.dag.datasource
    assert source.num_rows() == 300  # from the manifests, before any read
    assert sorted(ds.input_files()) == sorted(t.file.file_path for t in table.scan().plan_files())


def test_read_tasks_are_data_files_or_groups_of_them(three_files):
    _, kwargs = three_files
    source = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs)._plan.dag.datasource
    many = source.get_read_tasks(8)
    assert [len(t.input_files) for t in many] == [1, 1, 1]
    assert [t.metadata.num_rows for t in many] == [100, 100, 100]
    one = source.get_read_tasks(1)
    assert len(one) == 1 and len(one[0].input_files) == 3


def test_filter_is_pushed_into_the_scan_and_prunes_data_files(three_files):
    table, kwargs = three_files
    ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs)
    ds = ds.filter(expr="id >= 250 and name == 'n1'")
    source = _optimized_source(ds)
    summary = "; ".join(source.pushdown_summary())
    assert "filter=id >= 250 and name == 'n1'" in summary
    assert "1 of 3 data files left by manifest pruning" in summary
    assert len(source.get_read_tasks(8)) == 1
    expected = table.scan(row_filter="id >= 250 and name == 'n1'").to_arrow()
    assert _sorted(ds.take_all()) == _sorted(expected.to_pylist())
    assert ds.count() == expected.num_rows


def test_filter_parts_without_an_iceberg_form_are_applied_to_rows(three_files):
    table, kwargs = three_files
    ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs)
    ds = ds.filter(expr="id < 100 and id + 1 > score * 2").select_columns(["name"])
    summary = _optimized_source(ds).pushdown_summary()
    assert "filter=id < 100" in summary and "row filter=id + 1 > score * 2" in summary
    df = table.scan().to_pandas()
    expected = df[(df.id < 100) & (df.id + 1 > df.score * 2)][["name"]]
    assert sorted(r["name"] for r in ds.take_all()) == sorted(expected.name)
    assert ds.schema().names == ["name"]


NULLS_AND_NANS = pa.table({"id": pa.array([1, 2, 3, None, 5, 6], pa.int64()), "s": ["a", None, "c", "d", "a", "b"],
                           "x": pa.array([1.0, float("nan"), None, 4.0, 5.0, -1.0])})


@pytest.mark.parametrize("text, arrow_filter", [
    ("id != 3", pc.field("id") != 3),
    ("s not in ['a', 'b']", ~pc.field("s").isin(["a", "b"])),  # pyarrow keeps null s; Iceberg's NotIn alone would not
    ("not (s in ['a'])", ~pc.field("s").isin(["a"])),
    ("not (x > 0)", ~(pc.field("x") > 0)),  # keeps NaN; Iceberg would rewrite it as x <= 0
    ("is_nan(x) or id is null", pc.field("x").is_nan() | pc.field("id").is_null()),
    ("id >= 2 and not (s is null)", (pc.field("id") >= 2) & pc.field("s").is_valid()),
])
def test_pushed_filters_keep_the_rows_pyarrow_keeps(lake, text, arrow_filter):
    catalog, kwargs, _ = lake
    table = catalog.create_table("db.n", schema=NULLS_AND_NANS.schema)
    table.append(NULLS_AND_NANS.slice(0, 3))
    table.append(NULLS_AND_NANS.slice(3))
    got = streamscope.read_iceberg(table_identifier="db.n", catalog_kwargs=kwargs).filter(expr=text).take_all()
    expected = table.scan().to_arrow().filter(arrow_filter).to_pylist()
    key = lambda r: (str(r["id"]), str(r["s"]))  # noqa: E731
    assert sorted(map(str, sorted(got, key=key))) == sorted(map(str, sorted(expected, key=key)))


def test_projection_is_pushed_down_in_the_order_asked(three_files):
    table, kwargs = three_files
    ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs).select_columns(["score", "id"])
    assert "columns=['score', 'id']" in _optimized_source(ds).pushdown_summary()
    assert ds.schema().names == ["score", "id"]
    out = ds.to_arrow()
    assert out.column_names == ["score", "id"]
    expected = table.scan(selected_fields=("id", "score")).to_arrow()
    assert _sorted(out.to_pylist()) == _sorted(expected.select(["score", "id"]).to_pylist())


def test_row_filter_and_selected_fields_as_ray_takes_them(three_files):
    table, kwargs = three_files
    with pytest.warns(DeprecationWarning):
        ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, selected_fields=("id", "name"),
                                      row_filter=GreaterThanOrEqual("id", 290))
    expected = table.scan(row_filter=GreaterThanOrEqual("id", 290), selected_fields=("id", "name")).to_arrow()
    assert ds.schema().names == ["id", "name"]
    assert _sorted(ds.take_all()) == _sorted(expected.to_pylist())
    with pytest.warns(DeprecationWarning):
        text = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs,
                                        row_filter="id < 3 and name = 'n1'")
    assert text.take_all() == table.scan(row_filter="id < 3 and name = 'n1'").to_arrow().to_pylist()


def test_limit_and_scan_kwargs(three_files):
    table, kwargs = three_files
    ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, scan_kwargs={"limit": 7})
    assert ds.count() == 7 and len(ds.take_all()) == 7
    limited = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs).limit(150)
    assert len(_optimized_source(limited).get_read_tasks(8)) == 2  # the third file is not needed
    assert limited.count() == 150
    insensitive = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs,
                                           scan_kwargs={"case_sensitive": False})
    assert insensitive.filter(expr="id == 5").count() == 1


def test_snapshot_id_reads_the_table_as_it_was(three_files):
    table, kwargs = three_files
    first = table.snapshots()[0].snapshot_id
    ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, snapshot_id=first)
    assert ds.count() == 100
    assert _sorted(ds.take_all()) == _sorted(table.scan(snapshot_id=first).to_arrow().to_pylist())
    assert f"snapshot_id={first}" in ds._plan.dag.datasource.pushdown_summary()


def _add_position_deletes(table, data_file_path: str, positions: list[int]):
    """Commit a positional delete file (what Spark or Flink write) removing ``positions`` rows."""

    class DeleteManifestWriter(ManifestWriterV2):
        def content(self):
            return ManifestContent.DELETES

        @property
        def _meta(self):
            return {**super()._meta, "content": "deletes"}

    class AddDeleteFiles(_FastAppendFiles):
        def new_manifest_writer(self, spec):
            return DeleteManifestWriter(spec, self.schema(), self.new_manifest_output(), self._snapshot_id,
                                        self._compression)

    path = f"{table.location_provider().data_path}/pos-deletes-1.parquet"
    local = path.removeprefix("file://")
    pq.write_table(pa.table({"file_path": [data_file_path] * len(positions), "pos": pa.array(positions, pa.int64())}),
                   local)
    delete_file = DataFile.from_args(content=DataFileContent.POSITION_DELETES, file_path=path,
                                     file_format=FileFormat.PARQUET, partition=Record(), record_count=len(positions),
                                     file_size_in_bytes=os.path.getsize(local))
    delete_file.spec_id = 0
    txn = table.transaction()
    producer = AddDeleteFiles(operation=Operation.DELETE, transaction=txn, io=table.io)
    producer.append_data_file(delete_file)
    producer.commit()
    txn.commit_transaction()


def test_positional_deletes_are_honoured(three_files):
    table, kwargs = three_files
    target = sorted(t.file.file_path for t in table.scan().plan_files())[0]
    _add_position_deletes(table, target, [0, 1, 5])
    table = table.refresh()
    expected = table.scan().to_arrow()
    assert expected.num_rows == 297  # PyIceberg applies them
    ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs)
    assert ds._plan.dag.datasource.num_rows() is None  # the manifests' counts no longer hold
    assert ds.count() == 297
    assert _sorted(ds.take_all()) == _sorted(expected.to_pylist())


def test_partition_filter_prunes_files_and_keeps_exact_counts(lake):
    catalog, kwargs, _ = lake
    schema = Schema(NestedField(1, "id", LongType()), NestedField(2, "day", StringType()),
                    NestedField(3, "v", DoubleType()))
    spec = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="day"))
    table = catalog.create_table("db.p", schema=schema, partition_spec=spec)
    data = pa.table({"id": pa.array(range(12), pa.int64()), "day": ["mon", "tue", "wed"] * 4,
                     "v": [float(i) for i in range(12)]})
    streamscope.from_arrow(data).write_iceberg("db.p", catalog_kwargs=kwargs)
    table = table.refresh()
    assert len(list(table.scan().plan_files())) >= 3
    ds = streamscope.read_iceberg(table_identifier="db.p", catalog_kwargs=kwargs).filter(expr="day == 'tue'")
    source = _optimized_source(ds)
    assert all(len(t.input_files) == 1 for t in source.get_read_tasks(8))
    assert source.num_rows() == 4  # whole partitions match: counted from the manifests
    assert sorted(r["id"] for r in ds.take_all()) == [1, 4, 7, 10]


def test_read_errors_name_the_connector_and_table(three_files, tmp_path):
    _, kwargs = three_files
    with pytest.raises(streamscope.DataSourceError, match=r"read_iceberg: table 'db.nope' not found in namespace 'db'"):
        streamscope.read_iceberg(table_identifier="db.nope", catalog_kwargs=kwargs)
    with pytest.raises(streamscope.DataSourceError, match=r"namespace 'other' does not exist"):
        streamscope.read_iceberg(table_identifier="other.t", catalog_kwargs=kwargs)
    bad = {"type": "sql", "uri": f"sqlite:///{tmp_path}/no/such/dir/catalog.db"}
    with pytest.raises(streamscope.DataSourceError,
                       match=r"read_iceberg: cannot open Iceberg catalog 'default' for table 'db.t'"):
        streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=bad)
    with pytest.warns(DeprecationWarning), \
            pytest.raises(ValueError, match=r"read_iceberg: cannot parse row_filter='id >>> 3' for table 'db.t'"):
        streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, row_filter="id >>> 3")
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=r"row_filter .* does not fit table 'db.t'"):
        streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, row_filter="nope > 1")
    with pytest.raises(streamscope.DataSourceError, match=r"table 'db.t' has no snapshot 42"):
        streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, snapshot_id=42)
    with pytest.raises(ValueError, match=r"scan_kwargs \['bogus'\]"):
        streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, scan_kwargs={"bogus": 1})
    with pytest.raises(ValueError, match=r"scan_kwargs\['row_filter'\]"):
        streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, scan_kwargs={"row_filter": "id > 1"})


def test_catalog_objects(three_files, lake):
    catalog, _, _ = lake
    table, kwargs = three_files
    assert streamscope.read_iceberg(table_identifier="db.t", catalog=catalog).count() == 300

    class Resolved:  # the shape of Ray's ResolvedSource
        catalog_kwargs = kwargs
        table_identifier = "db.t"

    class RayStyleCatalog:  # Ray Data's Catalog protocol: resolve(table, reader=, mode=)
        def resolve(self, table, *, reader, mode):
            assert str(getattr(reader, "value", reader)) == "iceberg"
            return Resolved()

    assert streamscope.read_iceberg(table_identifier="main.db.t", catalog=RayStyleCatalog()).count() == 300
    with pytest.raises(TypeError, match="catalog must be a pyiceberg Catalog"):
        streamscope.read_iceberg(table_identifier="db.t", catalog="sqlite:///x")
    with pytest.raises(ValueError, match="either catalog .* or catalog_kwargs"):
        streamscope.read_iceberg(table_identifier="db.t", catalog=catalog, catalog_kwargs=kwargs)


def test_missing_pyiceberg_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyiceberg", None)
    with pytest.raises(ImportError, match=r"read_iceberg needs the 'pyiceberg' package.*streamscope\[iceberg\]"):
        streamscope.read_iceberg(table_identifier="db.t")
    with pytest.raises(ImportError, match=r"write_iceberg needs the 'pyiceberg' package.*streamscope\[iceberg\]"):
        streamscope.range(3).write_iceberg("db.t")


# ---- writes --------------------------------------------------------------------------------------
@pytest.fixture
def empty_table(lake):
    catalog, kwargs, warehouse = lake
    catalog.create_table("db.t", schema=SCHEMA)
    return catalog, kwargs, warehouse


def test_append_commits_one_snapshot_with_properties(empty_table):
    catalog, kwargs, _ = empty_table
    data = _rows(0, 50)
    streamscope.from_arrow(data).repartition(3).write_iceberg("db.t", catalog_kwargs=kwargs, concurrency=2,
                                                             snapshot_properties={"job": "nightly"})
    table = catalog.load_table("db.t")
    assert len(table.snapshots()) == 1
    snapshot = table.current_snapshot()
    assert snapshot.summary.operation == Operation.APPEND and snapshot.summary["job"] == "nightly"
    assert int(snapshot.summary["added-records"]) == 50
    assert _sorted(table.scan().to_arrow().to_pylist()) == _sorted(data.to_pylist())
    streamscope.from_arrow(_rows(50, 10)).write_iceberg("db.t", catalog_kwargs=kwargs)
    assert len(catalog.load_table("db.t").snapshots()) == 2
    assert streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs).count() == 60


def test_overwrite_with_a_filter_replaces_only_matching_rows(empty_table):
    catalog, kwargs, _ = empty_table
    streamscope.from_arrow(_rows(0, 20)).write_iceberg("db.t", catalog_kwargs=kwargs)
    new = _rows(100, 3)
    streamscope.from_arrow(new).write_iceberg("db.t", catalog_kwargs=kwargs, mode=SaveMode.OVERWRITE,
                                              overwrite_filter=(col("id") >= 5) & (col("id") < 15),
                                              snapshot_properties={"why": "fix"})
    table = catalog.load_table("db.t")
    assert [s.summary.operation for s in table.snapshots()] == [Operation.APPEND, Operation.OVERWRITE]
    assert table.current_snapshot().summary["why"] == "fix"
    old = _rows(0, 20).to_pandas()
    expected = pd.concat([old[(old.id < 5) | (old.id >= 15)], new.to_pandas()])
    assert _sorted(table.scan().to_arrow().to_pylist()) == _sorted(
        pa.Table.from_pandas(expected, schema=SCHEMA, preserve_index=False).to_pylist())
    streamscope.from_arrow(_rows(500, 2)).write_iceberg("db.t", catalog_kwargs=kwargs, mode="overwrite")
    assert sorted(catalog.load_table("db.t").scan().to_arrow()["id"].to_pylist()) == [500, 501]


def test_upsert_on_a_join_column(empty_table):
    catalog, kwargs, _ = empty_table
    streamscope.from_arrow(_rows(0, 10)).write_iceberg("db.t", catalog_kwargs=kwargs)
    changes = pa.table({"id": pa.array([3, 7, 42], pa.int64()), "name": ["three", "seven", "new"],
                        "score": [0.5, None, 4.2]}, schema=SCHEMA)
    streamscope.from_arrow(changes).write_iceberg("db.t", catalog_kwargs=kwargs, mode=SaveMode.UPSERT,
                                                  upsert_kwargs={"join_cols": ["id"]})
    table = catalog.load_table("db.t")
    assert len(table.snapshots()) == 2
    old = _rows(0, 10).to_pandas().set_index("id")
    new = changes.to_pandas().set_index("id")
    expected = pd.concat([old.drop(index=[i for i in new.index if i in old.index]), new]).reset_index()
    got = table.scan().to_arrow().to_pandas().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected.sort_values("id").reset_index(drop=True), check_dtype=False)


def test_new_columns_are_added_in_the_same_commit(empty_table):
    catalog, kwargs, _ = empty_table
    row = {"id": 1, "name": "a", "score": 1.0, "extra": "x"}
    streamscope.from_items([row]).write_iceberg("db.t", catalog_kwargs=kwargs)
    table = catalog.load_table("db.t")
    assert table.schema().find_field("extra").field_type == StringType()
    assert table.scan().to_arrow().to_pylist() == [row]


def test_failing_udf_mid_write_leaves_the_table_and_storage_as_before(empty_table):
    catalog, kwargs, warehouse = empty_table
    streamscope.from_arrow(_rows(0, 5)).write_iceberg("db.t", catalog_kwargs=kwargs)
    before_snapshots = [s.snapshot_id for s in catalog.load_table("db.t").snapshots()]
    before_files = _data_files(warehouse)
    data_dir = str(warehouse / "db" / "t" / "data")

    def fail_on_last_block(batch):
        if 39 in batch["id"].to_pylist():  # let other blocks' files appear first (bounded wait), then fail
            import time

            deadline = time.monotonic() + 10
            while len(os.listdir(data_dir)) <= len(before_files) and time.monotonic() < deadline:
                time.sleep(0.05)
            raise RuntimeError("bad row")
        return batch

    ds = streamscope.from_arrow(_rows(0, 40)).repartition(4).map_batches(fail_on_last_block, batch_format="pyarrow")
    with pytest.raises(Exception, match="bad row"):
        ds.write_iceberg("db.t", catalog_kwargs=kwargs)
    assert [s.snapshot_id for s in catalog.load_table("db.t").snapshots()] == before_snapshots
    assert _data_files(warehouse) == before_files


def test_on_write_failed_deletes_the_files_tasks_wrote(empty_table):
    catalog, kwargs, warehouse = empty_table
    sink = IcebergDatasink("db.t", catalog_kwargs=kwargs)
    sink.on_write_start(SCHEMA)
    result = sink.write([_rows(0, 10), _rows(10, 10)], TaskContext(task_index=3))
    written = sorted(f.file_path.removeprefix("file://") for f in result.data_files)
    assert written and _data_files(warehouse) == written
    sink.on_write_failed(RuntimeError("a later task failed"))
    assert _data_files(warehouse) == []
    assert catalog.load_table("db.t").snapshots() == []


def test_write_errors_before_any_task(empty_table, tmp_path):
    catalog, kwargs, warehouse = empty_table
    one = streamscope.from_items([{"id": 1, "name": "a", "score": 1.0}])
    with pytest.raises(streamscope.DataSourceError, match=r"write_iceberg: table 'db.nope' not found"):
        one.write_iceberg("db.nope", catalog_kwargs=kwargs)
    with pytest.raises(streamscope.DataSourceError, match=r"write_iceberg: cannot open Iceberg catalog"):
        one.write_iceberg("db.t", catalog_kwargs={"type": "sql", "uri": f"sqlite:///{tmp_path}/no/dir/c.db"})
    with pytest.raises(ValueError, match=r"mode='error' is not supported"):
        one.write_iceberg("db.t", catalog_kwargs=kwargs, mode=SaveMode.ERROR)
    with pytest.raises(ValueError, match=r"overwrite_filter is for mode=SaveMode.OVERWRITE"):
        one.write_iceberg("db.t", catalog_kwargs=kwargs, overwrite_filter=col("id") > 1)
    with pytest.raises(ValueError, match=r"upsert_kwargs \['when_matched_update_all'\] are not supported"):
        one.write_iceberg("db.t", catalog_kwargs=kwargs, mode="upsert",
                          upsert_kwargs={"when_matched_update_all": False})
    with pytest.raises(ValueError, match=r"needs upsert_kwargs=\{'join_cols'"):
        one.write_iceberg("db.t", catalog_kwargs=kwargs, mode="upsert")
    with pytest.raises(streamscope.DataSourceError, match=r"do not fit table 'db.t'.*id: long -> string"):
        streamscope.from_items([{"id": "x", "name": "a", "score": 1.0}]).write_iceberg("db.t", catalog_kwargs=kwargs)
    with pytest.raises(ValueError, match=r"catalog_kwargs cannot be given together with catalog"):
        class Resolver:
            def resolve(self, table, *, reader, mode):
                raise AssertionError("not called")
        one.write_iceberg("db.t", catalog_kwargs=kwargs, catalog=Resolver())
    assert catalog.load_table("db.t").snapshots() == [] and _data_files(warehouse) == []


def test_required_columns_refuse_nulls(lake):
    catalog, kwargs, warehouse = lake
    catalog.create_table("db.r", schema=Schema(NestedField(1, "id", LongType(), required=True),
                                               NestedField(2, "v", StringType(), required=False)))
    streamscope.from_items([{"id": 1, "v": "a"}]).write_iceberg("db.r", catalog=catalog)
    table = catalog.load_table("db.r")
    assert table.schema().find_field("id").required  # the write did not relax it
    with pytest.raises(Exception, match=r"column 'id' of table 'db.r' is required, but the data has 1 null"):
        streamscope.from_arrow(pa.table({"id": pa.array([None], pa.int64()), "v": ["b"]})).write_iceberg(
            "db.r", catalog=catalog)
    assert len(catalog.load_table("db.r").snapshots()) == 1
    assert _data_files(warehouse, "r") == sorted(
        t.file.file_path.removeprefix("file://") for t in table.scan().plan_files())


def test_write_then_time_travel_read(empty_table):
    catalog, kwargs, _ = empty_table
    streamscope.from_arrow(_rows(0, 5)).write_iceberg("db.t", catalog_kwargs=kwargs)
    streamscope.from_arrow(_rows(5, 5)).write_iceberg("db.t", catalog_kwargs=kwargs, mode="overwrite")
    first, second = catalog.load_table("db.t").snapshots()
    old = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs, snapshot_id=first.snapshot_id)
    assert sorted(r["id"] for r in old.take_all()) == [0, 1, 2, 3, 4]
    now = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs)
    assert sorted(r["id"] for r in now.take_all()) == [5, 6, 7, 8, 9]


def test_empty_table_and_empty_write(empty_table):
    catalog, kwargs, warehouse = empty_table
    ds = streamscope.read_iceberg(table_identifier="db.t", catalog_kwargs=kwargs)
    assert ds.count() == 0 and ds.take_all() == []
    assert ds.schema().names == ["id", "name", "score"]
    streamscope.from_arrow(_rows(0, 5)).filter(expr="id > 100").write_iceberg("db.t", catalog_kwargs=kwargs)
    assert catalog.load_table("db.t").snapshots() == [] and _data_files(warehouse) == []  # as Ray: no snapshot


def test_upsert_defaults_to_the_identifier_fields_and_reads_required_columns(lake):
    catalog, kwargs, _ = lake
    schema = Schema(NestedField(1, "k", LongType(), required=True), NestedField(2, "v", StringType()),
                    identifier_field_ids=[1])
    table = catalog.create_table("db.u", schema=schema)
    first = pa.table({"k": pa.array([1, 2, 3], pa.int64()), "v": ["a", "b", "c"]})
    streamscope.from_arrow(first).write_iceberg("db.u", catalog_kwargs=kwargs)
    streamscope.from_arrow(pa.table({"k": pa.array([2, 4], pa.int64()), "v": ["B", "D"]})).write_iceberg(
        "db.u", catalog_kwargs=kwargs, mode=SaveMode.UPSERT)
    expected = table.refresh().scan().to_arrow()
    assert sorted(expected.to_pylist(), key=lambda r: r["k"]) == [
        {"k": 1, "v": "a"}, {"k": 2, "v": "B"}, {"k": 3, "v": "c"}, {"k": 4, "v": "D"}]
    ds = streamscope.read_iceberg(table_identifier="db.u", catalog_kwargs=kwargs)
    # PyIceberg's Arrow types, large_string included (as Ray Data reports them); k stays not null
    assert ds.schema().base_schema == schema_to_pyarrow(table.schema(), include_field_ids=False)
    assert not ds.schema().base_schema.field("k").nullable
    assert sorted(ds.take_all(), key=lambda r: r["k"]) == sorted(expected.to_pylist(), key=lambda r: r["k"])
