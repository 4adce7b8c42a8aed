"""Path-based partitions: ``Partitioning``, ``PathPartitionParser``, ``PathPartitionFilter``
(the names and signatures of ``ray.data.datasource.partitioning``).

Why in the paths: Hive (``year=2023/month=01/part-0.parquet``) and directory
(``cat/0001.png``) layouts keep a column's value in the directory names instead of the files, so
a reader must add those columns to every row, and a filter on them can skip whole files before
any is opened.

As in Ray Data 2.60, values parsed from paths are strings (URL-decoded, as pyarrow writes them)
unless ``field_types`` names a Python type (``int``, ``float``, ``bool``, ``str``) for the field;
``__HIVE_DEFAULT_PARTITION__`` (pyarrow's name for a null value) stays that string, as in Ray.

This module does not import fsspec (``import streamscope`` stays light); a datasource binds a
parser to its filesystem's path form with :func:`parser_for`.
"""

from __future__ import annotations

import posixpath
import urllib.parse
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Optional

import pyarrow as pa

from streamscope.engine.expressions import ColumnNotFoundError, as_expr

__all__ = ["PartitionStyle", "Partitioning", "PathPartitionParser", "PathPartitionFilter"]

PARTITION_TYPES = {int: "int64", float: "float64", bool: "bool", str: "string"}
"""The Python types ``field_types`` may name, and the Arrow type of their columns."""


class PartitionStyle(str, Enum):
    """How partition values sit in paths: ``"hive"`` (``key=value`` directories) or ``"dir"``
    (bare values, named by ``field_names``).

    Examples:
        >>> streamscope.datasource.PartitionStyle("dir")
        <PartitionStyle.DIRECTORY: 'dir'>
    """

    HIVE = "hive"
    DIRECTORY = "dir"


def _style(value: Any) -> PartitionStyle:
    try:
        return PartitionStyle(value)
    except ValueError:
        raise ValueError(f"Partitioning: unknown style {value!r}; use 'hive' (key=value directories) "
                         "or 'dir' (bare values named by field_names)") from None


@dataclass
class Partitioning:
    """A partition scheme: ``style`` ("hive" or "dir"), the ``base_dir`` partitions start below
    (exclusive; "" means every directory of a path), ``field_names`` (required for "dir"; for
    "hive", checks the keys), ``field_types`` (``{"year": int}``; other fields are strings) and
    the ``filesystem`` ``base_dir`` is on.

    Examples:
        >>> p = streamscope.datasource.Partitioning("hive", field_types={"year": int})
        >>> streamscope.datasource.PathPartitionParser(p)("data/year=2023/month=01/part-0.parquet")
        {'year': 2023, 'month': '01'}
    """

    style: PartitionStyle
    base_dir: Optional[str] = None
    field_names: Optional[list[str]] = None
    field_types: Optional[dict[str, type]] = None
    filesystem: Any = None

    def __post_init__(self) -> None:
        self.style = _style(self.style)
        if self.base_dir is None:
            self.base_dir = ""
        if not isinstance(self.base_dir, str):
            raise TypeError(f"Partitioning: base_dir must be a str, got {self.base_dir!r}")
        if self.field_names is not None:
            if isinstance(self.field_names, str) or not all(isinstance(n, str) for n in self.field_names):
                raise TypeError(f"Partitioning: field_names must be a list of str, got {self.field_names!r}")
            self.field_names = list(self.field_names)
        if self.style == PartitionStyle.DIRECTORY and not self.field_names:
            raise ValueError("Partitioning('dir') needs field_names: one name per directory level below base_dir")
        if self.field_types is None:
            self.field_types = {}
        bad = {k: v for k, v in self.field_types.items() if v not in PARTITION_TYPES}
        if bad:
            raise TypeError(f"Partitioning: field_types {bad} are not supported; each type must be one of "
                            "int, float, bool, str")

    @property
    def normalized_base_dir(self) -> str:
        """``base_dir`` in the form paths take on its filesystem (no protocol), ending in "/".

        Examples:
            >>> streamscope.datasource.Partitioning("hive", base_dir="memory://data").normalized_base_dir
            '/data/'
        """
        return _normalize(self.base_dir or "", self.filesystem, None)

    def to_pyarrow(self) -> Any:
        """The equivalent ``pyarrow.dataset`` partitioning (fields typed by ``field_types``).

        Examples:
            >>> streamscope.datasource.Partitioning("dir", field_names=["year"], field_types={"year": int}).to_pyarrow().schema
            year: int64
        """
        import pyarrow as pa
        import pyarrow.dataset as pads

        schema = pa.schema([(n, PARTITION_TYPES[self.field_types.get(n, str)]) for n in self.field_names or []])
        if self.style == PartitionStyle.HIVE:
            return pads.HivePartitioning(schema)
        return pads.DirectoryPartitioning(schema)


