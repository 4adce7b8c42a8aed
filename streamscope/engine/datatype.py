"""``DataType``: Ray Data 2.60's ``ray.data.datatype.DataType``, a thin wrapper naming a column type
by a pyarrow type, a numpy dtype or a Python type.

Why it exists: Ray Data's expression API takes these, not pyarrow types: ``@udf(return_dtype=
DataType.int32())``, ``col("x").cast(DataType.string())``. Code written against Ray passes them
unchanged. Streamscope's blocks are Arrow tables, so an Arrow-backed DataType is what every
expression resolves to; numpy dtypes convert to Arrow, and a Python type (``DataType(int)``) stands
for "some Arrow type inferred from the values".
"""

from __future__ import annotations

from enum import Enum
from typing import Any, List, Optional, Tuple, Union

import numpy as np
import pyarrow as pa

from streamscope.engine.tensor import is_tensor_type, variable_shape_tensor_type

__all__ = ["DataType", "TypeCategory"]


class TypeCategory(str, Enum):
    """Groups of types that :meth:`DataType.is_of` tests for (Ray's names and values).

    Examples:
        >>> from streamscope.datatype import DataType, TypeCategory
        >>> DataType.list(DataType.int64()).is_of(TypeCategory.LIST)
        True
    """

    LIST = "list"
    LARGE_LIST = "large_list"
    STRUCT = "struct"
    MAP = "map"
    TENSOR = "tensor"
    TEMPORAL = "temporal"


_FACTORIES = {
    "int8": pa.int8, "int16": pa.int16, "int32": pa.int32, "int64": pa.int64,
    "uint8": pa.uint8, "uint16": pa.uint16, "uint32": pa.uint32, "uint64": pa.uint64,
    "float32": pa.float32, "float64": pa.float64, "string": pa.string, "bool": pa.bool_, "binary": pa.binary,
}


def _factory(name: str, make: Any) -> classmethod:
    def factory(cls) -> "DataType":
        return cls.from_arrow(make())

    factory.__name__ = name
    factory.__qualname__ = f"DataType.{name}"
    factory.__doc__ = (f"The Arrow type ``{make()}``.\n\n        Examples:\n"
                       f"            >>> from streamscope.datatype import DataType\n"
                       f"            >>> DataType.{name}()\n            DataType(arrow:{make()})\n        ")
    return classmethod(factory)


