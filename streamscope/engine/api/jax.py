"""JAX integration: ``iter_jax_batches`` (the Dataset method, and the conversion step of
``DataIterator.iter_jax_batches``), as in Ray Data 2.60.

A leaf of the API like ``torch.py``: jax is optional and imported only when the method is called,
with an error that says what to install.

Each batch becomes JAX arrays sharded along the batch dimension over a one-dimensional mesh of all
JAX devices (``jax.make_array_from_process_local_data``), which is why the batch size must divide
evenly by the number of local devices. The conversion runs in the prefetch thread, so the copy to
the devices overlaps the training step. Dtypes follow JAX's rules: with ``jax_enable_x64`` off (its
default) int64 and float64 columns arrive as int32 and float32, exactly as ``jnp.asarray`` gives.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import numpy as np

from streamscope.engine.tensor import stack_equal_shapes

_AXIS = "data"
_SKIP = object()  # a collated batch of zero rows: not yielded (as in Ray Data)


def import_jax() -> Any:
    try:
        import jax
    except ImportError as exc:
        raise ImportError("this needs JAX: pip install 'streamscope[jax]'") from exc
    return jax


def _check_dtypes(jax: Any, dtypes: Any) -> None:
    """Refuse a dtype JAX does not know before the run starts, naming it (and its column)."""
    items = dtypes.items() if isinstance(dtypes, dict) else [(None, dtypes)]
    for column, dtype in items:
        if dtype is None:
            continue
        try:
            jax.numpy.dtype(dtype)
        except TypeError as exc:
            where = f" for column {column!r}" if column is not None else ""
            raise TypeError(f"iter_jax_batches: dtypes{where}: {dtype!r} is not a JAX dtype ({exc})") from None


def _per_column(spec: Any, columns: list, what: str, required: bool) -> dict:
    """``spec`` (one value, or a dict by column) as a dict for ``columns``. A dict key that is no
    column is refused (a typo would otherwise be ignored); a column missing from the dict is
    inferred for dtypes, and refused for paddings (there is no value to pad it with)."""
    if not isinstance(spec, dict):
        return {c: spec for c in columns}
    unknown = [k for k in spec if k not in columns]
    if unknown:
        raise ValueError(f"iter_jax_batches: {what} names {unknown}, which the batch does not have "
                         f"(its columns: {columns})")
    missing = [c for c in columns if c not in spec]
    if required and missing:
        raise ValueError(f"iter_jax_batches: {what} has no value for columns {missing}: give one for every "
                         "column, or one value for all")
    return {c: spec.get(c) for c in columns}


def _single(spec: Any, what: str) -> Any:
    """A single-array batch (from a collate_fn) takes one value; a dict must hold exactly one."""
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise ValueError(f"iter_jax_batches: the batch is a single array, so {what} must be one value "
                             f"(or a dict of one), got {spec!r}")
        return next(iter(spec.values()))
    return spec


def _pad(array: np.ndarray, size: int, value: Any) -> np.ndarray:
    if len(array) >= size:
        return array
    filler = np.full((size - len(array),) + array.shape[1:], value, dtype=array.dtype)
    return np.concatenate([array, filler])


def jax_converter(dtypes: Any, paddings: Any, batch_size: int, collate_fn: Optional[Callable]) -> Callable:
    """The conversion step for ``iter_jax_batches``: ``collate_fn`` (if any) first, then each array
    (a dict of them, or one) padded to ``batch_size`` when ``paddings`` is given, put on the
    devices as one array sharded along the batch axis, and cast to its dtype from ``dtypes``."""
    jax = import_jax()
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    sharding = NamedSharding(Mesh(np.array(jax.devices()), (_AXIS,)), PartitionSpec(_AXIS))
    num_local = jax.local_device_count()
    hosts = jax.process_count()

    def to_array(name: Optional[str], array: Any, dtype: Any) -> Any:
        array = np.asarray(stack_equal_shapes(array))
        try:
            out = jax.make_array_from_process_local_data(sharding, array, (len(array) * hosts,) + array.shape[1:])
            return out.astype(dtype) if dtype is not None else out
        except (TypeError, ValueError) as exc:
            where = f"column {name!r}" if name is not None else "the batch"
            to = f" as {dtype}" if dtype is not None else ""
            raise type(exc)(f"iter_jax_batches: {where} ({array.dtype}, shape {array.shape}) can't become a JAX "
                            f"array{to}: {exc}") from exc

    def convert(batch: Any) -> Any:
        if collate_fn is not None:
            batch = collate_fn(batch)
        single = not isinstance(batch, dict)
        if single and not isinstance(batch, np.ndarray):
            raise TypeError(f"iter_jax_batches: collate_fn must return a numpy array or a dict of them, got "
                            f"{type(batch).__name__}")
        rows = len(batch) if single else (len(next(iter(batch.values()))) if batch else 0)
        if rows == 0:
            return _SKIP
        if paddings is None and rows % num_local:
            raise ValueError(f"iter_jax_batches: a batch of {rows} rows does not divide evenly over the "
                             f"{num_local} local JAX devices: pass drop_last=True or paddings= to pad it to "
                             f"batch_size")
        if single:
            array = batch if paddings is None else _pad(batch, batch_size, _single(paddings, "paddings"))
            return to_array(None, array, _single(dtypes, "dtypes"))
        columns = list(batch)
        types = _per_column(dtypes, columns, "dtypes", required=False)
        pads = _per_column(paddings, columns, "paddings", required=True) if paddings is not None else None
        out = {}
        for name, array in batch.items():
            if pads is not None:
                array = _pad(np.asarray(stack_equal_shapes(array)), batch_size, pads[name])
            out[name] = to_array(name, array, types[name])
        return out

    return convert


def skip_empty(batches: Iterator[Any]) -> Iterator[Any]:
    """The converted batches without the empty ones; closing this closes the batch stream."""
    try:
        for batch in batches:
            if batch is not _SKIP:
                yield batch
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def check_jax_args(jax: Any, batch_size: Any, dtypes: Any, synchronize_batches: bool) -> None:
    """What Ray Data checks before iterating, and what streamscope refuses, before the run starts."""
    num_local = jax.local_device_count()
    if not isinstance(batch_size, int) or batch_size <= 0 or batch_size % num_local:
        raise ValueError(f"iter_jax_batches: batch_size ({batch_size!r}) must be a positive integer that divides "
                         f"evenly by the number of local JAX devices ({num_local})")
    if synchronize_batches and jax.process_count() > 1:
        raise NotImplementedError(
            "iter_jax_batches: synchronize_batches=True across several JAX processes is not supported by "
            "streamscope (it runs on one host); make every process yield the same batches, e.g. with "
            "drop_last=True, and pass synchronize_batches=False")
    _check_dtypes(jax, dtypes)


class JaxMixin:
    """The Dataset method that feeds JAX training loops."""

    def iter_jax_batches(self, *, prefetch_batches: int = 1, batch_size: int = 256, dtypes: Any = None,
                         collate_fn: Any = None, drop_last: bool = False,
                         local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                         synchronize_batches: bool = False, paddings: Any = None) -> Iterator[Any]:
        """Iterate over batches as dicts of JAX arrays, sharded along the batch dimension over all
        JAX devices; ``batch_size`` must divide by the number of local devices, and a short last
        batch is dropped (``drop_last``) or padded to ``batch_size`` (``paddings``: one value, or
        a dict by column). ``dtypes`` (one, or a dict by column) casts the arrays; otherwise
        they take JAX's dtype for the numpy data. ``collate_fn`` is a
        ``streamscope.collate_fn`` class instance whose numpy output is then converted.

        Examples:
            >>> import jax.numpy as jnp
            >>> batches = list(streamscope.range(6, override_num_blocks=1).iter_jax_batches(batch_size=4, paddings=-1))
            >>> [b["id"].tolist() for b in batches]
            [[0, 1, 2, 3], [4, 5, -1, -1]]
            >>> next(iter(streamscope.range(4).iter_jax_batches(dtypes=jnp.float32)))["id"].dtype
            dtype('float32')
        """
        return self.iterator().iter_jax_batches(
            prefetch_batches=prefetch_batches, batch_size=batch_size, dtypes=dtypes, collate_fn=collate_fn,
            drop_last=drop_last, local_shuffle_buffer_size=local_shuffle_buffer_size,
            local_shuffle_seed=local_shuffle_seed, synchronize_batches=synchronize_batches, paddings=paddings,
        )