def _normalize(base_dir: str, filesystem: Any, strip: Optional[Callable[[str], str]]) -> str:
    if not base_dir:
        return ""
    if strip is None and hasattr(filesystem, "_strip_protocol"):
        strip = filesystem._strip_protocol  # an fsspec filesystem
    if strip is None and filesystem is None:
        import fsspec  # third-party, only when a base_dir must be resolved

        _, base_dir = fsspec.core.url_to_fs(base_dir)
    elif strip is not None:
        base_dir = strip(base_dir)
    return base_dir if base_dir.endswith("/") else base_dir + "/"


def _cast(value: str, kind: type, field: str, path: str) -> Any:
    if kind is str:
        return value
    if kind is bool:
        return value.lower() == "true"  # as Ray: anything but "true" is False
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"partition field {field!r}: cannot read {value!r} as {kind.__name__} "
                         f"(field_types) in {path!r}") from None


class PathPartitionParser:
    """Reads the partition keys and values of one file path (``{}`` for an unpartitioned file).

    Examples:
        >>> parse = streamscope.datasource.PathPartitionParser.of("dir", base_dir="/data", field_names=["animal"])
        >>> parse("/data/cat/0001.png"), parse("/data/0002.png")
        ({'animal': 'cat'}, {})
    """

    @staticmethod
    def of(style: Any = PartitionStyle.HIVE, base_dir: Optional[str] = None, field_names: Optional[list[str]] = None,
           field_types: Optional[dict[str, type]] = None, filesystem: Any = None) -> "PathPartitionParser":
        """A parser from the fields of a :class:`Partitioning`.

        Examples:
            >>> streamscope.datasource.PathPartitionParser.of()("t/k=a%20b/f.csv")
            {'k': 'a b'}
        """
        return PathPartitionParser(Partitioning(style, base_dir, field_names, field_types, filesystem))

    def __init__(self, partitioning: Partitioning):
        if not isinstance(partitioning, Partitioning):
            raise TypeError(f"PathPartitionParser expects a Partitioning, got {type(partitioning).__name__}")
        self._scheme = partitioning
        self._base: Optional[str] = None

    @property
    def scheme(self) -> Partitioning:
        """The partitioning this parser reads.

        Examples:
            >>> streamscope.datasource.PathPartitionParser.of("hive").scheme.style.value
            'hive'
        """
        return self._scheme

    def evaluate_predicate_on_partition(self, path: str, predicate: Any) -> bool:
        """Whether ``path``'s partition values pass ``predicate`` (an expression string or Expr
        over partition columns): False for an unpartitioned file, True when the path lacks a
        column the predicate uses (it cannot tell, so the file is kept).

        Examples:
            >>> parse = streamscope.datasource.PathPartitionParser.of()
            >>> parse.evaluate_predicate_on_partition("t/year=2023/f.parquet", "year == '2023'")
            True
        """
        values = self(path)
        if not values:
            return False
        table = pa.table({k: [v] for k, v in values.items()})
        try:
            return bool(as_expr(predicate).filter(table).num_rows)
        except ColumnNotFoundError:
            return True

    def _base_dir(self) -> str:
        if self._base is None:
            self._base = self._scheme.normalized_base_dir
        return self._base

    def __call__(self, path: str) -> dict[str, Any]:
        """The partition values of ``path`` (typed by ``field_types``, else strings).

        Examples:
            >>> streamscope.datasource.PathPartitionParser.of()("root/year=2023/part-0.parquet")
            {'year': '2023'}
        """
        base = self._base_dir()
        if not path.startswith(base):
            return {}
        directory = posixpath.dirname(path[len(base):])
        if self._scheme.style == PartitionStyle.HIVE:
            values = self._parse_hive(directory, path)
        else:
            values = self._parse_dir(directory, path)
        types = self._scheme.field_types or {}
        return {k: _cast(v, types[k], k, path) if k in types else v for k, v in values.items()}

    def _parse_hive(self, directory: str, path: str) -> dict[str, str]:
        pairs = [part.split("=") for part in directory.split("/") if part.count("=") == 1]
        pairs = [(k, urllib.parse.unquote(v)) for k, v in pairs]
        names = self._scheme.field_names
        if names and pairs and [k for k, _ in pairs] != names:
            raise ValueError(f"Partitioning('hive', field_names={names}): {path!r} has partition keys "
                             f"{[k for k, _ in pairs]}; the keys and their order must match field_names")
        return dict(pairs)

    def _parse_dir(self, directory: str, path: str) -> dict[str, str]:
        parts = [part for part in directory.split("/") if part]
        names = self._scheme.field_names or []
        if not parts:
            return {}
        if len(parts) != len(names):
            raise ValueError(
                f"Partitioning('dir', field_names={names}): {path!r} is {len(parts)} directory level(s) below "
                f"base_dir {self._scheme.base_dir!r} ({parts}), expected {len(names)}; set base_dir to the "
                "directory that holds the partition directories")
        return {name: value for name, value in zip(names, parts) if name is not None}


