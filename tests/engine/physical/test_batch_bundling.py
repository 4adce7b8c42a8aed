"""map_batches(batch_size=N) hands its UDF the batches Ray Data's would: upstream blocks are bundled
until a bundle holds at least N rows (never sliced, never started early because upstream is slow),
and each bundle is cut into N-row batches with its remainder last. The expected sizes come from a
plain-Python model of that rule, applied to the upstream block sizes."""

from __future__ import annotations

import time

import pytest

import streamscope


def expected_batch_sizes(block_rows: list[int], batch_size: int) -> list[int]:
    """Ray Data 2.60's rule: bundle blocks until >= batch_size rows, then batch each bundle."""
    sizes, pending = [], 0
    for rows in block_rows:
        pending += rows
        if pending >= batch_size:
            sizes += [batch_size] * (pending // batch_size) + ([pending % batch_size] if pending % batch_size else [])
            pending = 0
    if pending:
        sizes.append(pending)
    return sorted(sizes)


def batch_sizes_seen(ds) -> list[int]:
    def record(batch):
        n = len(batch["id"])
        return {"size": [n] * n}

    rows = ds.map_batches(record, batch_size=BATCH).take_all()
    counts: dict[int, int] = {}
    for row in rows:
        counts[row["size"]] = counts.get(row["size"], 0) + 1
    return sorted(size for size, n in counts.items() for _ in range(n // size))


BATCH = 4


def _slow_identity(row):
    time.sleep(0.15)  # slower than any bundling wait, so an early start would show
    return row


@pytest.mark.parametrize(
    "make, block_rows",
    [
        (lambda: streamscope.range(12, override_num_blocks=12), [1] * 12),
        (lambda: streamscope.range(12, override_num_blocks=12).map(lambda row: row), [1] * 12),
        (lambda: streamscope.range(40, override_num_blocks=4), [10] * 4),
        (lambda: streamscope.range(12, override_num_blocks=12).map(_slow_identity), [1] * 12),
        (lambda: streamscope.range(18, override_num_blocks=3), [6] * 3),
    ],
    ids=["one-row-read-tasks", "after-a-map", "large-blocks", "slow-upstream", "remainders"],
)
def test_batches_are_bundled_as_ray_data_bundles_them(make, block_rows):
    assert batch_sizes_seen(make()) == expected_batch_sizes(block_rows, BATCH)


def test_a_batch_size_keeps_the_map_apart_from_its_read():
    """Fused into the read, each 1-row read task would be its own batch."""
    text = streamscope.range(12, override_num_blocks=12).map_batches(lambda b: b, batch_size=4)._explain().physical.text
    assert "ReadRange->MapBatches" not in text and "MapBatches" in text