class DataType:
    """A column type: a pyarrow ``DataType``, a numpy ``dtype`` or a Python ``type``.

    Examples:
        >>> from streamscope.datatype import DataType
        >>> DataType.int32(), DataType.from_numpy("float32"), DataType(str)
        (DataType(arrow:int32), DataType(numpy:float32), DataType(python:str))
        >>> DataType.int32().to_arrow_dtype()
        DataType(int32)
    """

    def __init__(self, _physical_dtype: Union[pa.DataType, np.dtype, type]):
        if not isinstance(_physical_dtype, (pa.DataType, np.dtype, type)):
            raise TypeError("DataType supports only PyArrow DataType, NumPy dtype, or Python type, but was given "
                            f"type {type(_physical_dtype)}.")
        self._physical_dtype = _physical_dtype

    # ---- what backs it -------------------------------------------------------------------------
    def is_arrow_type(self) -> bool:
        """Whether a pyarrow type backs this DataType.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.int64().is_arrow_type(), DataType(int).is_arrow_type()
            (True, False)
        """
        return isinstance(self._physical_dtype, pa.DataType)

    def is_numpy_type(self) -> bool:
        """Whether a numpy dtype backs this DataType.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.from_numpy("int8").is_numpy_type()
            True
        """
        return isinstance(self._physical_dtype, np.dtype)

    def is_python_type(self) -> bool:
        """Whether a Python type (``int``, ``str``, ``object``...) backs this DataType.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType(object).is_python_type()
            True
        """
        return isinstance(self._physical_dtype, type)

    # ---- conversions ---------------------------------------------------------------------------
    def to_arrow_dtype(self, values: Optional[List[Any]] = None) -> pa.DataType:
        """The pyarrow type; a Python-type-backed DataType needs ``values`` to infer it from.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.from_numpy("float32").to_arrow_dtype()
            DataType(float)
            >>> DataType(int).to_arrow_dtype([1, 2])
            DataType(int64)
        """
        if self.is_arrow_type():
            return self._physical_dtype  # type: ignore[return-value]
        if self.is_numpy_type():
            return pa.from_numpy_dtype(self._physical_dtype)
        if not values:
            raise ValueError(f"{self!r}: values are required to infer an Arrow type for a Python-type DataType")
        return pa.array(list(values)).type

    def to_numpy_dtype(self) -> np.dtype:
        """The numpy dtype (``object`` where numpy has no equivalent).

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.int64().to_numpy_dtype(), DataType.string().to_numpy_dtype()
            (dtype('int64'), dtype('O'))
        """
        if self.is_numpy_type():
            return self._physical_dtype  # type: ignore[return-value]
        if self.is_arrow_type():
            try:
                return np.dtype(self._physical_dtype.to_pandas_dtype())
            except (TypeError, ValueError, NotImplementedError, pa.ArrowNotImplementedError):
                return np.dtype("object")
        return np.dtype("object")

    def to_python_type(self) -> type:
        """The Python type backing this DataType; a ValueError for Arrow and numpy ones.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType(int).to_python_type()
            <class 'int'>
        """
        if self.is_python_type():
            return self._physical_dtype  # type: ignore[return-value]
        raise ValueError(f"DataType {self!r} is not backed by a Python type. Use to_arrow_dtype() or "
                         "to_numpy_dtype() for conversion.")

    def to_cudf_type(self) -> Any:
        """Refused: streamscope has no cuDF batches (Ray's ``to_cudf_type``).

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.int64().to_cudf_type()
            Traceback (most recent call last):
            ...
            NotImplementedError: DataType.to_cudf_type(): streamscope has no cuDF support; use to_arrow_dtype()
        """
        raise NotImplementedError("DataType.to_cudf_type(): streamscope has no cuDF support; use to_arrow_dtype()")

    # ---- constructors --------------------------------------------------------------------------
    @classmethod
    def from_arrow(cls, arrow_type: pa.DataType) -> "DataType":
        """Wrap a pyarrow type.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.datatype import DataType
            >>> DataType.from_arrow(pa.timestamp("s"))
            DataType(arrow:timestamp[s])
        """
        return cls(arrow_type)

    @classmethod
    def from_numpy(cls, numpy_dtype: Union[np.dtype, str]) -> "DataType":
        """Wrap a numpy dtype (or its name).

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.from_numpy("int32")
            DataType(numpy:int32)
        """
        return cls(np.dtype(numpy_dtype) if isinstance(numpy_dtype, str) else numpy_dtype)

    @classmethod
    def from_cudf(cls, cudf_dtype: Any) -> "DataType":
        """Refused: streamscope has no cuDF support (Ray's ``from_cudf``).

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.from_cudf("int64")
            Traceback (most recent call last):
            ...
            NotImplementedError: DataType.from_cudf(): streamscope has no cuDF support; use from_arrow() or from_numpy()
        """
        raise NotImplementedError("DataType.from_cudf(): streamscope has no cuDF support; use from_arrow() or "
                                  "from_numpy()")

    @classmethod
    def from_dtype(cls, dtype: Any) -> Optional["DataType"]:
        """A DataType for a dtype descriptor (pyarrow, numpy, a numpy dtype name, a Python type, a
        pandas extension dtype), or None when it has no equivalent.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.datatype import DataType
            >>> DataType.from_dtype(pa.int8()), DataType.from_dtype("float64"), DataType.from_dtype(str)
            (DataType(arrow:int8), DataType(numpy:float64), DataType(python:str))
        """
        if dtype is None or isinstance(dtype, DataType):
            return dtype
        if isinstance(dtype, pa.DataType):
            return cls.from_arrow(dtype)
        if isinstance(dtype, np.dtype):
            return cls.from_numpy(dtype)
        if isinstance(dtype, type):
            return cls.from_numpy(np.dtype(dtype)) if issubclass(dtype, np.generic) else cls(dtype)
        pyarrow_dtype = getattr(dtype, "pyarrow_dtype", None)  # pandas.ArrowDtype
        if isinstance(pyarrow_dtype, pa.DataType):
            return cls.from_arrow(pyarrow_dtype)
        if type(dtype).__name__ == "StringDtype":
            return cls.from_arrow(pa.string())
        numpy_dtype = getattr(dtype, "numpy_dtype", None)
        try:
            return cls.from_numpy(np.dtype(numpy_dtype if numpy_dtype is not None else dtype))
        except (TypeError, ValueError):
            return None

    @classmethod
    def infer_dtype(cls, value: Any) -> "DataType":
        """The DataType of a Python value: numpy values keep their dtype, others get the Arrow type
        pyarrow infers, and values pyarrow cannot type give their Python type.

        Examples:
            >>> import numpy as np
            >>> from streamscope.datatype import DataType
            >>> DataType.infer_dtype(1), DataType.infer_dtype("a"), DataType.infer_dtype(np.int32(1))
            (DataType(arrow:int64), DataType(arrow:string), DataType(numpy:int32))
        """
        if isinstance(value, (np.ndarray, np.generic)):
            return cls.from_numpy(value.dtype)
        try:
            return cls.from_arrow(pa.array([value]).type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
            return cls(type(value))

    # ---- nested and special types --------------------------------------------------------------
    @classmethod
    def list(cls, value_type: "DataType") -> "DataType":
        """A list of ``value_type``.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.list(DataType.int64())
            DataType(arrow:list<item: int64>)
        """
        return cls.from_arrow(pa.list_(value_type.to_arrow_dtype()))

    @classmethod
    def large_list(cls, value_type: "DataType") -> "DataType":
        """A large (64-bit offsets) list of ``value_type``.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.large_list(DataType.int64())
            DataType(arrow:large_list<item: int64>)
        """
        return cls.from_arrow(pa.large_list(value_type.to_arrow_dtype()))

    @classmethod
    def fixed_size_list(cls, value_type: "DataType", list_size: int) -> "DataType":
        """A list of exactly ``list_size`` items of ``value_type``.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.fixed_size_list(DataType.float32(), 3)
            DataType(arrow:fixed_size_list<item: float>[3])
        """
        return cls.from_arrow(pa.list_(value_type.to_arrow_dtype(), list_size))

    @classmethod
    def struct(cls, fields: List[Tuple[str, "DataType"]]) -> "DataType":
        """A struct with the named fields, in order.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.struct([("x", DataType.int64()), ("y", DataType.float64())])
            DataType(arrow:struct<x: int64, y: double>)
        """
        return cls.from_arrow(pa.struct([(name, dtype.to_arrow_dtype()) for name, dtype in fields]))

    @classmethod
    def map(cls, key_type: "DataType", value_type: "DataType") -> "DataType":
        """A map from ``key_type`` to ``value_type``.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.map(DataType.string(), DataType.int64())
            DataType(arrow:map<string, int64>)
        """
        return cls.from_arrow(pa.map_(key_type.to_arrow_dtype(), value_type.to_arrow_dtype()))

    @classmethod
    def tensor(cls, shape: Tuple[int, ...], dtype: "DataType") -> "DataType":
        """A fixed-shape tensor of ``dtype`` items: Arrow's canonical ``fixed_shape_tensor``, the type
        streamscope stores uniform ndarray columns as (Ray uses its own ``ArrowTensorType``).

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.tensor((2, 2), DataType.float32()).is_tensor_type()
            True
        """
        return cls.from_arrow(pa.fixed_shape_tensor(dtype.to_arrow_dtype(), list(shape)))

    @classmethod
    def variable_shaped_tensor(cls, dtype: "DataType", ndim: int = 2) -> "DataType":
        """A tensor of ``ndim`` dimensions whose shape varies by row: Arrow's canonical
        ``variable_shape_tensor``, as streamscope stores ragged ndarray columns.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.variable_shaped_tensor(DataType.int64(), ndim=3).is_tensor_type()
            True
        """
        return cls.from_arrow(variable_shape_tensor_type(dtype.to_arrow_dtype(), int(ndim)))

    @classmethod
    def temporal(cls, temporal_type: str, unit: Optional[str] = None, tz: Optional[str] = None) -> "DataType":
        """A date, time, timestamp or duration type (Ray's units and defaults).

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.temporal("timestamp", tz="UTC"), DataType.temporal("date32")
            (DataType(arrow:timestamp[us, tz=UTC]), DataType(arrow:date32[day]))
        """
        kind = temporal_type.lower()
        if kind == "timestamp":
            return cls.from_arrow(pa.timestamp(unit or "us", tz=tz))
        if kind == "date32":
            return cls.from_arrow(pa.date32())
        if kind == "date64":
            return cls.from_arrow(pa.date64())
        if kind == "time32":
            if (unit or "s") not in ("s", "ms"):
                raise ValueError(f"time32 unit must be 's' or 'ms', got {unit}")
            return cls.from_arrow(pa.time32(unit or "s"))
        if kind == "time64":
            if (unit or "us") not in ("us", "ns"):
                raise ValueError(f"time64 unit must be 'us' or 'ns', got {unit}")
            return cls.from_arrow(pa.time64(unit or "us"))
        if kind == "duration":
            return cls.from_arrow(pa.duration(unit or "us"))
        raise ValueError(f"Invalid temporal_type '{temporal_type}'. Must be one of: 'timestamp', 'date32', 'date64', "
                         "'time32', 'time64', 'duration'")

    # ---- predicates ----------------------------------------------------------------------------
    def _arrow(self) -> Optional[pa.DataType]:
        if self.is_arrow_type():
            return self._physical_dtype  # type: ignore[return-value]
        if self.is_numpy_type():
            try:
                return pa.from_numpy_dtype(self._physical_dtype)
            except (pa.ArrowNotImplementedError, NotImplementedError, TypeError):
                return None
        return None

    def _test(self, *checks: Any) -> bool:
        arrow = self._arrow()
        return arrow is not None and any(check(arrow) for check in checks)

    def is_of(self, category: Union[TypeCategory, str]) -> bool:
        """Whether this type belongs to ``category`` (a :class:`TypeCategory` or its value).

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.map(DataType.string(), DataType.int64()).is_of("map")
            True
        """
        try:
            category = TypeCategory(category)
        except ValueError:
            return False
        if category == TypeCategory.LARGE_LIST:
            return self._test(pa.types.is_large_list)
        return {TypeCategory.LIST: self.is_list_type, TypeCategory.STRUCT: self.is_struct_type,
                TypeCategory.MAP: self.is_map_type, TypeCategory.TENSOR: self.is_tensor_type,
                TypeCategory.TEMPORAL: self.is_temporal_type}[category]()

    def is_list_type(self) -> bool:
        """Whether this is a list, large list or fixed-size list.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.fixed_size_list(DataType.int8(), 2).is_list_type()
            True
        """
        return self._test(pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)

    def is_tensor_type(self) -> bool:
        """Whether this is a tensor type (fixed or variable shape).

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.int64().is_tensor_type()
            False
        """
        return self._test(is_tensor_type)

    def is_struct_type(self) -> bool:
        """Whether this is a struct.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.struct([("a", DataType.int8())]).is_struct_type()
            True
        """
        return self._test(pa.types.is_struct)

    def is_map_type(self) -> bool:
        """Whether this is a map.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.string().is_map_type()
            False
        """
        return self._test(pa.types.is_map)

    def is_nested_type(self) -> bool:
        """Whether this is a list, struct or map.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.list(DataType.string()).is_nested_type()
            True
        """
        return self.is_list_type() or self.is_struct_type() or self.is_map_type()

    def is_null_type(self) -> bool:
        """Whether this is Arrow's null type.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.infer_dtype(None).is_null_type()
            True
        """
        return self._test(pa.types.is_null)

    def is_boolean_type(self) -> bool:
        """Whether this is a boolean.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.bool().is_boolean_type()
            True
        """
        return self._test(pa.types.is_boolean) or self._physical_dtype is bool

    def is_integer_type(self) -> bool:
        """Whether this is a signed or unsigned integer.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.uint16().is_integer_type(), DataType.float32().is_integer_type()
            (True, False)
        """
        return self._test(pa.types.is_integer) or self._physical_dtype is int

    def is_floating_type(self) -> bool:
        """Whether this is a floating-point number.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.float64().is_floating_type()
            True
        """
        return self._test(pa.types.is_floating) or self._physical_dtype is float

    def is_uint64_type(self) -> bool:
        """Whether this is an unsigned 64-bit integer.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.uint64().is_uint64_type()
            True
        """
        return self._test(pa.types.is_uint64)

    def is_numerical_type(self) -> bool:
        """Whether this is an integer, a float or a decimal.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.int8().is_numerical_type(), DataType.string().is_numerical_type()
            (True, False)
        """
        return (self.is_integer_type() or self.is_floating_type()
                or self._test(pa.types.is_decimal))

    def is_string_type(self) -> bool:
        """Whether this is a (large) string.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.string().is_string_type()
            True
        """
        return self._test(pa.types.is_string, pa.types.is_large_string) or self._physical_dtype is str

    def is_binary_type(self) -> bool:
        """Whether this is (large, fixed-size) binary.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.binary().is_binary_type()
            True
        """
        return (self._test(pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary)
                or self._physical_dtype is bytes)

    def is_temporal_type(self) -> bool:
        """Whether this is a date, time, timestamp or duration.

        Examples:
            >>> from streamscope.datatype import DataType
            >>> DataType.temporal("duration", unit="ms").is_temporal_type()
            True
        """
        return self._test(pa.types.is_temporal)

    # ---- identity ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        if self.is_arrow_type():
            return f"DataType(arrow:{self._physical_dtype})"
        if self.is_numpy_type():
            return f"DataType(numpy:{self._physical_dtype})"
        return f"DataType(python:{self._physical_dtype.__name__})"  # type: ignore[union-attr]

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, DataType) and type(self._physical_dtype) is type(other._physical_dtype)
                and self._physical_dtype == other._physical_dtype)

    def __hash__(self) -> int:
        return hash((type(self._physical_dtype), self._physical_dtype))


for _name, _make in _FACTORIES.items():
    setattr(DataType, _name, _factory(_name, _make))