class PathPartitionFilter:
    """Keeps the files whose partition values pass ``filter_fn`` (a dict of a file's partition
    values -> bool; ``{}`` for unpartitioned files); pass it to a read as ``partition_filter=``.
    Files are dropped when the read is built, before any is opened.

    Examples:
        >>> keep = streamscope.datasource.PathPartitionFilter.of(lambda p: p.get("year") == "2023")
        >>> keep(["t/year=2022/a.csv", "t/year=2023/b.csv"])
        ['t/year=2023/b.csv']
    """

    @staticmethod
    def of(filter_fn: Callable[[dict[str, Any]], bool], style: Any = PartitionStyle.HIVE,
           base_dir: Optional[str] = None, field_names: Optional[list[str]] = None,
           field_types: Optional[dict[str, type]] = None, filesystem: Any = None) -> "PathPartitionFilter":
        """A filter from ``filter_fn`` and the fields of a :class:`Partitioning`.

        Examples:
            >>> keep = streamscope.datasource.PathPartitionFilter.of(lambda p: p["n"] > 1, field_types={"n": int})
            >>> keep.apply("t/n=2/f.json")
            True
        """
        parser = PathPartitionParser(Partitioning(style, base_dir, field_names, field_types, filesystem))
        return PathPartitionFilter(parser, filter_fn)

    def __init__(self, path_partition_parser: PathPartitionParser, filter_fn: Callable[[dict[str, Any]], bool]):
        if not callable(filter_fn):
            raise TypeError(f"PathPartitionFilter: filter_fn must be callable, got {filter_fn!r}")
        self._parser = path_partition_parser
        self._filter_fn = filter_fn

    @property
    def parser(self) -> PathPartitionParser:
        """The parser that reads each path's partition values.

        Examples:
            >>> streamscope.datasource.PathPartitionFilter.of(bool).parser.scheme.style.value
            'hive'
        """
        return self._parser

    def __call__(self, paths: list[str]) -> list[str]:
        """The paths that pass the filter, in order.

        Examples:
            >>> streamscope.datasource.PathPartitionFilter.of(bool)(["a.csv", "k=v/b.csv"])
            ['k=v/b.csv']
        """
        return [p for p in paths if self.apply(p)]

    def apply(self, path: str) -> bool:
        """Whether ``path`` passes the filter.

        Examples:
            >>> streamscope.datasource.PathPartitionFilter.of(bool).apply("k=v/b.csv")
            True
        """
        return bool(self._filter_fn(self._parser(path)))


def parser_for(partitioning: Partitioning, strip: Callable[[str], str]) -> PathPartitionParser:
    """A parser whose ``base_dir`` is put in the path form of a datasource's filesystem
    (``strip``: that filesystem's protocol stripping), so it matches the listed paths."""
    parser = PathPartitionParser(partitioning)
    parser._base = _normalize(partitioning.base_dir or "", partitioning.filesystem, strip)
    return parser


def bound_filter(partition_filter: PathPartitionFilter, strip: Callable[[str], str]) -> PathPartitionFilter:
    """``partition_filter`` with its parser bound to a datasource's path form (see :func:`parser_for`)."""
    if not isinstance(partition_filter, PathPartitionFilter):
        raise TypeError("partition_filter must be a PathPartitionFilter (PathPartitionFilter.of(filter_fn, ...)), "
                        f"got {type(partition_filter).__name__}")
    return PathPartitionFilter(parser_for(partition_filter.parser.scheme, strip), partition_filter._filter_fn)
