"""``col("s").str``: string methods of expressions, as Ray Data 2.60's ``_StringNamespace``.

Each method is one pyarrow compute kernel (``pc.utf8_upper``, ``pc.starts_with``, ...) with
Ray's name, arguments and return type; the extra ``*args, **kwargs`` some take go to the kernel
as they do in Ray (e.g. ``starts_with("a", ignore_case=True)``). Being pyarrow kernels, string
predicates push into Parquet scans like comparisons do.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

import pyarrow.compute as pc

from streamscope.engine.datatype import DataType

_INT, _STR, _BOOL, _OBJ = DataType.int32(), DataType.string(), DataType.bool(), DataType(object)


def _args_text(args: tuple, kwargs: dict) -> str:
    return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])


class _StringNamespace:
    """String operations on an expression (``col("name").str.upper()``).

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.expressions import col
        >>> col("name").str.upper().evaluate(pa.table({"name": ["Alice", "Bob"]})).to_pylist()
        ['ALICE', 'BOB']
    """

    def __init__(self, expr: Any):
        self._expr = expr

    def _call(self, func: Any, dtype: DataType, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._expr._pc_call(func, dtype, f"str.{method}({_args_text(args, kwargs)})", args, kwargs)

    # lengths
    def len(self) -> Any:
        """Length in characters (int32).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.len().evaluate(pa.table({"s": ["héllo", ""]})).to_pylist()
            [5, 0]
        """
        return self._call(pc.utf8_length, _INT, "len")

    def byte_len(self) -> Any:
        """Length in bytes (int32).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.byte_len().evaluate(pa.table({"s": ["héllo"]})).to_pylist()
            [6]
        """
        return self._call(pc.binary_length, _INT, "byte_len")

    # case
    def upper(self) -> Any:
        """Upper case.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.upper().evaluate(pa.table({"s": ["ab"]})).to_pylist()
            ['AB']
        """
        return self._call(pc.utf8_upper, _STR, "upper")

    def lower(self) -> Any:
        """Lower case.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.lower().evaluate(pa.table({"s": ["AB"]})).to_pylist()
            ['ab']
        """
        return self._call(pc.utf8_lower, _STR, "lower")

    def capitalize(self) -> Any:
        """First character upper case, the rest lower case.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.capitalize().evaluate(pa.table({"s": ["hELLO"]})).to_pylist()
            ['Hello']
        """
        return self._call(pc.utf8_capitalize, _STR, "capitalize")

    def title(self) -> Any:
        """Each word capitalized.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.title().evaluate(pa.table({"s": ["big data"]})).to_pylist()
            ['Big Data']
        """
        return self._call(pc.utf8_title, _STR, "title")

    def swapcase(self) -> Any:
        """Upper case to lower and lower to upper.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.swapcase().evaluate(pa.table({"s": ["aB"]})).to_pylist()
            ['Ab']
        """
        return self._call(pc.utf8_swapcase, _STR, "swapcase")

    # character classes
    def is_alpha(self) -> Any:
        """Whether every character is alphabetic.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_alpha().evaluate(pa.table({"s": ["ab", "a1"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_alpha, _BOOL, "is_alpha")

    def is_alnum(self) -> Any:
        """Whether every character is alphanumeric.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_alnum().evaluate(pa.table({"s": ["a1", "a-1"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_alnum, _BOOL, "is_alnum")

    def is_digit(self) -> Any:
        """Whether every character is a digit.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_digit().evaluate(pa.table({"s": ["12", "1a"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_digit, _BOOL, "is_digit")

    def is_decimal(self) -> Any:
        """Whether every character is a decimal digit.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_decimal().evaluate(pa.table({"s": ["12", "1.5"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_decimal, _BOOL, "is_decimal")

    def is_numeric(self) -> Any:
        """Whether every character is numeric.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_numeric().evaluate(pa.table({"s": ["12", "x"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_numeric, _BOOL, "is_numeric")

    def is_space(self) -> Any:
        """Whether every character is whitespace.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_space().evaluate(pa.table({"s": [" ", " a"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_space, _BOOL, "is_space")

    def is_lower(self) -> Any:
        """Whether the string is lower case.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_lower().evaluate(pa.table({"s": ["ab", "Ab"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_lower, _BOOL, "is_lower")

    def is_upper(self) -> Any:
        """Whether the string is upper case.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_upper().evaluate(pa.table({"s": ["AB", "Ab"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_upper, _BOOL, "is_upper")

    def is_title(self) -> Any:
        """Whether the string is title-cased.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_title().evaluate(pa.table({"s": ["Big Data", "big"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_title, _BOOL, "is_title")

    def is_printable(self) -> Any:
        """Whether every character is printable.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_printable().evaluate(pa.table({"s": ["ab", "a\\n"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.utf8_is_printable, _BOOL, "is_printable")

    def is_ascii(self) -> Any:
        """Whether every character is ASCII.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.is_ascii().evaluate(pa.table({"s": ["ab", "é"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.string_is_ascii, _BOOL, "is_ascii")

    # searching
    def starts_with(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Whether the string starts with ``pattern`` (``ignore_case=True`` folds case).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.starts_with("a").evaluate(pa.table({"s": ["ab", "ba"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.starts_with, _BOOL, "starts_with", pattern, *args, **kwargs)

    def ends_with(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Whether the string ends with ``pattern``.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.ends_with("a").evaluate(pa.table({"s": ["ab", "ba"]})).to_pylist()
            [False, True]
        """
        return self._call(pc.ends_with, _BOOL, "ends_with", pattern, *args, **kwargs)

    def contains(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Whether ``pattern`` occurs in the string (a plain substring, not a regex).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.contains("b").evaluate(pa.table({"s": ["abc", "ac"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.match_substring, _BOOL, "contains", pattern, *args, **kwargs)

    def match(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Whether the string matches the SQL ``LIKE`` pattern (``%`` and ``_`` wildcards).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.match("a%c").evaluate(pa.table({"s": ["abc", "abd"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.match_like, _BOOL, "match", pattern, *args, **kwargs)

    def find(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Index of the first occurrence of ``pattern`` (-1 if none).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.find("c").evaluate(pa.table({"s": ["abc", "ab"]})).to_pylist()
            [2, -1]
        """
        return self._call(pc.find_substring, _INT, "find", pattern, *args, **kwargs)

    def count(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Number of non-overlapping occurrences of ``pattern``.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.count("a").evaluate(pa.table({"s": ["banana"]})).to_pylist()
            [3]
        """
        return self._call(pc.count_substring, _INT, "count", pattern, *args, **kwargs)

    def find_regex(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Index of the first match of regular expression ``pattern`` (-1 if none).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.find_regex("[0-9]").evaluate(pa.table({"s": ["ab1", "ab"]})).to_pylist()
            [2, -1]
        """
        return self._call(pc.find_substring_regex, _INT, "find_regex", pattern, *args, **kwargs)

    def count_regex(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Number of non-overlapping matches of regular expression ``pattern``.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.count_regex("[0-9]").evaluate(pa.table({"s": ["a1b22"]})).to_pylist()
            [3]
        """
        return self._call(pc.count_substring_regex, _INT, "count_regex", pattern, *args, **kwargs)

    def match_regex(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """Whether regular expression ``pattern`` matches somewhere in the string.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.match_regex("^a.c$").evaluate(pa.table({"s": ["abc", "abcd"]})).to_pylist()
            [True, False]
        """
        return self._call(pc.match_substring_regex, _BOOL, "match_regex", pattern, *args, **kwargs)

    # transformations
    def reverse(self) -> Any:
        """The characters in reverse order.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.reverse().evaluate(pa.table({"s": ["abc"]})).to_pylist()
            ['cba']
        """
        return self._call(pc.utf8_reverse, _STR, "reverse")

    def slice(self, *args: Any, **kwargs: Any) -> Any:
        """Characters ``start`` to ``stop`` by ``step`` (pyarrow's ``utf8_slice_codeunits``).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.slice(1, 3).evaluate(pa.table({"s": ["abcd"]})).to_pylist()
            ['bc']
        """
        return self._call(pc.utf8_slice_codeunits, _STR, "slice", *args, **kwargs)

    def replace(self, pattern: str, replacement: str, *args: Any, **kwargs: Any) -> Any:
        """Every occurrence of ``pattern`` replaced (``max_replacements=`` bounds them).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.replace("-", "").evaluate(pa.table({"s": ["a-b-c"]})).to_pylist()
            ['abc']
        """
        return self._call(pc.replace_substring, _STR, "replace", pattern, replacement, *args, **kwargs)

    def replace_regex(self, pattern: str, replacement: str, *args: Any, **kwargs: Any) -> Any:
        """Every match of regular expression ``pattern`` replaced (``\\1`` refers to groups).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.replace_regex("[0-9]+", "#").evaluate(pa.table({"s": ["a12b3"]})).to_pylist()
            ['a#b#']
        """
        return self._call(pc.replace_substring_regex, _STR, "replace_regex", pattern, replacement, *args, **kwargs)

    def replace_slice(self, start: int, stop: int, replacement: str, *args: Any, **kwargs: Any) -> Any:
        """Bytes ``start`` to ``stop`` replaced by ``replacement``.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.replace_slice(1, 3, "XY").evaluate(pa.table({"s": ["abcd"]})).to_pylist()
            ['aXYd']
        """
        return self._call(pc.binary_replace_slice, _STR, "replace_slice", start, stop, replacement, *args, **kwargs)

    def split(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """A list of the parts between occurrences of ``pattern``.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.split(",").evaluate(pa.table({"s": ["a,b"]})).to_pylist()
            [['a', 'b']]
        """
        return self._call(pc.split_pattern, _OBJ, "split", pattern, *args, **kwargs)

    def split_regex(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """A list of the parts between matches of regular expression ``pattern``.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.split_regex("[,;]").evaluate(pa.table({"s": ["a,b;c"]})).to_pylist()
            [['a', 'b', 'c']]
        """
        return self._call(pc.split_pattern_regex, _OBJ, "split_regex", pattern, *args, **kwargs)

    def split_whitespace(self, *args: Any, **kwargs: Any) -> Any:
        """A list of the whitespace-separated words.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.split_whitespace().evaluate(pa.table({"s": ["a  b c"]})).to_pylist()
            [['a', 'b', 'c']]
        """
        return self._call(pc.utf8_split_whitespace, _OBJ, "split_whitespace", *args, **kwargs)

    def extract(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        """The named groups of regular expression ``pattern`` as a struct (null where no match).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.extract("(?P<n>[0-9]+)").evaluate(pa.table({"s": ["ab12"]})).to_pylist()
            [{'n': '12'}]
        """
        return self._call(pc.extract_regex, _STR, "extract", pattern, *args, **kwargs)

    def repeat(self, n: int, *args: Any, **kwargs: Any) -> Any:
        """The string repeated ``n`` times.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.repeat(3).evaluate(pa.table({"s": ["ab"]})).to_pylist()
            ['ababab']
        """
        return self._call(pc.binary_repeat, _STR, "repeat", n, *args, **kwargs)

    def center(self, width: int, padding: str = " ", *args: Any, **kwargs: Any) -> Any:
        """Centered in ``width`` characters, padded with ``padding``.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.center(5, "*").evaluate(pa.table({"s": ["ab"]})).to_pylist()
            ['*ab**']
        """
        return self._call(pc.utf8_center, _STR, "center", width, padding, *args, **kwargs)

    def lpad(self, width: int, padding: str = " ", *args: Any, **kwargs: Any) -> Any:
        """Right-aligned in ``width`` characters (longer strings stay whole).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.lpad(4, "0").evaluate(pa.table({"s": ["7", "12345"]})).to_pylist()
            ['0007', '12345']
        """
        return self._call(pc.utf8_lpad, _STR, "lpad", width, padding, *args, **kwargs)

    def rpad(self, width: int, padding: str = " ", *args: Any, **kwargs: Any) -> Any:
        """Left-aligned in ``width`` characters (longer strings stay whole).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.rpad(3, ".").evaluate(pa.table({"s": ["a"]})).to_pylist()
            ['a..']
        """
        return self._call(pc.utf8_rpad, _STR, "rpad", width, padding, *args, **kwargs)

    def strip(self, characters: Optional[str] = None) -> Any:
        """Leading and trailing whitespace (or any of ``characters``) removed.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.strip().evaluate(pa.table({"s": ["  ab "]})).to_pylist()
            ['ab']
        """
        if characters is None:
            return self._call(pc.utf8_trim_whitespace, _STR, "strip")
        return self._call(pc.utf8_trim, _STR, "strip", characters=characters)

    def lstrip(self, characters: Optional[str] = None) -> Any:
        """Leading whitespace (or any of ``characters``) removed.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.lstrip("x").evaluate(pa.table({"s": ["xxab"]})).to_pylist()
            ['ab']
        """
        if characters is None:
            return self._call(pc.utf8_ltrim_whitespace, _STR, "lstrip")
        return self._call(pc.utf8_ltrim, _STR, "lstrip", characters=characters)

    def rstrip(self, characters: Optional[str] = None) -> Any:
        """Trailing whitespace (or any of ``characters``) removed.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.rstrip().evaluate(pa.table({"s": ["ab  "]})).to_pylist()
            ['ab']
        """
        if characters is None:
            return self._call(pc.utf8_rtrim_whitespace, _STR, "rstrip")
        return self._call(pc.utf8_rtrim, _STR, "rstrip", characters=characters)

    def pad(self, width: int, fillchar: str = " ", side: Literal["left", "right", "both"] = "right") -> Any:
        """Padded to ``width`` with ``fillchar`` on the ``side`` given.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.pad(3, "-", side="left").evaluate(pa.table({"s": ["a"]})).to_pylist()
            ['--a']
        """
        funcs = {"right": pc.utf8_rpad, "left": pc.utf8_lpad, "both": pc.utf8_center}
        if side not in funcs:
            raise ValueError("side must be 'left', 'right', or 'both'")
        return self._call(funcs[side], _STR, "pad", width=width, padding=fillchar)
