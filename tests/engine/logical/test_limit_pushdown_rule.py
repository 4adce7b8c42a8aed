"""``map_batches(udf_modifying_row_count=False)`` is the user's promise that the UDF keeps the row
count, so a later ``limit`` moves before it, as in Ray Data 2.60: the UDF then sees only the rows
the limit keeps. Without the promise (the default) the limit stays after the map."""

from __future__ import annotations

import pytest

import streamscope


def _sizes(batch):
    n = len(batch["id"])
    return {"id": batch["id"], "seen": [n] * n}


def test_a_row_preserving_promise_lets_the_limit_move_before_the_map():
    ds = streamscope.range(1000, override_num_blocks=1).map_batches(_sizes, udf_modifying_row_count=False).limit(5)
    assert any("moved below MapBatches(_sizes)" in note for note in ds._explain().rules_fired)
    rows = ds.take_all()
    assert [r["id"] for r in rows] == [0, 1, 2, 3, 4]
    assert max(r["seen"] for r in rows) <= 5


def test_by_default_the_map_sees_whole_blocks_before_the_limit():
    ds = streamscope.range(1000, override_num_blocks=1).map_batches(_sizes).limit(5)
    assert not any("moved below" in note for note in ds._explain().rules_fired)
    rows = ds.take_all()
    assert [r["id"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0]["seen"] == 1000


def test_the_promise_must_be_a_bool():
    with pytest.raises(TypeError, match="udf_modifying_row_count must be True or False"):
        streamscope.range(3).map_batches(_sizes, udf_modifying_row_count="no")
