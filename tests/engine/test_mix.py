"""Dataset.mix and MixStoppingCondition, against an independent plain-Python model of Ray Data
2.60's rule: the next block comes from the input furthest below its share of the rows emitted so
far (ties: larger weight, then earlier input); STOP_ON_SHORTEST ends once an input has delivered
all its blocks, STOP_ON_LONGEST_DROP lets exhausted inputs drop out.

The model uses exact fractions; the weights here are chosen so the engine's floating-point shares
are exact too (halves, quarters, eighths), so ties are ties in both. Blocks come from
``from_arrow`` of a list of tables, which keeps each table as one block in order.
"""

from __future__ import annotations

import collections
import time
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest

import streamscope
from streamscope import MixStoppingCondition

SHORTEST = MixStoppingCondition.STOP_ON_SHORTEST
LONGEST = MixStoppingCondition.STOP_ON_LONGEST_DROP


def model(blocks: list[list[list[int]]], weights, shortest: bool) -> list[int]:
    """The mixed rows: ``blocks[i]`` is input i's blocks (lists of values) in order."""
    total_w = sum(Fraction(w) for w in weights)
    shares = [Fraction(w) / total_w for w in weights]
    queues = [collections.deque(b) for b in blocks]
    rows = [0] * len(blocks)
    out: list[int] = []
    while True:
        if shortest and any(not q for q in queues):
            return out
        live = [i for i, q in enumerate(queues) if q]
        if not live:
            return out
        emitted = sum(rows)
        pick = max(live, key=lambda i: (shares[i] * emitted - rows[i], shares[i], -i))
        block = queues[pick].popleft()
        rows[pick] += len(block)
        out.extend(block)


def dataset(blocks: list[list[int]]):
    return streamscope.from_arrow([pa.table({"v": pa.array(b, pa.int64())}) for b in blocks])


def random_blocks(rng, base: int, n_blocks: int, max_rows: int) -> list[list[int]]:
    sizes = rng.integers(1, max_rows + 1, n_blocks)
    start = np.concatenate([[0], np.cumsum(sizes)])
    return [list(range(base + int(s), base + int(s) + int(n))) for s, n in zip(start[:-1], sizes)]


@pytest.fixture(params=["local", "in_process"])
def path(request, ctx):
    """Each test runs on the local runtime's workers and on the in-process path for small plans."""
    if request.param == "in_process":
        request.getfixturevalue("inline_ctx")
    return request.param


def _values(ds) -> list[int]:
    return [row["v"] for row in ds.take_all()]


def test_documented_example_interleaves_block_by_block(path):
    a = dataset([[1, 2], [3, 4]])
    b = dataset([[5, 6], [7, 8]])
    assert _values(a.mix(b, weights=[0.5, 0.5])) == [1, 2, 5, 6, 3, 4, 7, 8]
    assert _values(a.mix(b)) == [1, 2, 5, 6, 3, 4, 7, 8]  # weights=None: equal weights


@pytest.mark.parametrize("condition", [SHORTEST, LONGEST])
@pytest.mark.parametrize("weights", [[1, 1], [3, 1], [1, 7], [0.25, 0.25, 0.5], [2, 1, 1]])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_order_matches_the_model(path, condition, weights, seed):
    rng = np.random.default_rng(seed)
    blocks = [random_blocks(rng, 100_000 * (i + 1), int(rng.integers(3, 9)), 7) for i in range(len(weights))]
    ds = dataset(blocks[0]).mix(*[dataset(b) for b in blocks[1:]], weights=weights, stopping_condition=condition)
    expected = model(blocks, weights, shortest=condition is SHORTEST)
    assert _values(ds) == expected
    if condition is LONGEST:  # every row once
        assert sorted(expected) == sorted(v for bs in blocks for b in bs for v in b)
        assert ds.count() == sum(len(b) for bs in blocks for b in bs)


