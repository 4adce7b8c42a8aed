"""PyTorch integration: streaming_split over one execution, iter_torch_batches, to_torch,
from_torch, iterator(), and the error when torch is missing."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
import torch

import streamscope as ss


def consume_splits(iterators, **kwargs):
    seen = [[] for _ in iterators]
    errors = []

    def run(i):
        try:
            for batch in iterators[i].iter_batches(batch_size=64, **kwargs):
                seen[i].extend(batch["id"].tolist())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(iterators))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return seen


def test_streaming_split_every_row_exactly_once_from_one_run(ctx):
    ds = ss.range(5003, override_num_blocks=24).map_batches(lambda b: {"id": b["id"]})
    iterators = ds.streaming_split(3)
    assert all(isinstance(it, ss.DataIterator) for it in iterators)
    seen = consume_splits(iterators)
    assert sorted(v for s in seen for v in s) == list(range(5003))
    assert all(seen)  # every worker got data


def test_streaming_split_equal_gives_equal_counts(ctx):
    ds = ss.range(1000, override_num_blocks=7)
    seen = consume_splits(ds.streaming_split(3, equal=True))
    counts = [len(s) for s in seen]
    assert counts == [333, 333, 333]
    flat = [v for s in seen for v in s]
    assert len(set(flat)) == len(flat)


def test_streaming_split_iter_rows_and_torch_batches(ctx):
    a, b = ss.range(100).streaming_split(2)
    out = []
    t = threading.Thread(target=lambda: out.extend(r["id"] for r in a.iter_rows()))
    t.start()
    for batch in b.iter_torch_batches(batch_size=10):
        assert isinstance(batch["id"], torch.Tensor)
        out.extend(batch["id"].tolist())
    t.join(30)
    assert sorted(out) == list(range(100))


def test_iter_torch_batches_dtypes_device_and_collate(ctx):
    ds = ss.range(50).map_batches(lambda b: {"id": b["id"], "x": b["id"] * 0.5, "img": np.ones((len(b["id"]), 2, 2))})
    batches = list(ds.iter_torch_batches(batch_size=20, dtypes={"x": torch.float16}, device="cpu"))
    assert [len(b["id"]) for b in batches] == [20, 20, 10]
    assert batches[0]["x"].dtype == torch.float16 and batches[0]["id"].dtype == torch.int64
    assert batches[0]["img"].shape == (20, 2, 2)
    one = next(iter(ds.iter_torch_batches(batch_size=8, dtypes=torch.float64, drop_last=True)))
    assert one["id"].dtype == torch.float64
    collated = list(ds.iter_torch_batches(batch_size=25, collate_fn=lambda b: torch.as_tensor(np.array(b["id"])).sum()))
    assert len(collated) == 2 and sum(int(c) for c in collated) == sum(range(50))


def test_iterator_runs_the_dataset_each_time(ctx):
    it = ss.range(30).iterator()
    assert sorted(r["id"] for r in it.iter_rows()) == list(range(30))
    assert sum(len(b["id"]) for b in it.iter_batches(batch_size=7)) == 30


def test_to_torch_features_and_label(ctx):
    ds = ss.from_items([{"a": float(i), "b": float(2 * i), "y": i % 2} for i in range(10)])
    torch_ds = ds.to_torch(label_column="y", feature_columns=["a", "b"], batch_size=4)
    items = list(torch_ds)
    features, label = items[0]
    assert features.shape == (4, 2) and label.shape == (4, 1)
    assert sum(f.shape[0] for f, _ in items) == 10


def test_from_torch_map_style_and_iterable(ctx):
    map_style = torch.utils.data.TensorDataset(torch.arange(12).reshape(6, 2), torch.tensor([0, 1, 0, 1, 0, 1]))
    rows = ss.from_torch(map_style).take_all()
    assert len(rows) == 6 and list(rows[2]["item_0"]) == [4, 5] and rows[3]["item_1"] == 1

    class Squares(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(torch.arange(5) ** 2)

    assert [r["item"] for r in ss.from_torch(Squares()).take_all()] == [0, 1, 4, 9, 16]


def test_missing_torch_names_the_extra(ctx, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'streamscope\[torch\]'"):
        next(iter(ss.range(5).iter_torch_batches()))
