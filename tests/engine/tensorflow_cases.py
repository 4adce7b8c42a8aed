"""TensorFlow integration against the real TensorFlow (tensorflow-cpu): iter_tf_batches and to_tf on
Dataset and DataIterator (also from streaming_split), expected values from numpy and element
specs/dtypes as TensorFlow infers them from numpy, and the errors.

Not collected by pytest itself (no ``test_`` prefix): ``test_tensorflow_api.py`` runs this file in an
interpreter of its own, because TensorFlow and the ``tfrecord`` package that the TFRecord tests
import register the same protobuf names and cannot share a process."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf  # the dev environment has tensorflow-cpu (scripts/bootstrap.sh)

import streamscope as ss


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame({"i": np.arange(n, dtype=np.int64), "f": rng.random(n), "w": np.ones(n, dtype=np.float32),
                         "s": [f"r{k}" for k in range(n)]})


def _dataset(n: int = 10):
    return ss.from_pandas(_frame(n)).repartition(1)


def test_iter_tf_batches_values_dtypes_and_drop_last(ctx):
    df = _frame(10)
    it = _dataset().iterator()
    batches = list(it.iter_tf_batches(batch_size=4))
    assert [int(b["i"].shape[0]) for b in batches] == [4, 4, 2]
    for column in df.columns:
        want = tf.convert_to_tensor(df[column].to_numpy())
        assert batches[0][column].dtype == want.dtype
        np.testing.assert_array_equal(np.concatenate([b[column].numpy() for b in batches]), want.numpy())
    assert [int(b["i"].shape[0]) for b in it.iter_tf_batches(batch_size=4, drop_last=True)] == [4, 4]


def test_iter_tf_batches_dtypes_and_the_deprecation_warning(ctx):
    ds = _dataset(6)
    with pytest.warns(DeprecationWarning, match="to_tf"):
        batches = ds.iter_tf_batches(batch_size=6, dtypes={"i": tf.float32})
    batch = next(iter(batches))
    assert batch["i"].dtype == tf.float32 and batch["f"].dtype == tf.float64
    np.testing.assert_array_equal(batch["i"].numpy(), np.arange(6, dtype=np.float32))
    with pytest.warns(DeprecationWarning):
        one = next(iter(ds.select_columns(["i", "f"]).iter_tf_batches(batch_size=6, dtypes=tf.float16)))
    assert one["i"].dtype == tf.float16 and one["f"].dtype == tf.float16


def test_to_tf_returns_a_tf_dataset_of_features_and_labels(ctx):
    df = _frame(10)
    tf_ds = _dataset().to_tf("f", "i", batch_size=4)
    assert isinstance(tf_ds, tf.data.Dataset)
    assert tf_ds.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.OFF
    assert tf_ds.element_spec == (tf.TensorSpec((None,), tf.float64, name="f"), tf.TensorSpec((None,), tf.int64, name="i"))
    pairs = list(tf_ds)
    assert [int(x.shape[0]) for x, _ in pairs] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([x.numpy() for x, _ in pairs]), df["f"].to_numpy())
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in pairs]), df["i"].to_numpy())
    assert len(list(_dataset().to_tf("f", "i", batch_size=4, drop_last=True))) == 2


def test_to_tf_lists_give_dicts_and_additional_columns_a_third_part(ctx):
    tf_ds = _dataset(4).to_tf(["f", "i"], ["s"], additional_columns="w", batch_size=4)
    features, labels, weights = next(iter(tf_ds))
    assert set(features) == {"f", "i"} and set(labels) == {"s"}
    assert labels["s"].dtype == tf.string and labels["s"].numpy().tolist() == [b"r0", b"r1", b"r2", b"r3"]
    assert weights.dtype == tf.float32 and weights.numpy().tolist() == [1.0] * 4


def test_to_tf_type_specs_given_and_inferred_for_tensors_and_lists(ctx):
    rows = [{"t": np.full((2, 3), i, dtype=np.float32), "l": list(range(i)), "y": i} for i in range(4)]
    ds = ss.from_items(rows, override_num_blocks=1)
    spec = ds.to_tf("t", "l").element_spec
    assert spec[0] == tf.TensorSpec((None, 2, 3), tf.float32, name="t")
    assert isinstance(spec[1], tf.RaggedTensorSpec) and spec[1].dtype == tf.int64
    t, ragged = next(iter(ds.to_tf("t", "l", batch_size=4)))
    np.testing.assert_array_equal(t.numpy(), np.stack([r["t"] for r in rows]))
    assert ragged.to_list() == [[], [0], [0, 1], [0, 1, 2]]
    given = ds.to_tf("y", "y", feature_type_spec=tf.TensorSpec((None,), tf.float32, name="feat"),
                     label_type_spec=tf.TensorSpec((None,), tf.int32), batch_size=4)
    x, y = next(iter(given))
    assert x.dtype == tf.float32 and y.dtype == tf.int32 and x.numpy().tolist() == [0.0, 1.0, 2.0, 3.0]


def test_bad_column_and_bad_dtype_are_named(ctx):
    with pytest.raises(ValueError, match=r"no column 'nope'.*\['i', 'f', 'w', 's'\]"):
        _dataset().to_tf("nope", "i")
    with pytest.raises(TypeError, match=r"dtypes for column 'i': 'bogus'"):
        _dataset().iterator().iter_tf_batches(dtypes={"i": "bogus"})
    with pytest.raises(ValueError, match=r"dtypes names \['x'\]"):
        list(_dataset().iterator().iter_tf_batches(dtypes={"x": tf.float32}))
    with pytest.raises(TypeError, match="feature_type_spec must be a tf.TypeSpec"):
        _dataset().to_tf("f", "i", feature_type_spec="float32")


def test_streaming_split_iterators_feed_to_tf(ctx):
    left, right = ss.range(40, override_num_blocks=4).streaming_split(2, equal=True)
    seen, errors = {}, []

    def consume(name, split):
        try:
            seen[name] = [x.numpy() for x, _ in split.to_tf("id", "id", batch_size=5)]
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(n, s)) for n, s in (("l", left), ("r", right))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    values = np.concatenate([a for arrays in seen.values() for a in arrays]).tolist()
    assert sorted(values) == list(range(40))
