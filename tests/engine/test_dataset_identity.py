"""Dataset.get_dataset_id and Dataset.copy as Ray Data 2.60 has them."""

from __future__ import annotations

import gc

import streamscope


def test_a_dataset_keeps_one_id_and_others_get_their_own():
    ds = streamscope.range(5)
    assert ds.get_dataset_id() == ds.get_dataset_id()
    assert ds.get_dataset_id() != ds.map(lambda row: row).get_dataset_id()
    assert ds.get_dataset_id().startswith("dataset_")


def test_a_copy_is_a_new_dataset_over_the_same_rows():
    ds = streamscope.range(12, override_num_blocks=3).map(lambda row: {"id": row["id"] * 2})
    for deep in (False, True):
        copied = streamscope.Dataset.copy(ds, _deep_copy=deep)
        assert copied is not ds and copied.get_dataset_id() != ds.get_dataset_id()
        assert sorted(r["id"] for r in copied.take_all()) == [2 * i for i in range(12)]
    assert (streamscope.Dataset.copy(ds, _deep_copy=True)._plan.dag is ds._plan.dag) is False


def test_a_copy_of_a_materialized_dataset_keeps_its_blocks_alive_and_frees_them_once():
    mat = streamscope.range(30, override_num_blocks=3).map(lambda row: row).materialize()
    copied = streamscope.Dataset.copy(mat, _deep_copy=True)
    del mat
    gc.collect()  # the original's owner is gone; the copy still reads the same blocks
    assert type(copied).__name__ == "MaterializedDataset"
    assert sum(r["id"] for r in copied.take_all()) == sum(range(30))
