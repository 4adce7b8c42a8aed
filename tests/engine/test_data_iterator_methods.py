"""DataIterator has Ray Data 2.60's methods besides iteration: ``materialize``, ``schema``,
``stats``, ``get_context`` and ``to_torch``, on ``Dataset.iterator()`` and on each
``streaming_split`` share. Expected values are plain Python."""

from __future__ import annotations

import threading

import pytest

import streamscope


def _ids(ds) -> list[int]:
    return sorted(row["id"] for row in ds.take_all())


def test_a_dataset_iterator_materializes_describes_and_reports_its_runs():
    it = streamscope.range(20, override_num_blocks=4).map(lambda row: {"id": row["id"] * 3}).iterator()
    mat = it.materialize()
    assert type(mat).__name__ == "MaterializedDataset" and _ids(mat) == [i * 3 for i in range(20)]
    assert it.schema().names == ["id"]
    assert sum(1 for _ in it.iter_rows()) == 20
    text = it.stats()
    assert isinstance(text, str) and "Map(<lambda>)" in text
    assert it.get_context() is streamscope.DataContext.get_current()


def test_each_streaming_split_share_materializes_to_exactly_its_rows():
    shares = streamscope.range(30, override_num_blocks=6).streaming_split(3, equal=True)
    out: dict[int, list] = {k: [] for k in range(3)}

    def consume(k, it):
        for _epoch in range(2):  # a second materialize is the share's next epoch
            out[k].append(_ids(it.materialize()))

    threads = [threading.Thread(target=consume, args=(k, it)) for k, it in enumerate(shares)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for epoch in range(2):
        parts = [out[k][epoch] for k in range(3)]
        assert [len(p) for p in parts] == [10, 10, 10]
        assert sorted(sum(parts, [])) == list(range(30))  # every row once, across the shares
    assert shares[0].schema().names == ["id"]


def test_to_torch_on_an_iterator_yields_feature_and_label_batches():
    torch = pytest.importorskip("torch")
    rows = [{"x": float(i), "w": float(2 * i), "y": i % 2} for i in range(6)]
    it = streamscope.from_items(rows).iterator()
    batches = list(it.to_torch(label_column="y", feature_columns=["x", "w"], batch_size=3))
    features = torch.cat([f for f, _ in batches])
    labels = torch.cat([label for _, label in batches])
    assert features.shape == (6, 2) and labels.shape == (6, 1)
    assert sorted(features[:, 1].tolist()) == [2.0 * i for i in range(6)]
    assert sorted(labels.squeeze(1).tolist()) == sorted(r["y"] for r in rows)