def test_shares_stay_within_one_block_of_the_target(ctx):
    """The deterministic bound of the deficit rule, checked at every block boundary before the
    first input runs out: input i is never more than its largest block above ``share*total``, nor
    more than the other inputs' largest blocks together below it."""
    rng = np.random.default_rng(7)
    weights = [5, 2, 1]
    shares = [w / 8 for w in weights]
    blocks = [random_blocks(rng, 1_000_000 * (i + 1), 60, 40) for i in range(3)]
    ds = dataset(blocks[0]).mix(dataset(blocks[1]), dataset(blocks[2]), weights=weights, stopping_condition=SHORTEST)
    out = []
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        out.append(batch["v"].tolist())
    assert [v for b in out for v in b] == model(blocks, weights, shortest=True)
    biggest = [max(len(b) for b in bs) for bs in blocks]
    rows = [0, 0, 0]
    for block in out:
        rows[block[0] // 1_000_000 - 1] += len(block)
        total = sum(rows)
        for i in range(3):
            assert rows[i] - shares[i] * total <= biggest[i]
            assert shares[i] * total - rows[i] <= sum(biggest) - biggest[i]


def test_stop_on_shortest_counts(path):
    a = dataset([[0], [1], [2], [3]])  # 4 blocks of 1 row
    b = dataset([[100 + i] for i in range(10)])
    # a, b, a, b, a, b, a: then a has delivered every block
    assert _values(a.mix(b, stopping_condition=SHORTEST)) == [0, 100, 1, 101, 2, 102, 3]
    assert a.mix(b, stopping_condition=SHORTEST).count() == 7
    assert a.mix(b).count() == 14
    # after a runs out, b alone continues under LONGEST_DROP
    assert _values(a.mix(b)) == [0, 100, 1, 101, 2, 102, 3] + [103 + i for i in range(7)]


def test_weights_need_not_sum_to_one_and_ties_prefer_the_larger_weight(path):
    a = dataset([[1], [2], [3]])
    b = dataset([[10], [20], [30]])
    # shares 1/4, 3/4: at the start both are 0 behind, so b (larger weight) goes first
    assert _values(a.mix(b, weights=[1, 3])) == model([[[1], [2], [3]], [[10], [20], [30]]], [1, 3], False)
    assert _values(a.mix(b, weights=[1, 3]))[:1] == [10]
    assert _values(a.mix(b, weights=[2, 6])) == _values(a.mix(b, weights=[0.25, 0.75]))


def test_single_dataset_mix_is_the_dataset(path):
    a = dataset([[1, 2], [3]])
    assert _values(a.mix()) == [1, 2, 3]
    assert _values(a.mix(stopping_condition=SHORTEST)) == [1, 2, 3]


def test_empty_inputs(path):
    a = dataset([[1, 2], [3, 4]])
    empty = streamscope.from_arrow(pa.table({"v": pa.array([], pa.int64())}))  # one block of 0 rows
    assert _values(a.mix(empty)) == [1, 2, 3, 4]
    # the empty block counts as a (0-row) turn: a's first block, the empty block, then empty is done
    assert _values(a.mix(empty, stopping_condition=SHORTEST)) == model([[[1, 2], [3, 4]], [[]]], [1, 1], True) == [1, 2]
    assert _values(empty.mix(a, stopping_condition=SHORTEST)) == []
    assert empty.mix(empty).count() == 0


def test_schema_is_the_inputs_unified(path):
    ints = streamscope.from_arrow(pa.table({"v": pa.array([1, 2], pa.int64())}))
    floats = streamscope.from_arrow(pa.table({"v": pa.array([0.5], pa.float64())}))
    ds = ints.mix(floats)
    assert ds.schema().base_schema == pa.schema([("v", pa.float64())])
    assert sorted(_values(ds)) == [0.5, 1, 2]


def test_stop_on_shortest_stops_the_long_input_and_frees_its_blocks(runtime):
    """It streams: the long branch is stopped after a few blocks (its remaining read tasks never
    run), and nothing it had queued stays in the store."""
    before = runtime.store_stats().num_blocks
    short = dataset([[-1], [-2]])
    long = streamscope.range(100_000, override_num_blocks=100).map_batches(_slow_identity)
    ds = short.mix(long, stopping_condition=SHORTEST)
    rows = [r["v"] if "v" in r else r["id"] for r in ds.take_all()]
    # short's first block, one block of long (range splits 100_000 into 100 blocks of 1000), short's last
    assert rows[0] == -1 and rows[-1] == -2 and len(rows) == 1002
    maps = [o for o in ds.stats().operators if "MapBatches" in o.name]
    assert len(maps) == 1 and maps[0].tasks < 100, maps
    assert runtime.store_stats().num_blocks == before


def _slow_identity(batch):
    time.sleep(0.02)
    return batch


def test_a_limit_above_a_mix_and_a_map_below(path):
    a = streamscope.range(1000, override_num_blocks=10)
    b = streamscope.range(1000, override_num_blocks=10).map(lambda r: {"id": r["id"] + 5000})
    rows = a.mix(b, weights=[1, 1]).limit(250).take_all()
    assert len(rows) == 250
    ids = sorted(r["id"] for r in a.mix(b).take_all())
    assert ids == list(range(1000)) + list(range(5000, 6000))


def test_bad_arguments_are_refused_before_anything_runs():
    a, b = streamscope.range(3), streamscope.range(3)
    with pytest.raises(ValueError, match=r"number of datasets \(2\) must match number of weights \(3\)"):
        a.mix(b, weights=[1, 1, 1])
    with pytest.raises(ValueError, match="weights must be positive"):
        a.mix(b, weights=[1, 0])
    with pytest.raises(ValueError, match="weights must be positive"):
        a.mix(b, weights=[1, -2])
    with pytest.raises(ValueError, match="weights must be positive"):
        a.mix(b, weights=[1, float("nan")])
    with pytest.raises(TypeError, match="weights must be numbers"):
        a.mix(b, weights=[1, "2"])
    with pytest.raises(ValueError, match="stopping_condition must be one of MixStoppingCondition.STOP_ON_SHORTEST"):
        a.mix(b, stopping_condition="stop_on_shortest")
    with pytest.raises(TypeError, match=r"mix\(\) expects Datasets, got list"):
        a.mix([b])


def test_explain_and_plan_graph_show_the_mix(capsys):
    ds = streamscope.range(10).mix(streamscope.range(5), weights=[3, 1], stopping_condition=SHORTEST)
    ds.explain()
    text = capsys.readouterr().out
    assert "Mix[weights=[0.75, 0.25], stopping_condition=stop_on_shortest]" in text
    assert "MixOperator[Mix]" in text
    explained = ds._explain()
    logical = explained.logical.graph
    assert [n.kind for n in logical.nodes] == ["Read", "Read", "Mix"]
    assert len(logical.inputs(logical.nodes[-1].id)) == 2
    physical = explained.physical.graph
    assert physical.nodes[-1].kind == "MixOperator"
    assert len(physical.inputs(physical.nodes[-1].id)) == 2


def test_ray_enum_members_are_taken_by_value():
    ray_data = pytest.importorskip("ray.data")
    ds = dataset([[1], [2]]).mix(dataset([[3]]), stopping_condition=ray_data.MixStoppingCondition.STOP_ON_SHORTEST)
    assert ds._plan.dag.stopping_condition is SHORTEST
