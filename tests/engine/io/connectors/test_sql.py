"""read_sql and Dataset.write_sql against SQLite (stdlib sqlite3) and a real PostgreSQL server
(psycopg 3), started once for the module by ``postgres_server.py``.

Expected values come from sqlite3/psycopg queries, pandas and pyarrow; "without pushdown" results
come from the same plan with a UDF between the read and the filter (which stops pushdown), so the
pyarrow evaluation of the filter is the reference.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import subprocess
import sys
import zlib

import pandas as pd
import pyarrow as pa
import pytest

import streamscope
from streamscope.engine.io.sql_datasink import PlainInsert
from streamscope.engine.io.sql_datasource import SQLDatasource

from .postgres_server import postgres_server

psycopg = pytest.importorskip("psycopg")  # the sql extra; the dev extra installs it, so CI runs these


# ---- helpers ---------------------------------------------------------------------------------------
def _shard_hash(value):
    return None if value is None else zlib.crc32(str(value).encode())  # NULL in, NULL out, as SQL's hashes


def sqlite_with_hash(path):
    """A sqlite3 connection with a hash function H (SQLite has no MD5) and CONCAT (3.44+ has it)."""
    conn = sqlite3.connect(path)
    conn.create_function("H", 1, _shard_hash, deterministic=True)
    conn.create_function("CONCAT", -1, lambda *parts: "".join("" if p is None else str(p) for p in parts))
    return conn


class SpyCursor(sqlite3.Cursor):
    calls: list = []

    def execute(self, sql, params=()):
        SpyCursor.calls.append(("execute", sql, params))
        return super().execute(sql, params)

    def fetchmany(self, size=None):
        SpyCursor.calls.append(("fetchmany", size))
        return super().fetchmany(size)

    def fetchall(self):
        raise AssertionError("fetchall must not be called: rows are fetched in chunks")


class SpyConnection(sqlite3.Connection):
    def cursor(self, factory=SpyCursor):
        return super().cursor(factory)


def spy_sqlite(path):
    return sqlite3.connect(path, factory=SpyConnection)


def _blocks(source, parallelism=1):
    """Run the read tasks in this process (the spies record here)."""
    return [block for task in source.get_read_tasks(parallelism) for block in task()]


def _pushed_source(ds):
    """The datasource of the optimized plan's read (what the pushdowns made of it)."""
    from streamscope.engine.logical.optimizer import optimize

    return optimize(ds._plan).plan.dag.datasource


def _no_pushdown(ds):
    return ds.map_batches(lambda batch: batch, batch_format="pyarrow")


def _sorted(rows, key="id"):
    return sorted(rows, key=lambda r: (r[key] is None, r[key]))


@pytest.fixture
def people_db(tmp_path):
    path = str(tmp_path / "people.db")
    rows = [(i, f"name{i}" if i % 7 else None, i / 4, (i % 5) if i % 3 else None, bytes([i % 256]))
            for i in range(300)]
    rows.append((300, "o'brien", 1.5, 1, b""))
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people(id INTEGER, name TEXT, score REAL, grp INTEGER, raw BLOB)")
        conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)", rows)
    return path


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute("CREATE TABLE items(id int, name text, price numeric(10, 2), qty int, ok bool, "
                         "at timestamptz)")
            conn.execute("INSERT INTO items SELECT i, CASE WHEN i % 9 = 0 THEN NULL ELSE 'item' || i END, "
                         "i * 1.25, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 10 END, i % 2 = 0, "
                         "TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1 hour' FROM generate_series(0, 399) i")
        yield server


def pg_factory(server, **overrides):
    return functools.partial(psycopg.connect, server.conninfo(**overrides))


def pg_rows(server, sql, params=None):
    with psycopg.connect(server.conninfo()) as conn:
        cur = conn.execute(sql, params)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


