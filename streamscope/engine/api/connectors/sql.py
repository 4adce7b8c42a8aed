"""``read_sql``: a dataset from a query over any Python DB API 2 connection (sqlite3, psycopg,
MySQL drivers...). ``Dataset.write_sql`` is the matching write (``api/connector_writes.py``,
``io/sql_datasink.py``).

No extra is needed: the ``connection_factory`` imports its driver itself (psycopg for PostgreSQL:
``pip install 'streamscope[sql]'``), and streamscope never imports one.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from streamscope.engine.api.read import read_datasource
from streamscope.engine.io.sql_datasource import SQLDatasource


def read_sql(sql: str, connection_factory: Callable[[], Any], *, sql_params: Optional[Any] = None,
             shard_keys: Optional[list[str]] = None, shard_hash_fn: str = "MD5", parallelism: int = -1,
             num_cpus: Optional[float] = None, num_gpus: Optional[float] = None, memory: Optional[float] = None,
             concurrency: Optional[int] = None, override_num_blocks: Optional[int] = None,
             label_selector: Optional[Dict[str, str]] = None, fallback_strategy: Optional[List[Dict[str, Any]]] = None,
             max_calls: Optional[int] = None, resources: Optional[Dict[str, float]] = None,
             accelerator_type: Optional[str] = None, runtime_env: Optional[Dict[str, Any]] = None,
             ray_remote_args: Optional[Dict[str, Any]] = None):
    """A dataset of the rows ``sql`` returns, read through connections that
    ``connection_factory()`` (no arguments, picklable: it is called in each read task) opens.

    Column names come from the cursor's description and types from the driver's Python values,
    as in Ray Data. ``sql_params`` are bound by the driver (its placeholder style: ``?`` for
    sqlite3, ``%s`` for psycopg). Rows are fetched in chunks (``fetchmany``; a server-side cursor
    for psycopg) and arrive as blocks of about 4 MiB while the query is still being read.

    Without ``shard_keys`` the query runs in one task. With them, ``override_num_blocks`` tasks
    (or as many as the run picks, at most one per 50 rows) each read the rows where
    ``MOD(ABS(<shard_hash_fn>(<keys>)), N)`` is their number; the default ``MD5`` suits MySQL;
    PostgreSQL has ``hashtext`` (text keys: several keys are ``CONCAT``-ed to text) and
    ``hashint8``. A database that cannot evaluate it reads in one task (with a warning), or fails
    naming the cause when ``override_num_blocks`` > 1 was asked for.

    ``select_columns`` and ``filter(expr=...)`` after the read become part of the query
    (``SELECT <columns> FROM (<sql>) AS t WHERE <predicate>``, literals as bound parameters);
    ``ds.explain()`` shows them. Set a connect timeout in the factory (psycopg:
    ``connect_timeout=10``) so an unreachable server fails fast.

    Examples:
        >>> import functools, os, sqlite3, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "movies.db")
        >>> with sqlite3.connect(path) as conn:
        ...     _ = conn.execute("CREATE TABLE movie(title TEXT, year INTEGER, score REAL)")
        ...     _ = conn.executemany("INSERT INTO movie VALUES (?, ?, ?)",
        ...                          [("Grail", 1975, 8.2), ("Brian", 1979, 8.0), ("Rocky II", 1979, 7.3)])
        >>> connect = functools.partial(sqlite3.connect, path)
        >>> ds = streamscope.read_sql("SELECT title, year FROM movie WHERE year >= ?", connect, sql_params=(1979,))
        >>> ds.take_all()
        [{'title': 'Brian', 'year': 1979}, {'title': 'Rocky II', 'year': 1979}]
        >>> streamscope.read_sql("SELECT * FROM movie", connect).filter(expr="score > 8").select_columns(["title"]).take_all()
        [{'title': 'Grail'}]
    """
    datasource = SQLDatasource(sql, connection_factory, shard_hash_fn=shard_hash_fn, shard_keys=shard_keys,
                               sql_params=sql_params)
    dataset = read_datasource(datasource, parallelism=parallelism, num_cpus=num_cpus, num_gpus=num_gpus,
                              memory=memory, concurrency=concurrency, override_num_blocks=override_num_blocks,
                              label_selector=label_selector, fallback_strategy=fallback_strategy,
                              max_calls=max_calls, resources=resources, accelerator_type=accelerator_type,
                              runtime_env=runtime_env, ray_remote_args=ray_remote_args)
    blocks = override_num_blocks if override_num_blocks else parallelism
    if blocks is not None and blocks > 1:  # as Ray, checked now: asked-for shards must be possible
        which = "override_num_blocks" if override_num_blocks else "parallelism"
        if not datasource.shard_keys:
            raise ValueError(f"read_sql: shard_keys must be provided when {which} > 1 (got {which}={blocks}): "
                             "without them the query runs as one task")
        datasource.check_sharding(blocks)
        datasource.require_shards()
    return dataset
