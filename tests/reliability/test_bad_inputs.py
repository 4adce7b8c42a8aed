"""Bad input files: a truncated or corrupt Parquet file, a CSV with a bad row, an undecodable
image, a JSON line that does not parse. Each fails the read with an error naming the file (and
the row or line where the format knows it); the skip options work: pyarrow's CSV
``invalid_row_handler`` (through ``read_csv(parse_options=...)``, as in Ray Data) drops exactly
the bad rows, and ``DataContext.max_errored_blocks`` drops exactly the bad file among good ones
(one file per read task here). Expected rows come from pyarrow / plain Python."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from PIL import Image

import streamscope as ss
from streamscope.engine.exceptions import DataSourceError


def _parquet(path, start: int, n: int = 500) -> pa.Table:
    table = pa.table({"a": np.arange(start, start + n), "b": np.arange(start, start + n) * 0.5})
    pq.write_table(table, path, row_group_size=100)
    return table


def _good_parquet_files(tmp_path, count=3) -> int:
    for i in range(count):
        _parquet(tmp_path / f"good{i}.parquet", i * 1000)
    return sum(sum(range(i * 1000, i * 1000 + 500)) for i in range(count))


def test_a_truncated_parquet_file_is_named(runtime, leaks, tmp_path):
    _parquet(tmp_path / "whole.parquet", 0)
    data = (tmp_path / "whole.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataSourceError) as info:
        ss.read_parquet(str(tmp_path / "cut.parquet")).take_all()
    assert str(tmp_path / "cut.parquet") in str(info.value) and "corrupt" in str(info.value)
    leaks.check()


def test_a_corrupt_parquet_file_is_named_and_can_be_skipped_among_good_ones(runtime, ctx, leaks, tmp_path):
    expected = _good_parquet_files(tmp_path)
    table = _parquet(tmp_path / "bad.parquet", 50_000)
    data = bytearray((tmp_path / "bad.parquet").read_bytes())
    meta = pq.ParquetFile(tmp_path / "bad.parquet").metadata
    start = meta.row_group(0).column(0).data_page_offset
    data[start:start + 200] = b"\xff" * 200  # the first row group's pages: footer intact
    (tmp_path / "bad.parquet").write_bytes(bytes(data))
    with pytest.raises(DataSourceError) as info:
        ss.read_parquet(str(tmp_path)).sum("a")
    assert str(tmp_path / "bad.parquet") in str(info.value)
    ctx.max_errored_blocks = 1
    ds = ss.read_parquet(str(tmp_path), override_num_blocks=4)
    rows = ds.take_all()
    assert sum(r["a"] for r in rows) == expected and len(rows) == 1500  # every good row, no bad one
    assert ds.stats().errored_blocks == 1
    assert table.num_rows == 500
    leaks.check()


def test_a_csv_row_with_too_few_fields_is_named_and_the_handler_skips_exactly_it(runtime, leaks, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n")
    with pytest.raises(DataSourceError) as info:
        ss.read_csv(str(path)).take_all()
    message = str(info.value)
    assert str(path) in message and "Row #4" in message and "Expected 3 columns, got 2: 7,8" in message
    skipped = []

    def skip(row):
        skipped.append(row.text)
        return "skip"

    rows = ss.read_csv(str(path), parse_options=pacsv.ParseOptions(invalid_row_handler=skip)).take_all()
    expected = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(invalid_row_handler=lambda r: "skip")).to_pylist()
    assert rows == expected == [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}, {"a": 9, "b": 10, "c": 11}]
    leaks.check()


@pytest.mark.parametrize("lines", [True, False])
def test_a_json_line_that_does_not_parse_is_named_with_its_line(runtime, leaks, tmp_path, lines):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n\n{"a": 3\n{"a": 4}\n')
    with pytest.raises(DataSourceError) as info:
        ss.read_json(str(path), lines=lines).take_all()
    assert str(path) in str(info.value) and "JSON parse error at line 4" in str(info.value)
    leaks.check()


def _png(path, value: int) -> None:
    Image.fromarray(np.full((4, 4, 3), value, dtype=np.uint8)).save(path)


def test_an_undecodable_image_is_named_and_can_be_skipped_among_good_ones(runtime, ctx, leaks, tmp_path):
    for i in range(3):
        _png(tmp_path / f"good{i}.png", 10 * (i + 1))
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(buffer, format="PNG")
    (tmp_path / "bad.png").write_bytes(buffer.getvalue()[:30])  # a PNG header, then nothing
    with pytest.raises(DataSourceError) as info:
        ss.read_images(str(tmp_path)).take_all()
    assert str(tmp_path / "bad.png") in str(info.value)
    ctx.max_errored_blocks = 1
    ds = ss.read_images(str(tmp_path), override_num_blocks=4)
    values = sorted(int(np.asarray(r["image"]).max()) for r in ds.take_all())
    assert values == [10, 20, 30]
    assert ds.stats().errored_blocks == 1
    leaks.check()
