"""Ray Data's "refs" API: a dataset's blocks handed out one reference per block
(``to_arrow_refs``, ``to_pandas_refs``, ``to_numpy_refs``, ``get_internal_block_refs``,
``iter_internal_ref_bundles``), and the handle type the local runtime uses for them.

What a reference is depends on the runtime that runs the plan. On the Ray runtime it is a real
``ray.ObjectRef``: a block's own ObjectRef where the block is what was asked for (an Arrow
table), else the converted object ``ray.put`` from the driver. On the local runtimes it is an
:class:`ObjectRef` of this module holding the object in driver memory.

Why driver memory and not the block store: the store's blocks are memory-mapped files that the
executor frees when a run ends; a handle the user keeps for as long as they like must not pin
store pages behind the store's accounting, nor need freeing. So every object a local handle holds
is first copied out of the store (one Arrow IPC round trip, which keeps extension types), and it
lives exactly as long as the handle. :func:`streamscope.get` resolves either kind of reference, so code
written against it runs unchanged on both runtimes.

This module imports nothing of the Dataset (``dataset.py`` mixes :class:`RefsMixin` in).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa

from streamscope.engine.block import block_to_batch, block_to_pandas
from streamscope.engine.block_metadata import BlockMetadata


class ObjectRef:
    """A reference to one object (an Arrow table, a pandas DataFrame, a numpy array or a dict of
    them), as the refs API returns on the local runtime, where Ray would hand out a
    ``ray.ObjectRef``. Resolve it with :func:`streamscope.get`; pass it to
    ``from_arrow_refs``/``from_pandas_refs``/``from_numpy_refs``. It holds the object in driver
    memory (nothing in the block store) until the handle is dropped.

    Examples:
        >>> import pandas as pd
        >>> ref = streamscope.ObjectRef(pd.DataFrame({"a": [1, 2]}))
        >>> ref
        ObjectRef(DataFrame)
        >>> streamscope.from_pandas_refs(ref).take()
        [{'a': 1}, {'a': 2}]
    """

    __slots__ = ("_value",)

    def __init__(self, value: Any):
        self._value = value

    def __repr__(self) -> str:
        return f"ObjectRef({type(self._value).__name__})"

    def __reduce__(self):
        return ObjectRef, (self._value,)


def is_object_ref(value: Any) -> bool:
    """True for a :class:`streamscope.ObjectRef` or a ``ray.ObjectRef`` (Ray is not imported: a
    process that never imported it holds no ray.ObjectRef)."""
    if isinstance(value, ObjectRef):
        return True
    ray = sys.modules.get("ray")
    return ray is not None and isinstance(value, getattr(ray, "ObjectRef", ()))


def get(refs: Any, *, timeout: Optional[float] = None) -> Any:
    """The object behind a reference, or a list of objects for a list of references, as
    ``ray.get`` does: streamscope's :class:`~streamscope.ObjectRef` handles resolve at once, ``ray.ObjectRef``
    ones through ``ray.get`` (with ``timeout``), so ``streamscope.get(ds.to_pandas_refs())`` works
    on every runtime.

    Examples:
        >>> refs = streamscope.range(4, override_num_blocks=2).to_arrow_refs()
        >>> [table.num_rows for table in streamscope.get(refs)]
        [2, 2]
        >>> streamscope.get(streamscope.ObjectRef(42))
        42
    """
    if isinstance(refs, (list, tuple)):
        return [_get_one(ref, timeout) for ref in refs]
    return _get_one(refs, timeout)


def _get_one(ref: Any, timeout: Optional[float]) -> Any:
    if isinstance(ref, ObjectRef):
        return ref._value
    if is_object_ref(ref):
        import ray

        return ray.get(ref, timeout=timeout)
    raise TypeError(f"get expects an ObjectRef (streamscope.ObjectRef or ray.ObjectRef) or a list of them, "
                    f"got {type(ref).__name__}")


def resolve_refs(refs: Any, fn: str) -> list:
    """The objects behind ``refs`` (one reference or a list), for the ``from_*_refs`` functions;
    a value that is no reference is refused by name (Ray Data refuses it too)."""
    items = list(refs) if isinstance(refs, (list, tuple)) else [refs]
    for item in items:
        if not is_object_ref(item):
            raise TypeError(f"{fn} expects an ObjectRef (streamscope.ObjectRef or ray.ObjectRef) or a list of "
                            f"them, got {type(item).__name__}; for objects you hold, call "
                            f"{fn.replace('_refs', '')} instead")
    return [_get_one(item, None) for item in items]


class RefBundle:
    """A group of blocks with their metadata, as ``Dataset.iter_internal_ref_bundles`` yields
    them (Ray Data's ``RefBundle``, reduced to what a user reads from it): ``blocks`` is a tuple
    of ``(ref, BlockMetadata)`` pairs, ``block_refs`` the refs alone; ``num_rows()`` and
    ``size_bytes()`` add up the metadata without resolving a block.

    Examples:
        >>> bundles = list(streamscope.range(6, override_num_blocks=3).iter_internal_ref_bundles())
        >>> [bundle.num_rows() for bundle in bundles]
        [2, 2, 2]
        >>> ref, meta = bundles[0].blocks[0]
        >>> streamscope.get(ref).num_rows == meta.num_rows
        True
    """

    __slots__ = ("blocks", "schema")

    def __init__(self, blocks: tuple, schema: Optional[pa.Schema] = None):
        self.blocks = tuple(blocks)
        self.schema = schema

    @property
    def block_refs(self) -> list:
        return [ref for ref, _meta in self.blocks]

    @property
    def metadata(self) -> list[BlockMetadata]:
        return [meta for _ref, meta in self.blocks]

    def num_rows(self) -> int:
        return sum(meta.num_rows or 0 for _ref, meta in self.blocks)

    def size_bytes(self) -> int:
        return sum(meta.size_bytes or 0 for _ref, meta in self.blocks)

    def __repr__(self) -> str:
        return f"RefBundle(num_blocks={len(self.blocks)}, num_rows={self.num_rows()}, size_bytes={self.size_bytes()})"


def in_driver_memory(table: pa.Table) -> pa.Table:
    """A copy of ``table`` whose buffers live in this process's heap, not in a store's
    memory-mapped block (which the run frees): an Arrow IPC round trip, extension types kept."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return pa.ipc.open_stream(sink.getvalue()).read_all()


def numpy_of(table: pa.Table, column: Optional[str]) -> Any:
    """A block as ``to_numpy_refs`` hands it out: a dict of column name to ndarray, or with
    ``column`` that column's ndarray (a missing column is refused by name)."""
    if column is None:
        return block_to_batch(table, "numpy")
    check_column(table.column_names, column)
    return block_to_batch(table.select([column]), "numpy")[column]


def check_column(names: list, column: str) -> None:
    if column not in names:
        raise ValueError(f"to_numpy_refs: column {column!r} is not in the dataset; its columns are {list(names)}")


class RefsMixin:
    """Dataset methods that run the plan and hand out one reference per output block."""

    def _block_refs(self, convert: Optional[Callable[[pa.Table], Any]]) -> Iterator[tuple[Any, Any]]:
        """``(ref, engine metadata)`` per output block, in order, the block converted by
        ``convert`` (None: the Arrow table as it is). On the Ray runtime an unconverted block is
        handed out as its own ObjectRef (no copy; Ray keeps it while the ref lives, after the run
        releases it); anything else is put into Ray from the driver, or held by a local handle."""
        executor = self._start_execution("refs")
        runtime = executor.runtime
        on_ray = getattr(runtime, "name", "") == "ray"
        for ref, meta, owned in executor.iter_output():
            try:
                if on_ray and convert is None:
                    out = runtime.object_ref(ref)
                else:
                    table = runtime.get(ref)
                    if not on_ray:
                        table = in_driver_memory(table)
                    value = table if convert is None else convert(table)
                    if on_ray:
                        import ray

                        out = ray.put(value)
                    else:
                        out = ObjectRef(value)
            finally:
                executor.release(ref, owned)
            yield out, meta

    def to_arrow_refs(self) -> list:
        """Run the dataset and return one reference per block to its pyarrow Table (on the Ray
        runtime the blocks' own ``ray.ObjectRef``\\ s, else :class:`streamscope.ObjectRef`
        handles); resolve them with :func:`streamscope.get`.

        Examples:
            >>> refs = streamscope.range(4, override_num_blocks=2).to_arrow_refs()
            >>> sorted(table.column("id").to_pylist() for table in streamscope.get(refs))
            [[0, 1], [2, 3]]
        """
        return [ref for ref, _meta in self._block_refs(None)]

    def to_pandas_refs(self) -> list:
        """Run the dataset and return one reference per block to it as a pandas DataFrame.

        Examples:
            >>> import pandas as pd
            >>> refs = streamscope.range(4, override_num_blocks=2).to_pandas_refs()
            >>> sorted(pd.concat(streamscope.get(refs))["id"])
            [0, 1, 2, 3]
        """
        return [ref for ref, _meta in self._block_refs(block_to_pandas)]

    def to_numpy_refs(self, *, column: Optional[str] = None) -> list:
        """Run the dataset and return one reference per block to its numpy form: a dict of column
        name to ndarray, or with ``column`` that one column's ndarray (as in Ray Data).

        Examples:
            >>> ds = streamscope.from_items([{"a": 1, "b": 2.0}, {"a": 3, "b": 4.0}], override_num_blocks=1)
            >>> streamscope.get(ds.to_numpy_refs())
            [{'a': array([1, 3]), 'b': array([2., 4.])}]
            >>> streamscope.get(ds.to_numpy_refs(column="b"))
            [array([2., 4.])]
        """
        if column is not None:
            names = getattr(self._plan.dag.output_schema(), "names", None)
            if names is not None:
                check_column(names, column)  # refuse a missing column before anything runs
        return [ref for ref, _meta in self._block_refs(lambda table: numpy_of(table, column))]

    def get_internal_block_refs(self) -> list:
        """Run the dataset and return a reference to each of its blocks (pyarrow Tables); Ray
        Data 2.60 deprecates it in favour of :meth:`iter_internal_ref_bundles`.

        Examples:
            >>> refs = streamscope.range(6, override_num_blocks=3).get_internal_block_refs()
            >>> [table.num_rows for table in streamscope.get(refs)]
            [2, 2, 2]
        """
        return self.to_arrow_refs()

    def iter_internal_ref_bundles(self) -> Iterator[RefBundle]:
        """Run the dataset and yield its blocks as they are produced, one
        :class:`~streamscope.engine.api.refs.RefBundle` per block (a reference to the pyarrow
        Table and its ``BlockMetadata``).

        Examples:
            >>> ds = streamscope.range(6, override_num_blocks=3)
            >>> sum(bundle.num_rows() for bundle in ds.iter_internal_ref_bundles())
            6
        """
        for ref, meta in self._block_refs(None):
            public = BlockMetadata(meta.num_rows, meta.size_bytes, None, input_files=tuple(meta.input_files))
            yield RefBundle(((ref, public),), meta.schema)


__all__ = ["ObjectRef", "RefBundle", "RefsMixin", "get", "is_object_ref", "resolve_refs"]
