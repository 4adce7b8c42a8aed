"""train_test_split(stratify=col) as Ray Data 2.60: each class keeps its share, the last
``int(n_class * fraction)`` rows of a class are its test rows; expected values from plain Python."""

from __future__ import annotations

import collections

import pytest

import streamscope


def _rows():
    return [{"id": i, "label": ("a", "b", "b", "c", "c", "c")[i % 6]} for i in range(60)]


@pytest.mark.parametrize("test_size", [0.25, 15])
def test_each_class_keeps_its_share_in_the_test_split(test_size):
    rows = _rows()
    train, test = streamscope.from_items(rows, override_num_blocks=4).train_test_split(test_size, stratify="label")
    fraction = test_size if isinstance(test_size, float) else test_size / len(rows)
    per_class = collections.Counter(r["label"] for r in rows)
    expected_test = {label: int(n * fraction) for label, n in per_class.items()}
    got_test = collections.Counter(r["label"] for r in test.take_all())
    assert dict(got_test) == expected_test
    ids_train = [r["id"] for r in train.take_all()]
    ids_test = [r["id"] for r in test.take_all()]
    assert sorted(ids_train + ids_test) == list(range(60)) and not set(ids_train) & set(ids_test)
    assert train.columns() == ["id", "label"] and test.columns() == ["id", "label"]


def test_the_test_rows_of_a_class_are_its_last_rows():
    rows = [{"id": i, "label": i % 2} for i in range(10)]
    _, test = streamscope.from_items(rows, override_num_blocks=1).train_test_split(0.4, stratify="label")
    assert sorted(r["id"] for r in test.take_all()) == [6, 7, 8, 9]


def test_refusals_as_ray_data():
    ds = streamscope.from_items(_rows())
    with pytest.raises(ValueError, match="Cannot specify both 'shuffle=True' and 'stratify'"):
        ds.train_test_split(0.2, shuffle=True, stratify="label")
    with pytest.raises(TypeError, match="`test_size` must be int or float"):
        ds.train_test_split("0.2", stratify="label")
    with pytest.raises(ValueError, match="must be bigger than 0 and smaller than 1"):
        ds.train_test_split(1.5, stratify="label")
    with pytest.raises(KeyError, match="no such column"):
        ds.train_test_split(0.2, stratify="nope")
