"""JAX integration against the real jax (CPU, one device here): Dataset.iter_jax_batches and
DataIterator.iter_jax_batches (also from streaming_split), with expected values from numpy and
expected dtypes from ``jnp.asarray`` (JAX's own rules, x64 off by default), and the errors."""

from __future__ import annotations

import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import streamscope as ss
from streamscope.collate_fn import ArrowBatchCollateFn, NumpyBatchCollateFn, PandasBatchCollateFn


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"i": np.arange(n, dtype=np.int64), "f": rng.random(n), "b": np.arange(n) % 3 == 0,
                         "u": (np.arange(n) % 250).astype(np.uint8)})


def _rows_of(batches, column):
    return np.concatenate([np.asarray(b[column]) for b in batches])


def test_values_and_dtypes_match_numpy_and_jax(ctx):
    df = _frame(103)
    batches = list(ss.from_pandas(df).iter_jax_batches(batch_size=10))
    assert all(isinstance(b[c], jax.Array) for b in batches for c in df.columns)
    assert [len(b["i"]) for b in batches] == [10] * 10 + [3]
    order = np.argsort(_rows_of(batches, "i"))
    for column in df.columns:
        got = _rows_of(batches, column)[order]
        np.testing.assert_allclose(got, np.asarray(jnp.asarray(df[column].to_numpy())), rtol=1e-6)
        assert batches[0][column].dtype == jnp.asarray(df[column].to_numpy()).dtype
    assert batches[0]["i"].dtype == jnp.int32  # int64 without jax_enable_x64, as jnp.asarray gives


def test_dtypes_one_for_all_and_per_column(ctx):
    ds = ss.from_pandas(_frame(8))
    one = next(iter(ds.iter_jax_batches(batch_size=8, dtypes=jnp.float16)))
    assert {c: one[c].dtype for c in one} == {c: jnp.dtype(jnp.float16) for c in one}
    per = next(iter(ds.iter_jax_batches(batch_size=8, dtypes={"i": jnp.float32, "u": jnp.int16})))
    assert per["i"].dtype == jnp.float32 and per["u"].dtype == jnp.int16 and per["f"].dtype == jnp.float32
    np.testing.assert_array_equal(np.sort(np.asarray(per["i"])), np.arange(8, dtype=np.float32))


def test_drop_last_and_batch_size(ctx):
    ds = ss.range(23)
    assert [len(b["id"]) for b in ds.iter_jax_batches(batch_size=5)] == [5, 5, 5, 5, 3]
    kept = list(ds.iter_jax_batches(batch_size=5, drop_last=True))
    assert [len(b["id"]) for b in kept] == [5, 5, 5, 5]
    assert len(set(_rows_of(kept, "id").tolist())) == 20


def test_paddings_fill_the_last_batch(ctx):
    ds = ss.from_items([{"a": i, "x": float(i)} for i in range(7)], override_num_blocks=1)
    batches = list(ds.iter_jax_batches(batch_size=4, paddings={"a": -1, "x": 0.5}))
    assert [b["a"].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, -1]]
    assert batches[1]["x"].tolist() == [4.0, 5.0, 6.0, 0.5]
    with pytest.raises(ValueError, match=r"paddings has no value for columns \['x'\]"):
        list(ds.iter_jax_batches(batch_size=4, paddings={"a": -1}))


def test_local_shuffle_is_seeded_and_keeps_every_row(ctx):
    ds = ss.range(200, override_num_blocks=1)  # one block: the same input order on both passes
    first = _rows_of(list(ds.iter_jax_batches(batch_size=20, local_shuffle_buffer_size=50, local_shuffle_seed=3)), "id")
    again = _rows_of(list(ds.iter_jax_batches(batch_size=20, local_shuffle_buffer_size=50, local_shuffle_seed=3)), "id")
    assert sorted(first.tolist()) == list(range(200))
    assert first.tolist() != sorted(first.tolist())
    assert first.tolist() == again.tolist()