# ---- SQLite: reading -----------------------------------------------------------------------------------
def test_read_matches_sqlite_and_pandas(people_db):
    connect = functools.partial(sqlite3.connect, people_db)
    ds = streamscope.read_sql("SELECT * FROM people", connect)
    table = ds.to_arrow()
    expected = pd.read_sql_query("SELECT * FROM people", sqlite3.connect(people_db))
    assert table.column_names == list(expected.columns)
    assert table.schema.types == [pa.int64(), pa.string(), pa.float64(), pa.int64(), pa.binary()]
    got = table.to_pandas()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_column_names_come_from_the_cursor_description_and_params_are_bound(people_db):
    connect = functools.partial(sqlite3.connect, people_db)
    sql = "SELECT grp, COUNT(*), MAX(id) + 1 AS top FROM people WHERE id < ? GROUP BY grp ORDER BY grp"
    rows = streamscope.read_sql(sql, connect, sql_params=(100,)).take_all()
    cur = sqlite3.connect(people_db).execute(sql, (100,))
    names = [d[0] for d in cur.description]
    assert names == ["grp", "COUNT(*)", "top"]
    assert rows == [dict(zip(names, r)) for r in cur.fetchall()]
    named = streamscope.read_sql("SELECT id FROM people WHERE id BETWEEN :lo AND :hi", connect,
                                 sql_params={"lo": 5, "hi": 7})
    assert named.take_all() == [{"id": 5}, {"id": 6}, {"id": 7}]


def test_empty_result_keeps_the_column_names(people_db):
    ds = streamscope.read_sql("SELECT id, name FROM people WHERE id < 0", functools.partial(sqlite3.connect, people_db))
    assert ds.count() == 0
    assert ds.schema().names == ["id", "name"]


def test_a_column_null_in_the_first_chunk_gets_its_type_later(tmp_path):
    path = str(tmp_path / "late.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE late(id INTEGER, v INTEGER)")
        conn.executemany("INSERT INTO late VALUES (?, ?)", ((i, i if 1500 <= i < 2500 else None) for i in range(5000)))
    table = streamscope.read_sql("SELECT * FROM late", functools.partial(sqlite3.connect, path)).to_arrow()
    assert table.schema.field("v").type == pa.int64()
    assert table.sort_by("id").column("v").to_pylist() == [i if 1500 <= i < 2500 else None for i in range(5000)]


def test_values_pyarrow_cannot_hold_in_one_column_name_the_column(tmp_path):
    connect = functools.partial(sqlite3.connect, str(tmp_path / "m.db"))
    with pytest.raises(Exception, match="read_sql: column 'v' has values pyarrow cannot hold in one column .int, str."):
        streamscope.read_sql("SELECT 1 AS v UNION ALL SELECT 'a'", connect).take_all()


def test_a_task_fetches_in_chunks_and_yields_bounded_blocks(tmp_path):
    path = str(tmp_path / "wide.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE wide(id INTEGER, payload TEXT)")
        conn.executemany("INSERT INTO wide VALUES (?, ?)", ((i, "x" * 400 + str(i)) for i in range(30_000)))
    SpyCursor.calls = []
    blocks = _blocks(SQLDatasource("SELECT * FROM wide", functools.partial(spy_sqlite, path)))
    fetches = [c[1] for c in SpyCursor.calls if c[0] == "fetchmany"]
    assert sum(b.num_rows for b in blocks) == 30_000
    assert len(blocks) >= 3 and max(b.nbytes for b in blocks) <= 6 << 20
    assert len(fetches) == len(blocks) + 1 and max(fetches) < 30_000  # the last fetch finds no more rows
    assert pa.concat_tables(blocks).column("id").to_pylist() == list(range(30_000))


def test_small_target_block_size_gives_more_blocks(tmp_path, ctx):
    path = str(tmp_path / "w.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE w(id INTEGER, payload TEXT)")
        conn.executemany("INSERT INTO w VALUES (?, ?)", ((i, "y" * 200) for i in range(20_000)))
    ctx.target_max_block_size = 512 << 10
    ds = streamscope.read_sql("SELECT * FROM w", functools.partial(sqlite3.connect, path)).materialize()
    assert ds.count() == 20_000 and ds.num_blocks() >= 5


def test_limit_stops_fetching_early(tmp_path):
    path = str(tmp_path / "l.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE l(id INTEGER)")
        conn.executemany("INSERT INTO l VALUES (?)", ((i,) for i in range(50_000)))
    assert streamscope.read_sql("SELECT id FROM l", functools.partial(sqlite3.connect, path)).limit(7).take_all() == \
        [{"id": i} for i in range(7)]
    SpyCursor.calls = []
    source = SQLDatasource("SELECT id FROM l", functools.partial(spy_sqlite, path))
    (task,) = source.get_read_tasks(1, per_task_row_limit=7)
    assert sum(b.num_rows for b in task()) == 7
    assert [c[1] for c in SpyCursor.calls if c[0] == "fetchmany"] == [7]


