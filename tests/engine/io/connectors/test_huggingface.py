"""from_huggingface with datasets built locally (no Hub): the Arrow table of a Dataset (indices
mapping applied, formats ignored as in Ray), blocks as asked, an IterableDataset read over its
shards in workers, Ray's errors, the missing extra."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

# Before datasets is imported: nothing of the Hub, nothing written under the user's home. Workers
# that import this module (to unpickle its generators) inherit the driver's directory; none is
# created here, only by datasets when it writes, and the fixture below removes it.
_HF_HOME = os.environ.setdefault("STREAMSCOPE_TEST_HF_HOME",
                                 os.path.join(tempfile.gettempdir(), f"streamscope-test-hf-{os.getpid()}"))
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = _HF_HOME
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

datasets = pytest.importorskip("datasets")

import streamscope  # noqa: E402
from streamscope.engine.io.huggingface_datasource import HuggingFaceDatasource, dataset_arrow_table  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _hf_cache():
    """datasets' cache in the temp HF_HOME even if datasets was imported before this module."""
    saved = (datasets.config.HF_DATASETS_CACHE, datasets.config.HF_DATASETS_OFFLINE)
    datasets.config.HF_DATASETS_CACHE = os.path.join(_HF_HOME, "datasets")
    datasets.config.HF_DATASETS_OFFLINE = True
    yield
    datasets.config.HF_DATASETS_CACHE, datasets.config.HF_DATASETS_OFFLINE = saved
    shutil.rmtree(_HF_HOME, ignore_errors=True)


@pytest.fixture(scope="module")
def hf():
    return datasets.Dataset.from_dict({"a": list(range(20)), "b": [f"s{i}" for i in range(20)],
                                       "v": [[float(i), 1.0] for i in range(20)]})


def _rows(hf_dataset) -> list[dict]:
    """What datasets itself gives, row by row (Python format)."""
    return hf_dataset.with_format(None).to_list()


def test_dataset_becomes_a_materialized_dataset(hf):
    ds = streamscope.from_huggingface(hf)
    assert isinstance(ds, streamscope.MaterializedDataset)
    assert ds.take_all() == _rows(hf)
    assert ds.schema().names == ["a", "b", "v"] and ds.schema().types == hf.data.table.schema.types
    assert ds.num_blocks() == 1


def test_table_is_not_copied_without_an_indices_mapping(hf):
    table = dataset_arrow_table(hf)
    original = hf.data.table
    assert table.column("a").chunk(0).buffers()[1].address == original.column("a").chunk(0).buffers()[1].address


@pytest.mark.parametrize("transform", [
    lambda d: d.select([5, 1, 3]),
    lambda d: d.shuffle(seed=3),
    lambda d: d.filter(lambda r: r["a"] % 4 == 0),
    lambda d: d.train_test_split(test_size=0.25, seed=0)["test"],
])
def test_indices_mapping_is_applied(hf, transform):
    view = transform(hf)
    assert view._indices is not None
    assert streamscope.from_huggingface(view).take_all() == _rows(view)


def test_format_is_ignored_as_in_ray(hf):
    torch_view = hf.with_format("torch", columns=["a"])
    ds = streamscope.from_huggingface(torch_view)
    assert ds.columns() == ["a", "b", "v"]
    assert ds.take(1) == [{"a": 0, "b": "s0", "v": [0.0, 1.0]}]


def test_blocks_honour_override_num_blocks_and_parallelism(hf):
    assert streamscope.from_huggingface(hf, override_num_blocks=4).num_blocks() == 4
    assert streamscope.from_huggingface(hf, parallelism=3).num_blocks() == 3
    assert streamscope.from_huggingface(hf, override_num_blocks=4).take_all() == _rows(hf)
    with pytest.raises(ValueError, match="override_num_blocks"):
        streamscope.from_huggingface(hf, override_num_blocks=0)


def test_empty_and_generated_datasets(hf, tmp_path):
    empty = streamscope.from_huggingface(hf.select([]))
    assert empty.count() == 0 and empty.columns() == ["a", "b", "v"]

    def gen():
        for i in range(5):
            yield {"i": i, "label": i % 2}

    features = datasets.Features({"i": datasets.Value("int32"),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    built = datasets.Dataset.from_generator(gen, features=features, cache_dir=str(tmp_path))
    ds = streamscope.from_huggingface(built)
    assert ds.take_all() == _rows(built)
    assert [str(t) for t in ds.schema().types] == ["int32", "int64"]


def _shard_rows(shards):
    for shard in shards:
        for i in range(3):
            yield {"shard": shard, "i": i, "pid": os.getpid()}


@pytest.fixture
def stream():
    return datasets.IterableDataset.from_generator(_shard_rows, gen_kwargs={"shards": [0, 1, 2, 3]})


def test_iterable_dataset_streams_over_its_shards_in_workers(stream):
    assert stream.n_shards == 4
    ds = streamscope.from_huggingface(stream)
    assert type(ds) is streamscope.Dataset
    rows = ds.take_all()
    assert sorted((r["shard"], r["i"]) for r in rows) == [(s, i) for s in range(4) for i in range(3)]
    assert os.getpid() not in {r["pid"] for r in rows}  # the generator ran in workers, not the driver
    assert len(HuggingFaceDatasource(stream).get_read_tasks(8)) == 4
    assert len(HuggingFaceDatasource(stream).get_read_tasks(2)) == 2
    assert streamscope.from_huggingface(stream, override_num_blocks=2).count() == 12


def test_iterable_dataset_shards_keep_order(stream, run_tasks):
    table = run_tasks(HuggingFaceDatasource(stream), parallelism=3)
    expected = [(r["shard"], r["i"]) for r in stream]
    assert list(zip(table.column("shard").to_pylist(), table.column("i").to_pylist())) == expected


def test_counting_pipelines_are_read_as_one_stream(stream):
    taken = stream.take(5)
    assert len(HuggingFaceDatasource(taken).get_read_tasks(8)) == 1
    expected = [(r["shard"], r["i"]) for r in taken]
    assert [(r["shard"], r["i"]) for r in streamscope.from_huggingface(taken).take_all()] == expected


def test_iterable_projection_is_pushed_down(stream):
    ds = streamscope.from_huggingface(stream).select_columns(["i"])
    assert "ReadHuggingFace (4 shards; columns=['i'])" in ds._explain().text()
    assert sorted(r["i"] for r in ds.take_all()) == sorted([0, 1, 2] * 4)
    assert ds.columns() == ["i"]


def test_dataset_dict_and_other_types_get_rays_errors(hf):
    with pytest.raises(DeprecationWarning, match=r"specify a split.*\['train', 'test'\]"):
        streamscope.from_huggingface(datasets.DatasetDict({"train": hf, "test": hf}))
    with pytest.raises(TypeError, match="must be a `datasets.Dataset`"):
        streamscope.from_huggingface([{"a": 1}])


def test_missing_datasets_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match=r"from_huggingface.*pip install 'streamscope\[hf\]'"):
        streamscope.from_huggingface(object())
