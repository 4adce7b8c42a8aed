"""Columns of arbitrary Python objects: the fallback for values Arrow has no type for.

Why: Ray Data 2.60 keeps a column whose values Arrow cannot convert natively (``[1, "a"]``,
``[True, 1]``, complex numbers, ints past 64 bits, PIL images, instances of user classes, ndarrays
of different ranks) as pickled Python objects (its ``ArrowPythonObjectType``), so a UDF that
returns them still works and every batch format gives the original objects back. streamscope does
the same with its own extension type, ``streamscope.python_object``: storage ``large_binary``, one
cloudpickle payload per value, null for ``None``. Its own name (not Ray's
``ray.data.arrow_pickled_object``) because pyarrow allows one registration per name and Ray
registers its type when ``ray.data`` is imported into the same process.

The type is registered when this module is imported, so every process that reads blocks (it is
imported with ``streamscope.engine.block``) rebuilds it from Arrow IPC and Parquet.

Example::

    >>> from streamscope.engine.python_objects import objects_to_arrow, objects_to_numpy
    >>> column = objects_to_arrow([1, "a", None])
    >>> column.type.extension_name
    'streamscope.python_object'
    >>> objects_to_numpy(column).tolist()
    [1, 'a', None]
"""

from __future__ import annotations

import pickle
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

PYTHON_OBJECT = "streamscope.python_object"


class PythonObjectScalar(pa.ExtensionScalar):
    """One value of a Python-object column; ``as_py`` unpickles it (``to_pylist`` uses it)."""

    def as_py(self, **_kwargs: Any) -> Any:
        """The original object (``None`` for a null).

        Examples:
            >>> from streamscope.engine.python_objects import objects_to_arrow
            >>> objects_to_arrow([3 + 1j])[0].as_py()
            (3+1j)
        """
        value = self.value
        return None if value is None else pickle.loads(value.as_py())


class PythonObjectType(pa.ExtensionType):
    """Arrow extension type of pickled Python objects (no parameters).

    Examples:
        >>> from streamscope.engine.python_objects import PythonObjectType
        >>> PythonObjectType().storage_type
        DataType(large_binary)
    """

    def __init__(self) -> None:
        super().__init__(pa.large_binary(), PYTHON_OBJECT)

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> "PythonObjectType":
        return cls()

    def __arrow_ext_scalar_class__(self) -> type:
        return PythonObjectScalar

    def __reduce__(self):
        return (PythonObjectType, ())


try:
    pa.register_extension_type(PythonObjectType())
except pa.ArrowKeyError:  # pragma: no cover - registered already (module reloaded)
    pass


def is_python_object_type(arrow_type: pa.DataType) -> bool:
    """True for the Python-object column type (also after an IPC or Parquet round trip).

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.engine.python_objects import PythonObjectType, is_python_object_type
        >>> is_python_object_type(PythonObjectType()), is_python_object_type(pa.int64())
        (True, False)
    """
    return isinstance(arrow_type, pa.BaseExtensionType) and arrow_type.extension_name == PYTHON_OBJECT


def objects_to_arrow(values: Sequence[Any]) -> pa.ExtensionArray:
    """Pickle each value (cloudpickle, so classes defined in a notebook travel by value).

    Examples:
        >>> from streamscope.engine.python_objects import objects_to_arrow
        >>> len(objects_to_arrow([object(), None]))
        2
    """
    import cloudpickle  # the pickler of shipped functions; imported only for this fallback

    if isinstance(values, np.ndarray):
        values = list(values)
    payloads = [None if v is None else cloudpickle.dumps(v, protocol=5) for v in values]
    storage = pa.array(payloads, type=pa.large_binary())
    return pa.ExtensionArray.from_storage(PythonObjectType(), storage)


def objects_to_numpy(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A Python-object column as a 1-D object ndarray of the original values.

    Examples:
        >>> from streamscope.engine.python_objects import objects_to_arrow, objects_to_numpy
        >>> objects_to_numpy(objects_to_arrow([[1], {2}])).tolist()
        [[1], {2}]
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    values: list[Any] = []
    for chunk in chunks:
        storage = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
        values.extend(None if b is None else pickle.loads(b) for b in storage.to_pylist())
    return object_array(values)


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object ndarray holding ``values`` as they are.

    Why not ``np.array(values, dtype=object)``: numpy would merge equal-length lists or ndarrays
    into a 2-D array (or fail on ragged ones); each value must stay one cell.

    Examples:
        >>> from streamscope.engine.python_objects import object_array
        >>> object_array([[1, 2], [3, 4]]).shape
        (2,)
    """
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out