# ---- SQLite: shards ----------------------------------------------------------------------------------------
def test_shard_keys_read_every_row_once_in_n_tasks(people_db):
    factory = functools.partial(sqlite_with_hash, people_db)
    ds = streamscope.read_sql("SELECT * FROM people", factory, shard_keys=["name"], shard_hash_fn="H",
                              override_num_blocks=4).materialize()
    assert ds.num_blocks() == 4
    expected = sqlite3.connect(people_db).execute("SELECT id FROM people").fetchall()
    assert sorted(r["id"] for r in ds.take_all()) == sorted(r[0] for r in expected)  # NULL names included


def test_parallelism_is_honoured_and_small_reads_use_fewer_tasks(people_db):
    factory = functools.partial(sqlite_with_hash, people_db)
    three = streamscope.read_sql("SELECT * FROM people", factory, shard_keys=["id", "grp"], shard_hash_fn="H",
                                 parallelism=3).materialize()
    assert three.num_blocks() == 3 and three.count() == 301
    small = streamscope.read_sql("SELECT * FROM people WHERE id < 120", factory, shard_keys=["id"],
                                 shard_hash_fn="H", override_num_blocks=8).materialize()
    assert small.num_blocks() == 3  # Ray's floor: at most one task per 50 rows
    assert sorted(r["id"] for r in small.take_all()) == list(range(120))


def test_override_num_blocks_needs_shard_keys_and_a_hash_the_database_has(people_db):
    connect = functools.partial(sqlite3.connect, people_db)
    with pytest.raises(ValueError, match="shard_keys must be provided when override_num_blocks > 1"):
        streamscope.read_sql("SELECT * FROM people", connect, override_num_blocks=4)
    with pytest.raises(ValueError, match="(?s)Database does not support sharding.*no such function: MD5"):
        streamscope.read_sql("SELECT * FROM people", connect, shard_keys=["id"], override_num_blocks=4)


def test_unsupported_hash_falls_back_to_one_task_with_a_warning(people_db, caplog):
    connect = functools.partial(sqlite3.connect, people_db)
    ds = streamscope.read_sql("SELECT * FROM people", connect, shard_keys=["id"])  # MD5: SQLite has none
    with caplog.at_level(logging.WARNING, logger="streamscope.engine.io.sql_datasource"):
        materialized = ds.materialize()
    assert materialized.num_blocks() == 1 and materialized.count() == 301
    assert any("reading in one task" in r.getMessage() and "MD5" in r.getMessage() for r in caplog.records)


# ---- SQLite: pushdown ----------------------------------------------------------------------------------------
PREDICATES = [
    "score > 20 and name != 'name3'",
    "not (grp in [1, 2])",
    "grp in [1, null]",
    "grp != 1 or name is null",
    "not (score >= 10 or grp is null)",
    "id * 2 + 1 < 41 and -score < -5",
    "name == \"o'brien\"",
    "grp not in []",
    "id % 3 == 0 and score < 30",  # % stays a block filter
]


@pytest.mark.parametrize("predicate", PREDICATES)
def test_pushed_filter_keeps_the_rows_pyarrow_keeps(people_db, predicate):
    connect = functools.partial(sqlite3.connect, people_db)
    ds = streamscope.read_sql("SELECT * FROM people", connect)
    pushed = ds.filter(expr=predicate).select_columns(["id", "name", "grp"])
    reference = _no_pushdown(ds).filter(expr=predicate).select_columns(["id", "name", "grp"])
    assert _pushed_source(pushed).pushdown_summary()  # something went into the query
    assert _sorted(pushed.take_all()) == _sorted(reference.take_all())


def test_pushdown_uses_bound_parameters(people_db):
    connect = functools.partial(spy_sqlite, people_db)
    ds = (streamscope.read_sql("SELECT * FROM people", connect)
          .filter(expr="name == \"o'brien\" and id % 2 == 0").select_columns(["id", "score"]))
    source = _pushed_source(ds)
    assert source.pushdown_summary() == ["columns=['id', 'score']",
                                         "filter=name == \"o'brien\" (SQL WHERE, bound parameters)",
                                         "row filter=id % 2 == 0"]
    SpyCursor.calls = []
    blocks = _blocks(source)
    ((_, sql, params),) = [c for c in SpyCursor.calls if c[0] == "execute"]
    assert "o'brien" not in sql and "o''brien" not in sql and list(params) == ["o'brien"]
    assert sql.startswith('SELECT "id", "score" FROM (') and " WHERE " in sql
    assert pa.concat_tables(blocks).to_pylist() == [{"id": 300, "score": 1.5}]


