"""JSON files: newline-delimited records or one JSON array of records (Ray Data's ``read_json``).

Ray Data 2.60 with its default ``lines=False`` reads both shapes: it tries ``pyarrow.json`` (JSON
lines, or a single object) and falls back to ``json.load`` for a top-level array of objects.
``lines=True`` in Ray goes through pandas; here it uses the same pyarrow path, which gives the
same rows for valid JSON lines and keeps pandas out of workers.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pyarrow as pa

from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource, split_file_args

JSON_EXTENSIONS = ["json", "jsonl", "json.gz", "jsonl.gz", "json.br", "jsonl.br", "json.zst", "jsonl.zst",
                   "json.lz4", "jsonl.lz4"]


class JSONDatasource(FileBasedDatasource):
    _FILE_EXTENSIONS = JSON_EXTENSIONS
    _OPEN_COMPRESSION = "infer"

    def __init__(self, paths: Any, *, lines: bool = False, file_extensions: Any = _DEFAULT, **kwargs: Any):
        file_args, arrow_json_args = split_file_args(kwargs)
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        allowed = {"read_options", "parse_options"}
        unknown = set(arrow_json_args) - allowed
        if unknown:
            raise TypeError(f"read_json got unexpected arrow_json_args {sorted(unknown)}; allowed: {sorted(allowed)}")
        self._lines = lines
        self._arrow_json_args = arrow_json_args

    def get_name(self) -> str:
        return "ReadJSON"

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        import pyarrow.json as pajson

        data = f.read()
        if not data.strip():
            return
        if data.lstrip()[:1] == b"[":
            yield self._from_array(data)
            return
        try:
            table = pajson.read_json(pa.BufferReader(data), **self._arrow_json_args)
        except pa.ArrowInvalid as exc:
            if self._lines:
                raise _at_bad_line(data, exc) from exc
            try:
                table = self._from_array(data)  # e.g. a pretty-printed single object
            except ValueError as second:
                raise _at_bad_line(data, second) from second
        yield table

    def _from_array(self, data: bytes) -> pa.Table:
        parsed = json.loads(data)
        rows = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(r, dict) for r in rows):
            raise ValueError("a JSON array must hold objects (one per row)")
        parse_options = self._arrow_json_args.get("parse_options")
        schema = getattr(parse_options, "explicit_schema", None)
        return pa.Table.from_pylist(rows, schema=schema)


def _at_bad_line(data: bytes, exc: BaseException) -> BaseException:
    """The error for a file of JSON lines that does not parse, naming the first line that is not
    JSON (1-based): pyarrow's message counts rows from the start of its current block, not the
    file, and ``json.loads`` of the whole file reports "Extra data" after the first good line.
    ``exc`` itself when no single line is to blame (a pretty-printed object, say)."""
    lines = data.splitlines()
    if len([line for line in lines if line.strip()]) < 2:
        return exc
    try:
        first = next(line for line in lines if line.strip())
        if not isinstance(json.loads(first), dict):
            return exc
    except ValueError:
        return exc  # not JSON lines at all: the first line is the bad one, or it is not lines
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except ValueError as bad:
            return ValueError(f"JSON parse error at line {number}: {bad}")
    return exc
