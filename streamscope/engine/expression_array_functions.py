"""Functions on Arrow arrays behind the namespace methods that need more than one pyarrow kernel:
an item counted from the end of each list, sorting and flattening lists, the keys or values of
maps, fixed-size lists as lists. Each takes and returns whole arrays (a block's column), keeps
row count, order and nulls, and works on sliced arrays (offsets not starting at 0).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["fixed_to_list", "is_list_type", "list_flatten", "list_get", "list_sort", "map_component",
           "map_result_type"]


def _combined(arr: Any) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def is_list_type(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _rebuild(offsets: Any, values: pa.Array, mask: Optional[pa.Array], large: bool) -> pa.Array:
    cls = pa.LargeListArray if large else pa.ListArray
    offsets = pa.array(np.asarray(offsets), pa.int64() if large else pa.int32())
    return cls.from_arrays(offsets, values, mask=mask)


def list_get(arr: Any, index: int) -> pa.Array:
    """Item ``index`` of each list, counting from the end when negative (an index past either
    end raises, as pyarrow's ``list_element`` does)."""
    arr = _combined(arr)
    if index >= 0:
        return pc.list_element(arr, index)
    if pa.types.is_fixed_size_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_type))
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    nulls = arr.is_null().to_numpy(zero_copy_only=False)
    short = (lengths + index < 0) & ~nulls
    if short.any():
        raise IndexError(f"list index {index} is out of range for a list of {int(lengths[short][0])} items")
    positions = np.asarray(arr.offsets)[:-1].astype(np.int64) + lengths + index  # offsets index arr.values
    return pc.take(arr.values, pa.array(np.where(nulls, 0, positions), mask=nulls))


def list_sort(arr: Any, order: str, null_placement: str) -> pa.Array:
    """Each list's items sorted (the lists keep their rows and nulls)."""
    arr = _combined(arr)
    original = arr.type
    mask = arr.is_null() if arr.null_count else None
    if pa.types.is_fixed_size_list(original):
        arr = arr.cast(pa.list_(original.value_type))
    values = pc.list_flatten(arr)
    if len(values):
        rows = pc.list_parent_indices(arr)
        keys = pa.StructArray.from_arrays([rows, values], ["row", "value"])
        order_idx = pc.sort_indices(keys, sort_keys=[("row", "ascending", "at_end"), ("value", order, null_placement)])
        values = pc.take(values, order_idx)
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
    out = _rebuild(np.concatenate([[0], np.cumsum(lengths)]), values, mask, pa.types.is_large_list(arr.type))
    return out.cast(original) if pa.types.is_fixed_size_list(original) else out


def list_flatten(arr: Any) -> pa.Array:
    """Each list of lists joined into one list (one level)."""
    arr = _combined(arr)
    if not (is_list_type(arr.type) and is_list_type(arr.type.value_type)):
        raise TypeError("list.flatten() requires a list column whose elements are also lists.")
    inner = pc.list_flatten(arr)
    lengths = pc.fill_null(pc.list_value_length(inner), 0).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
    counts = np.bincount(parents, weights=lengths, minlength=len(arr)).astype(np.int64) if len(parents) else \
        np.zeros(len(arr), np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return _rebuild(offsets, pc.list_flatten(inner), arr.is_null() if arr.null_count else None,
                    pa.types.is_large_list(arr.type))


def map_component(arr: Any, which: str) -> Any:
    """The keys (``which="keys"``) or values of each map, as a list per row; maps may be Arrow
    maps or lists of structs with at least two fields (key, value)."""
    if isinstance(arr, pa.ChunkedArray):
        return pa.chunked_array([map_component(c, which) for c in arr.chunks], type=map_result_type(arr.type, which))
    if isinstance(arr, pa.MapArray):
        child = arr.keys if which == "keys" else arr.items
    elif isinstance(arr, (pa.ListArray, pa.LargeListArray)) and pa.types.is_struct(arr.type.value_type) \
            and arr.type.value_type.num_fields >= 2:
        child = arr.values.field(0 if which == "keys" else 1)
    else:
        if len(arr) and arr.null_count < len(arr):
            raise TypeError(f"Expression is not a valid map type. .map.{which}() requires pyarrow.MapArray or "
                            f"pyarrow.ListArray<Struct> with at least 2 fields (key and value), but got: {arr.type}.")
        return pa.ListArray.from_arrays(pa.array(np.zeros(len(arr) + 1, np.int32)), pa.array([], pa.null()),
                                        mask=pa.array(np.ones(len(arr), bool)))
    offsets = np.asarray(arr.offsets).astype(np.int64)
    start = int(offsets[0]) if len(offsets) else 0
    if start and len(child) >= offsets[-1]:
        child = child.slice(start, int(offsets[-1]) - start)
    return _rebuild(offsets - start, child, arr.is_null(), isinstance(arr, pa.LargeListArray))


def map_result_type(t: pa.DataType, which: str) -> pa.DataType:
    if pa.types.is_map(t):
        return pa.list_(t.key_type if which == "keys" else t.item_type)
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_struct(t.value_type) \
            and t.value_type.num_fields >= 2:
        make = pa.large_list if pa.types.is_large_list(t) else pa.list_
        return make(t.value_type.field(0 if which == "keys" else 1).type)
    return pa.list_(pa.null())


def fixed_to_list(arr: Any) -> Any:
    """Fixed-size lists as variable-length lists (other lists unchanged)."""
    if not is_list_type(arr.type):
        raise pa.ArrowInvalid(f"to_list() can only be called on list-like columns, but got {arr.type}")
    return arr.cast(pa.list_(arr.type.value_type)) if pa.types.is_fixed_size_list(arr.type) else arr