def test_pushdown_combines_with_user_params_and_shards(people_db):
    factory = functools.partial(sqlite_with_hash, people_db)
    sql = "SELECT * FROM people WHERE id >= :lo"
    ds = streamscope.read_sql(sql, factory, sql_params={"lo": 100}, shard_keys=["id"], shard_hash_fn="H",
                              override_num_blocks=2)
    got = ds.filter(expr="grp == 3").select_columns(["id"]).take_all()
    expected = pd.read_sql_query("SELECT id FROM people WHERE id >= 100 AND grp = 3", sqlite3.connect(people_db))
    assert sorted(r["id"] for r in got) == sorted(expected["id"])


def test_explain_shows_the_pushdowns(people_db, capsys):
    ds = streamscope.read_sql("SELECT * FROM people", functools.partial(sqlite3.connect, people_db))
    ds.filter(expr="score > 3 and id % 2 == 1").select_columns(["id"]).explain()
    out = capsys.readouterr().out
    assert "ReadSQL (columns=['id']; filter=score > 3 (SQL WHERE, bound parameters); row filter=id % 2 == 1)" in out


# ---- SQLite: writing --------------------------------------------------------------------------------------------
def _stage_tables_sqlite(path):
    return sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE name LIKE 'streamscope_stage%'").fetchall()


def _with_names(batch):
    return {"id": batch["id"], "name": [f"n{i}" for i in batch["id"]]}


def test_write_then_read_round_trip_sqlite(tmp_path):
    path = str(tmp_path / "w.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE w(id INTEGER, name TEXT)")
    connect = functools.partial(sqlite3.connect, path)
    streamscope.range(2500, override_num_blocks=5).map_batches(_with_names).write_sql("INSERT INTO w VALUES (?, ?)", connect)
    assert sqlite3.connect(path).execute("SELECT id, name FROM w ORDER BY id").fetchall() == \
        [(i, f"n{i}") for i in range(2500)]
    back = streamscope.read_sql("SELECT * FROM w", connect).to_pandas().sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(back, pd.DataFrame({"id": range(2500), "name": [f"n{i}" for i in range(2500)]}),
                                  check_dtype=False)
    assert _stage_tables_sqlite(path) == []


def _fail_on_row_300(batch):
    if 300 in batch["id"]:
        raise RuntimeError("boom on the block holding row 300")
    return batch


def test_failed_write_leaves_the_sqlite_table_unchanged(tmp_path):
    path = str(tmp_path / "f.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE f(id INTEGER)")
        conn.executemany("INSERT INTO f VALUES (?)", [(-1,), (-2,)])
    ds = streamscope.range(800, override_num_blocks=8).map_batches(_fail_on_row_300)
    with pytest.raises(Exception, match="boom on the block holding row 300"):
        ds.write_sql("INSERT INTO f VALUES (?)", functools.partial(sqlite3.connect, path))
    assert sqlite3.connect(path).execute("SELECT id FROM f ORDER BY id").fetchall() == [(-2,), (-1,)]
    assert _stage_tables_sqlite(path) == []


def test_rows_wait_in_the_stage_until_the_write_completes(tmp_path):
    from streamscope.datasource import WriteResult
    from streamscope.engine.io.sql_datasink import SQLDatasink

    path = str(tmp_path / "s.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE s(id INTEGER)")
    target = lambda: sqlite3.connect(path).execute("SELECT id FROM s ORDER BY id").fetchall()  # noqa: E731
    for outcome in ("failed", "complete"):
        sink = SQLDatasink("INSERT INTO s VALUES (?)", functools.partial(sqlite3.connect, path))
        sink.on_write_start()
        assert sink.staged and len(_stage_tables_sqlite(path)) == 1
        assert sink.write([pa.table({"id": [1, 2]}), pa.table({"id": [3]})], None) == 3
        assert target() == [] and _stage_tables_sqlite(path) != []
        if outcome == "failed":
            sink.on_write_failed(RuntimeError("a later task failed"))
            assert target() == []
        else:
            sink.on_write_complete(WriteResult(3, 24, [3]))
            assert target() == [(1,), (2,), (3,)]
        assert _stage_tables_sqlite(path) == []