def test_tensor_columns_keep_their_shape(ctx):
    rows = [{"t": np.full((2, 3), i, dtype=np.float32)} for i in range(4)]
    batch = next(iter(ss.from_items(rows, override_num_blocks=1).iter_jax_batches(batch_size=4)))
    assert batch["t"].shape == (4, 2, 3) and batch["t"].dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(batch["t"]), np.stack([r["t"] for r in rows]))


def test_batches_are_sharded_over_the_jax_devices(ctx):
    batch = next(iter(ss.range(8).iter_jax_batches(batch_size=8)))
    sharding = batch["id"].sharding
    assert set(sharding.device_set) == set(jax.devices())
    assert sharding.spec == jax.sharding.PartitionSpec("data")


def test_collate_fn_classes_choose_the_batch_format(ctx):
    ds = ss.from_items([{"a": i} for i in range(6)], override_num_blocks=1)

    class Numpy(NumpyBatchCollateFn):
        def __call__(self, batch):
            assert isinstance(batch, dict)
            return batch["a"] * 10  # one array: the batch is one JAX array

    class Arrow(ArrowBatchCollateFn):
        def __call__(self, table):
            return {"n": np.asarray(table.column("a")) + 1}

    class Pandas(PandasBatchCollateFn):
        def __call__(self, df):
            return {"neg": -df["a"].to_numpy()}

    assert [b.tolist() for b in ds.iter_jax_batches(batch_size=3, collate_fn=Numpy())] == [[0, 10, 20], [30, 40, 50]]
    assert [b["n"].tolist() for b in ds.iter_jax_batches(batch_size=3, collate_fn=Arrow())] == [[1, 2, 3], [4, 5, 6]]
    assert [b["neg"].tolist() for b in ds.iter_jax_batches(batch_size=6, collate_fn=Pandas())] == [[0, -1, -2, -3, -4, -5]]
    with pytest.raises(ValueError, match="unsupported collate_fn.*NumpyBatchCollateFn"):
        ds.iter_jax_batches(collate_fn=lambda batch: batch)


def test_bad_dtype_and_bad_column_are_named(ctx):
    ds = ss.from_items([{"a": 1, "s": "text"}])
    with pytest.raises(TypeError, match=r"dtypes for column 'a': 'not-a-dtype'"):
        ds.iter_jax_batches(dtypes={"a": "not-a-dtype"})  # refused at the call, before any run
    with pytest.raises(ValueError, match=r"dtypes names \['nope'\]"):
        list(ds.select_columns(["a"]).iter_jax_batches(batch_size=1, dtypes={"nope": jnp.float32}))
    with pytest.raises(TypeError, match=r"column 's' \(object"):
        list(ds.iter_jax_batches(batch_size=1))


def test_batch_size_must_be_a_positive_int(ctx):
    for bad in (0, -4, None):
        with pytest.raises(ValueError, match="batch_size"):
            ss.range(4).iter_jax_batches(batch_size=bad)


def test_data_iterator_and_streaming_split(ctx):
    it = ss.range(12).iterator()
    assert sorted(_rows_of(list(it.iter_jax_batches(batch_size=4)), "id").tolist()) == list(range(12))
    left, right = ss.range(100, override_num_blocks=5).streaming_split(2, equal=True)
    seen, errors = {}, []

    def consume(name, split):
        try:
            seen[name] = [b["id"] for b in split.iter_jax_batches(batch_size=10, drop_last=True)]
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(n, s)) for n, s in (("l", left), ("r", right))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert all(isinstance(b, jax.Array) and b.shape == (10,) for bs in seen.values() for b in bs)
    values = np.concatenate([np.asarray(b) for bs in seen.values() for b in bs]).tolist()
    assert len(values) == 100 and sorted(values) == list(range(100))


def test_missing_jax_names_the_extra(ctx, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ImportError, match=r"pip install 'streamscope\[jax\]'"):
        ss.range(5).iter_jax_batches()
    with pytest.raises(ImportError, match=r"pip install 'streamscope\[jax\]'"):
        ss.range(5).iterator().iter_jax_batches()
