"""How a write runs under ``DataContext.checkpoint_config``: recover what earlier runs committed,
drop those rows right after every source (so no map computes them again), and commit per task.

Only file writes in ``mode="append"`` (Ray's default) can be checkpointed: their tasks can commit
on their own (``io/checkpointing_datasink.py``). Any other write, or another mode, is refused
before the run, naming the setting; plain reads and ``take``/``iter_batches`` are unaffected, as
in Ray Data, where checkpointing applies to pipelines that end in a write.
"""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.checkpoint_config import as_checkpoint_config
from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.logical import operators as L


class DropCheckpointedRows:
    """The filter placed after each source: rows whose id an earlier run committed are dropped.

    Examples:
        >>> import pyarrow as pa
        >>> drop = DropCheckpointedRows("id", pa.array([1, 3]))
        >>> [t.column("id").to_pylist() for t in drop.apply(iter([pa.table({"id": [0, 1, 2, 3]})]), None)]
        [[0, 2]]
    """

    def __init__(self, id_column: str, done_ids: pa.Array):
        self.id_column = id_column
        self.done_ids = done_ids
        self.name = f"DropCheckpointedRows({id_column}: {len(done_ids)} done)"
        self._by_type: dict = {}
        """The done ids cast once per column type (blocks of a read share one)."""

    def apply(self, blocks: Iterator[pa.Table], ctx: Any) -> Iterator[pa.Table]:
        for table in blocks:
            if table.num_rows == 0:
                continue
            if self.id_column not in table.column_names:
                raise ValueError(f"{self.name}: the checkpoint id column {self.id_column!r} is not in the rows "
                                 f"read (columns: {table.column_names}); set CheckpointConfig(id_column=...) to a "
                                 "column every source has")
            ids = table.column(self.id_column)
            value_set = self._by_type.get(ids.type)
            if value_set is None:
                value_set = self._by_type[ids.type] = (self.done_ids if self.done_ids.type == ids.type
                                                       else self.done_ids.cast(ids.type))
            keep = pc.invert(pc.is_in(ids, value_set=value_set))
            out = table.filter(keep)
            if out.num_rows:
                yield out

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        return schema


def prepare(dag: Any, datasink: Any, context: Any) -> tuple[Any, Any]:
    """The plan and sink to run: unchanged without a checkpoint config, else the checkpointing
    sink and a plan that skips what is already committed."""
    config = as_checkpoint_config(context.checkpoint_config)
    if config is None:
        return dag, datasink
    from streamscope.engine.io.checkpointing_datasink import CheckpointingDatasink
    from streamscope.engine.io.file_datasink import FileDatasink

    name = datasink.get_name()
    if not isinstance(datasink, FileDatasink):
        raise ValueError(f"{name}: DataContext.checkpoint_config works with file writes (write_parquet, "
                         "write_csv, write_json, ...) only; unset it for this write")
    if datasink._mode != SaveMode.APPEND:
        raise ValueError(f"{name}: with DataContext.checkpoint_config the write must use mode='append' (a resumed "
                         f"run adds the rows still missing), got mode={datasink._mode.value!r}")
    schema = dag.output_schema()
    names = getattr(schema, "names", None)
    if names is not None and config.id_column not in names:
        raise ValueError(f"{name}: the checkpoint id column {config.id_column!r} is not in the rows being written "
                         f"(columns: {list(names)}); set CheckpointConfig(id_column=...) to one of them")
    sink = CheckpointingDatasink(datasink, config)
    done = sink.recover()
    if len(done):
        dag = _after_sources(dag, DropCheckpointedRows(config.id_column, done))
    return dag, sink


def finish(datasink: Any) -> None:
    """After a successful write: delete the checkpoint if the config asks for it."""
    if getattr(datasink, "config", None) is not None and datasink.config.delete_checkpoint_on_success:
        datasink.delete_checkpoint()


def _after_sources(op: Any, transform: DropCheckpointedRows) -> Any:
    if not op.inputs:
        return L.Filter(transform.name, op, transform)
    inputs = [_after_sources(child, transform) for child in op.inputs]
    return op.with_inputs(inputs)
