"""Exchanges: all-to-all operations run as map-side partitioning and reduce-side merging tasks.

Each exchange kind (hash aggregate, sort, shuffle, join, positional) is one :class:`ExchangeSpec`
in its own module. The spec says what its tasks compute; the generic
:class:`~streamscope.engine.physical.operators.exchange_operator.ExchangeOperator` decides when
they run, keeps every intermediate block in the object store (so an exchange larger than the store
spills instead of failing) and frees each block as soon as its last reader is done.

Why a spec object rather than one operator class per kind: the scheduling (streaming map side,
barrier, ordered reduce output, freeing) is identical for every kind and hard to get right; the
kinds differ only in the pyarrow code their tasks run.
"""

from __future__ import annotations

import copy
from typing import Any, Optional, Sequence

import pyarrow as pa

from streamscope.engine.runtime.base import BlockRef, TaskFunction

Parts = list  # parts[input_index][partition] -> list[(BlockRef, BlockMetadata)]


class ExchangeSpec:
    """What an exchange computes. Task functions follow the runtime's contract
    ``fn(payload, blocks, ctx) -> Iterator[pa.Table]`` and must be picklable (they are shipped to
    workers once per run).

    Phases, each optional except reduce:

    * ``sample_fn``: runs on each input bundle as it arrives and yields a tiny table; the driver
      hands all samples to :meth:`on_samples` (sort uses it to choose range boundaries).
    * ``map_fn``: runs on input bundles (as they arrive, or after sampling) and yields exactly
      ``num_partitions`` tables, table *i* holding the rows of partition *i*.
    * ``reduce_fn``: runs once per task that :meth:`reduce_tasks` plans over the map outputs (or
      over the raw input blocks, in dataset order, when there is no map phase).
    """

    num_inputs: int = 1
    sample_fn: Optional[TaskFunction] = None
    map_fn: Optional[TaskFunction] = None
    reduce_fn: TaskFunction
    #: Reduce outputs are emitted in task order (sort, positional) rather than as they finish.
    ordered_output: bool = True
    #: Partitions chosen by the user (``num_partitions``, ``num_blocks``); None = automatic.
    requested_partitions: Optional[int] = None
    #: Rows go to partitions by a hash of their keys: ``DataContext.default_hash_shuffle_parallelism``
    #: applies when the user named no partition count.
    hash_partitioned: bool = False
    #: Input bytes a map task takes at once (bigger tasks mean fewer, larger intermediate blocks).
    map_input_bytes: int = 4 << 20
    #: ...or this many blocks, so small blocks still start map tasks while upstream is running.
    map_input_blocks: int = 4
    label: str = ""

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_frozen"):
            raise AttributeError(
                f"{type(self).__name__}.{name}: this spec belongs to a logical plan, which every run "
                "of the Dataset shares; run state goes on the copy that for_run() makes"
            )
        object.__setattr__(self, name, value)

    def freeze(self) -> "ExchangeSpec":
        """Make this spec read-only (the logical plan does this when it takes the spec), so that
        two runs of one Dataset can never see each other's partition counts or boundaries."""
        object.__setattr__(self, "_frozen", True)
        return self

    def for_run(self) -> "ExchangeSpec":
        """A writable copy for one run's physical operator: it holds that run's state
        (``num_partitions``, sort boundaries, input schemas), which differs run by run.

        Example::

            spec = SortSpec(["x"], [False]).freeze()
            mine = spec.for_run(); mine.setup(4)     # the plan's spec is untouched
        """
        clone = copy.copy(self)
        object.__setattr__(clone, "_frozen", False)
        return clone

    def resolve_partitions(self, estimated_bytes: Optional[int], cpus: int, store_capacity: int,
                           hash_default: Optional[int] = None) -> int:
        """Reduce partitions: the user's number, else (hash exchanges) ``hash_default`` when the
        DataContext sets one, else enough that one partition stays well under the store capacity
        and every CPU has work."""
        if self.requested_partitions:
            return max(1, int(self.requested_partitions))
        if self.hash_partitioned and hash_default:
            return int(hash_default)
        n = 2 * max(1, cpus)
        if estimated_bytes:
            per_part = max(1 << 20, min(64 << 20, store_capacity // 8 if store_capacity else 64 << 20))
            n = max(n, -(-int(estimated_bytes) // per_part))
        return min(n, 256)

    def setup(self, num_partitions: int) -> None:
        self.num_partitions = num_partitions

    def on_samples(self, samples: list[pa.Table]) -> None:
        """Driver side: digest the sample tables (small by construction)."""

    def map_payload(self, input_index: int, task_index: int) -> Any:
        return (input_index, task_index, self.num_partitions)

    def reduce_tasks(self, parts: Parts) -> list[tuple[Any, list[BlockRef]]]:
        """Default: reduce task *p* reads partition *p* of every input, inputs in order."""
        tasks = []
        for p in range(self.num_partitions):
            refs: list[BlockRef] = []
            counts = []
            for per_input in parts:
                blocks = per_input[p]
                refs.extend(r for r, _ in blocks)
                counts.append(len(blocks))
            tasks.append(((p, tuple(counts)), refs))
        return tasks

    def output_schema(self, *schemas: Any) -> Any:
        return None

    def output_num_rows(self, *rows: int) -> Optional[int]:
        return None


def split_inputs(blocks, counts: Sequence[int]):
    """Regroup a reduce task's input stream into one list of tables per upstream input."""
    it = iter(blocks)
    return [[next(it) for _ in range(c)] for c in counts]