def test_column_list_inserts_get_the_tables_defaults(tmp_path):
    path = str(tmp_path / "d.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE d(pk INTEGER PRIMARY KEY, id INTEGER, name TEXT, tag TEXT DEFAULT 'dflt')")
    streamscope.range(5).map_batches(_with_names).write_sql("INSERT INTO d (id, name) VALUES (?, ?)",
                                                            functools.partial(sqlite3.connect, path))
    rows = sqlite3.connect(path).execute("SELECT pk IS NOT NULL, id, name, tag FROM d ORDER BY id").fetchall()
    assert rows == [(1, i, f"n{i}", "dflt") for i in range(5)]


def test_statements_that_are_not_plain_inserts_commit_per_task(tmp_path):
    assert PlainInsert.parse("INSERT INTO u VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name") is None
    path = str(tmp_path / "u.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO u VALUES (1, 'old')")
    streamscope.from_items([{"id": 1, "name": "new"}, {"id": 2, "name": "two"}]).write_sql(
        "INSERT INTO u VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name",
        functools.partial(sqlite3.connect, path))
    assert sqlite3.connect(path).execute("SELECT * FROM u ORDER BY id").fetchall() == [(1, "new"), (2, "two")]
    assert _stage_tables_sqlite(path) == []


def test_plain_insert_parsing():
    p = PlainInsert.parse('insert into "My Table" VALUES (?, \'a)b\');')
    assert p is not None and p.table == '"My Table"' and p.columns is None
    assert p.move_statement("s") == 'INSERT INTO "My Table" SELECT * FROM s'
    assert PlainInsert.parse("INSERT INTO t VALUES (?), (?)") is None
    assert PlainInsert.parse("INSERT INTO t SELECT * FROM x") is None
    assert PlainInsert.parse("INSERT INTO t VALUES (?) RETURNING id") is None
    assert PlainInsert.parse("UPDATE t SET a = ?") is None
    assert PlainInsert.parse("INSERT INTO s.t (a) VALUES (?)").stage_name().startswith("s.streamscope_stage_")


# ---- SQLite: errors and arguments ------------------------------------------------------------------------------
def test_bad_sql_and_missing_tables_name_the_connector(people_db):
    connect = functools.partial(sqlite3.connect, people_db)
    with pytest.raises(Exception, match="(?s)read_sql: the query failed on SQLite database .*people.db.*syntax error"):
        streamscope.read_sql("SELEC * FROM people", connect).take_all()
    with pytest.raises(Exception, match="read_sql: the query failed .*no such table: nope"):
        streamscope.read_sql("SELECT * FROM nope", connect).take_all()
    with pytest.raises(streamscope.DataSourceError, match="write_sql: cannot write into table nope .*no such table"):
        streamscope.range(3).write_sql("INSERT INTO nope VALUES (?)", connect)
    with pytest.raises(Exception, match="write_sql: executing 'INSERT INTO people VALUE .*syntax error"):
        streamscope.range(3).write_sql("INSERT INTO people VALUE (?)", connect)


def test_connection_factory_must_be_picklable(people_db):
    conn = sqlite3.connect(people_db)
    with pytest.raises(TypeError, match="read_sql: connection_factory cannot be pickled"):
        streamscope.read_sql("SELECT 1", lambda: conn)
    with pytest.raises(TypeError, match="write_sql: connection_factory cannot be pickled"):
        streamscope.range(1).write_sql("INSERT INTO people (id) VALUES (?)", lambda: conn)
    with pytest.raises(TypeError, match="shard_keys must be a list"):
        streamscope.read_sql("SELECT 1", functools.partial(sqlite3.connect, people_db), shard_keys="id")


