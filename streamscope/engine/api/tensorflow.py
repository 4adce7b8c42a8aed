"""TensorFlow integration: ``iter_tf_batches`` and ``to_tf`` (Dataset and DataIterator methods), as
in Ray Data 2.60.

A leaf of the API like ``torch.py``: TensorFlow is optional and imported only when a method is
called, with an error that says what to install. Both are thin over the numpy batches:
``iter_tf_batches`` converts each column in the prefetch thread; ``to_tf`` wraps the batches in a
``tf.data.Dataset`` (``from_generator``) whose element spec comes from the schema unless given,
with auto-sharding off (each worker reads its own split, as in Ray Data).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Union

import numpy as np
import pyarrow as pa

from streamscope.engine.tensor import FIXED_SHAPE_TENSOR, VARIABLE_SHAPE_TENSOR, stack_equal_shapes


def import_tf() -> Any:
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise ImportError("this needs TensorFlow: pip install 'streamscope[tf]'") from exc
    return tf


def _tensor(tf: Any, method: str, name: str, array: Any, dtype: Any = None, ragged: bool = False) -> Any:
    try:
        if ragged:
            return tf.ragged.constant([np.asarray(row).tolist() for row in array], dtype=dtype)
        return tf.convert_to_tensor(stack_equal_shapes(array), dtype=dtype)
    except (TypeError, ValueError) as exc:
        to = f" as {dtype!r}" if dtype is not None else ""
        raise type(exc)(f"{method}: column {name!r} ({array.dtype}, shape {np.shape(array)}) can't become a TensorFlow "
                        f"tensor{to}: {exc}") from exc


def _check_dtypes(tf: Any, dtypes: Any) -> None:
    """Refuse a dtype TensorFlow does not know before the run starts, naming it (and its column)."""
    for column, dtype in (dtypes.items() if isinstance(dtypes, dict) else [(None, dtypes)]):
        if dtype is not None:
            try:
                tf.dtypes.as_dtype(dtype)
            except TypeError as exc:
                where = f" for column {column!r}" if column is not None else ""
                raise TypeError(f"iter_tf_batches: dtypes{where}: {dtype!r} is not a TensorFlow dtype ({exc})") from None


def tf_converter(dtypes: Any) -> Callable:
    """The conversion step for ``iter_tf_batches``: each column of a numpy batch as a tensor with
    its dtype from ``dtypes`` (one, or a dict by column: a column it leaves out keeps the
    inferred dtype; a key that is no column is refused)."""
    tf = import_tf()
    _check_dtypes(tf, dtypes)

    def convert(batch: dict) -> dict:
        if isinstance(dtypes, dict):
            unknown = [k for k in dtypes if k not in batch]
            if unknown:
                raise ValueError(f"iter_tf_batches: dtypes names {unknown}, which the batch does not have "
                                 f"(its columns: {list(batch)})")
        return {name: _tensor(tf, "iter_tf_batches", name, array, dtypes.get(name) if isinstance(dtypes, dict) else dtypes)
                for name, array in batch.items()}

    return convert


def _spec_of(tf: Any, name: str, arrow_type: pa.DataType) -> Any:
    """The ``tf.TypeSpec`` of a batch of column ``name``: dense with the tensor's shape for tensor
    columns, ragged for list and variable-shape tensor columns, ``tf.string`` for text."""
    shape: tuple = (None,)
    t = arrow_type
    if isinstance(t, pa.BaseExtensionType) and t.extension_name == FIXED_SHAPE_TENSOR:
        shape, t = shape + tuple(t.shape), t.value_type
    elif isinstance(t, pa.BaseExtensionType) and t.extension_name == VARIABLE_SHAPE_TENSOR:
        storage = t.storage_type
        ndim = storage.field("shape").type.list_size
        shape, t = shape + (None,) * ndim, storage.field("data").type.value_type
    while pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        shape += (t.list_size if pa.types.is_fixed_size_list(t) else None,)
        t = t.value_type
    try:
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
            dtype = tf.string
        else:
            dtype = tf.dtypes.as_dtype(np.dtype(t.to_pandas_dtype()))
    except (TypeError, NotImplementedError) as exc:
        raise TypeError(f"to_tf: column {name!r} has type {arrow_type}, which has no TensorFlow dtype; pass its "
                        "tf.TypeSpec (feature_type_spec=, label_type_spec=, additional_type_spec=) or cast it "
                        f"first ({exc})") from None
    if sum(d is None for d in shape) > 1:
        return tf.RaggedTensorSpec(shape, dtype=dtype)
    return tf.TensorSpec(shape, dtype=dtype, name=name)


def _specs(tf: Any, schema: Any, columns: Union[str, list]) -> Any:
    types = dict(zip(schema.names, schema.types))
    for column in [columns] if isinstance(columns, str) else columns:
        if column not in types:
            raise ValueError(f"to_tf: you named {column!r} in feature_columns, label_columns or additional_columns, "
                             f"but the dataset has no column {column!r}; its columns are {list(schema.names)}")
    if isinstance(columns, str):
        return _spec_of(tf, columns, types[columns])
    return {c: _spec_of(tf, c, types[c]) for c in columns}


class TensorFlowMixin:
    """Dataset (and DataIterator) methods that feed TensorFlow/Keras training loops."""

    def iter_tf_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256, dtypes: Any = None,
                        drop_last: bool = False, local_shuffle_buffer_size: Optional[int] = None,
                        local_shuffle_seed: Optional[int] = None):
        """Iterate over batches as dicts of TensorFlow tensors (``dtypes`` one, or a dict by
        column). Deprecated in Ray Data in favour of :meth:`to_tf`, and so it warns here too.

        Examples:
            >>> import warnings, tensorflow as tf
            >>> with warnings.catch_warnings():
            ...     warnings.simplefilter("ignore", DeprecationWarning)
            ...     batch = next(iter(streamscope.range(8).iter_tf_batches(batch_size=4, dtypes=tf.float32)))
            >>> batch["id"].dtype, batch["id"].shape.as_list()
            (tf.float32, [4])
        """
        warnings.warn("`iter_tf_batches` is deprecated (as in Ray Data); use `to_tf` instead.", DeprecationWarning,
                      stacklevel=2)
        return self.iterator().iter_tf_batches(
            prefetch_batches=prefetch_batches, batch_size=batch_size, dtypes=dtypes, drop_last=drop_last,
            local_shuffle_buffer_size=local_shuffle_buffer_size, local_shuffle_seed=local_shuffle_seed,
        )

    def to_tf(self, feature_columns: Union[str, list], label_columns: Union[str, list], *,
              additional_columns: Union[str, list, None] = None, prefetch_batches: int = 1, batch_size: int = 1,
              drop_last: bool = False, local_shuffle_buffer_size: Optional[int] = None,
              local_shuffle_seed: Optional[int] = None, feature_type_spec: Any = None, label_type_spec: Any = None,
              additional_type_spec: Any = None):
        """A ``tf.data.Dataset`` of ``(features, labels)`` batches (``(features, labels, additional)``
        with ``additional_columns``), for ``model.fit``. Each part is one tensor when its columns
        are a string, a dict of tensors by column when they are a list. Type specs come from the
        schema (ragged for list columns) unless given.

        Examples:
            >>> import tensorflow as tf
            >>> ds = streamscope.from_items([{"x": 1.0, "y": 0}, {"x": 2.0, "y": 1}, {"x": 3.0, "y": 1}])
            >>> tf_ds = ds.to_tf("x", "y", batch_size=2)
            >>> [(x.numpy().tolist(), y.numpy().tolist()) for x, y in tf_ds]
            [([1.0, 2.0], [0, 1]), ([3.0], [1])]
        """
        tf = import_tf()
        for name, spec in (("feature_type_spec", feature_type_spec), ("label_type_spec", label_type_spec),
                           ("additional_type_spec", additional_type_spec)):
            if spec is not None and not isinstance(spec, (dict, tf.TypeSpec)):
                raise TypeError(f"to_tf: {name} must be a tf.TypeSpec or a dict of them by column, got {spec!r}")
        if feature_type_spec is None or label_type_spec is None:
            schema = self.schema()
            if feature_type_spec is None:
                feature_type_spec = _specs(tf, schema, feature_columns)
            if label_type_spec is None:
                label_type_spec = _specs(tf, schema, label_columns)
        if additional_columns is not None and additional_type_spec is None:
            additional_type_spec = _specs(tf, self.schema(), additional_columns)
        parts = [(feature_columns, feature_type_spec), (label_columns, label_type_spec)]
        if additional_columns is not None:
            parts.append((additional_columns, additional_type_spec))
        source = self

        def part(batch: dict, columns: Union[str, list], spec: Any) -> Any:
            for column in [columns] if isinstance(columns, str) else columns:
                if column not in batch:
                    raise ValueError(f"to_tf: the batch has no column {column!r} (its columns: {list(batch)})")
            if isinstance(columns, str):
                return _tensor(tf, "to_tf", columns, batch[columns], spec.dtype, isinstance(spec, tf.RaggedTensorSpec))
            return {c: _tensor(tf, "to_tf", c, batch[c], spec[c].dtype, isinstance(spec[c], tf.RaggedTensorSpec))
                    for c in columns}

        def generator():
            for batch in source.iter_batches(prefetch_batches=prefetch_batches, batch_size=batch_size,
                                             batch_format="numpy", drop_last=drop_last,
                                             local_shuffle_buffer_size=local_shuffle_buffer_size,
                                             local_shuffle_seed=local_shuffle_seed):
                yield tuple(part(batch, columns, spec) for columns, spec in parts)

        dataset = tf.data.Dataset.from_generator(generator, output_signature=tuple(spec for _, spec in parts))
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return dataset.with_options(options)