def test_task_arguments_are_checked_and_honoured(people_db):
    connect = functools.partial(sqlite_with_hash, people_db)
    with pytest.raises(TypeError, match="read_sql: 'no_such_option' is not a Ray remote argument"):
        streamscope.read_sql("SELECT 1", connect, ray_remote_args={"no_such_option": 1})
    ds = streamscope.read_sql("SELECT id FROM people", connect, shard_keys=["id"], shard_hash_fn="H",
                              override_num_blocks=3, num_cpus=0.5, concurrency=1)
    assert sorted(r["id"] for r in ds.take_all()) == list(range(301))


def test_sqlite_reads_and_writes_need_no_psycopg(tmp_path):
    path = str(tmp_path / "n.db")
    code = f"""
import functools, sqlite3, sys
sys.modules["psycopg"] = None  # as if the sql extra were not installed
import streamscope
with sqlite3.connect({path!r}) as conn:
    conn.execute("CREATE TABLE n(id INTEGER)")
connect = functools.partial(sqlite3.connect, {path!r})
streamscope.range(4).write_sql("INSERT INTO n VALUES (?)", connect)
print(streamscope.read_sql("SELECT id FROM n ORDER BY id", connect).take_all())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[{'id': 0}, {'id': 1}, {'id': 2}, {'id': 3}]"


# ---- PostgreSQL --------------------------------------------------------------------------------------------------
def test_pg_read_matches_psycopg(pg):
    sql = "SELECT * FROM items WHERE id < %s ORDER BY id"
    ds = streamscope.read_sql(sql, pg_factory(pg), sql_params=(50,))
    assert ds.take_all() == pg_rows(pg, sql, (50,))
    schema = ds.to_arrow().schema
    assert schema.field("id").type == pa.int64() and schema.field("ok").type == pa.bool_()
    assert pa.types.is_decimal(schema.field("price").type) and pa.types.is_timestamp(schema.field("at").type)


class SpyPGConnection(psycopg.Connection):
    cursor_names: list = []

    def cursor(self, *args, **kwargs):
        SpyPGConnection.cursor_names.append(kwargs.get("name", args[0] if args else ""))
        return super().cursor(*args, **kwargs)


def test_pg_reads_through_a_server_side_cursor_in_chunks(pg):
    SpyPGConnection.cursor_names = []
    source = SQLDatasource("SELECT i, repeat('z', 300) AS pad FROM generate_series(1, 40000) i",
                           functools.partial(SpyPGConnection.connect, pg.conninfo()))
    blocks = _blocks(source)
    assert SpyPGConnection.cursor_names == ["streamscope_read_sql"]
    assert len(blocks) >= 3 and sum(b.num_rows for b in blocks) == 40_000
    auto = functools.partial(SpyPGConnection.connect, pg.conninfo(), autocommit=True)
    assert sum(b.num_rows for b in _blocks(SQLDatasource("SELECT 1 AS one", auto))) == 1
    from psycopg.rows import dict_row

    dicts = functools.partial(psycopg.connect, pg.conninfo(), row_factory=dict_row)
    assert streamscope.read_sql("SELECT id, name FROM items WHERE id < 3 ORDER BY id", dicts).take_all() == \
        pg_rows(pg, "SELECT id, name FROM items WHERE id < 3 ORDER BY id")


def test_pg_percent_in_a_query_without_params_survives_pushdown(pg):
    sql = "SELECT * FROM items WHERE name LIKE 'item1%'"
    got = streamscope.read_sql(sql, pg_factory(pg)).filter(expr="qty > 2").select_columns(["id"]).take_all()
    expected = pg_rows(pg, "SELECT id FROM items WHERE name LIKE 'item1%%' AND qty > %s", (2,))
    assert _sorted(got) == _sorted(expected) and expected


def test_pg_shards_read_every_row_once(pg):
    ds = streamscope.read_sql("SELECT * FROM items", pg_factory(pg), shard_keys=["name", "id"],
                              shard_hash_fn="hashtext", override_num_blocks=4).materialize()
    assert ds.num_blocks() == 4
    assert sorted(r["id"] for r in ds.take_all()) == list(range(400))
    nulls = streamscope.read_sql("SELECT * FROM items", pg_factory(pg), shard_keys=["name"],
                                 shard_hash_fn="hashtext", override_num_blocks=3)
    assert sorted(r["id"] for r in nulls.take_all()) == list(range(400))  # NULL names land in shard 0
    with pytest.raises(ValueError, match="(?s)Database does not support sharding.*md5.integer. does not exist"):
        streamscope.read_sql("SELECT * FROM items", pg_factory(pg), shard_keys=["id"], override_num_blocks=4)


@pytest.mark.parametrize("predicate", ["qty > 3 and name != 'item5'", "not (qty in [1, 2])", "ok and qty is null",
                                       "qty * 2 + id >= 300 or name is null", "qty in [3, null]"])
def test_pg_pushdown_matches_no_pushdown(pg, predicate):
    ds = streamscope.read_sql("SELECT * FROM items", pg_factory(pg))
    pushed = ds.filter(expr=predicate).select_columns(["id", "qty"])
    reference = _no_pushdown(ds).filter(expr=predicate).select_columns(["id", "qty"])
    got = _sorted(pushed.take_all())
    assert got == _sorted(reference.take_all()) and got


def _pg_stage_tables(pg):
    return pg_rows(pg, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'streamscope_stage%%'")


def test_pg_write_round_trip_with_defaults(pg):
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        conn.execute("CREATE TABLE w1(pk serial PRIMARY KEY, id int, name text, tag text DEFAULT 'dflt')")
    streamscope.range(1200, override_num_blocks=4).map_batches(_with_names).write_sql(
        "INSERT INTO w1 (id, name) VALUES (%s, %s)", pg_factory(pg))
    rows = pg_rows(pg, "SELECT id, name, tag FROM w1 ORDER BY id")
    assert rows == [{"id": i, "name": f"n{i}", "tag": "dflt"} for i in range(1200)]
    back = streamscope.read_sql("SELECT id, name FROM w1", pg_factory(pg)).take_all()
    assert _sorted(back) == [{"id": i, "name": f"n{i}"} for i in range(1200)]
    assert _pg_stage_tables(pg) == []


def test_pg_failed_write_leaves_the_table_unchanged(pg):
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        conn.execute("CREATE TABLE w2(id int PRIMARY KEY)")
        conn.execute("INSERT INTO w2 VALUES (-1), (450)")
    failing = streamscope.range(800, override_num_blocks=8).map_batches(_fail_on_row_300)
    with pytest.raises(Exception, match="boom on the block holding row 300"):
        failing.write_sql("INSERT INTO w2 VALUES (%s)", pg_factory(pg))
    assert pg_rows(pg, "SELECT id FROM w2 ORDER BY id") == [{"id": -1}, {"id": 450}]
    with pytest.raises(streamscope.DataSourceError, match="(?s)write_sql: moving the written rows into w2 failed.*"
                                                          "duplicate key.*the table is unchanged"):
        streamscope.range(800, override_num_blocks=4).write_sql("INSERT INTO w2 VALUES (%s)", pg_factory(pg))
    assert pg_rows(pg, "SELECT id FROM w2 ORDER BY id") == [{"id": -1}, {"id": 450}]
    assert _pg_stage_tables(pg) == []


def test_pg_errors_name_the_connector_server_and_cause(pg):
    with pytest.raises(Exception, match=f'(?s)read_sql: the query failed on PostgreSQL server 127.0.0.1:{pg.port}.*'
                                        'relation "nope" does not exist'):
        streamscope.read_sql("SELECT * FROM nope", pg_factory(pg)).take_all()
    with pytest.raises(Exception, match='(?s)read_sql: connection_factory\\(\\) could not connect.*'
                                        f'127.0.0.1", port {pg.port}.*password authentication failed'):
        streamscope.read_sql("SELECT 1", pg_factory(pg, password="wrong")).take_all()
    closed = _closed_port()
    with pytest.raises(Exception, match=f'(?s)read_sql: connection_factory.*127.0.0.1", port {closed}.*refused'):
        streamscope.read_sql("SELECT 1", pg_factory(pg, port=closed)).take_all()
    with pytest.raises(streamscope.DataSourceError, match=f'(?s)write_sql: connection_factory.*port {closed}.*refused'):
        streamscope.range(3).write_sql("INSERT INTO items (id) VALUES (%s)", pg_factory(pg, port=closed))
    with pytest.raises(streamscope.DataSourceError, match=f'(?s)read_sql: connection_factory.*port {closed}.*refused'):
        streamscope.read_sql("SELECT 1", pg_factory(pg, port=closed), shard_keys=["x"], override_num_blocks=2)


def _closed_port():
    from .postgres_server import free_port

    return free_port()  # nothing listens there once the probe socket is closed
