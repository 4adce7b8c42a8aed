"""Per-row aggregation states (used when keys barely repeat within a block) combine to exactly
what grouped partial states combine to."""

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from streamscope.aggregate import AbsMax, Count, Max, Mean, Min, Quantile, Std, Sum
from streamscope.engine.physical.exchange.hash_aggregate import (
    _AggMap,
    combine_partials,
    finalize,
    partial_aggregate,
    row_states,
)

AGGS = [Sum("v"), Count(), Mean("v"), Min("v"), Max("v"), AbsMax("v"), Count("v", ignore_nulls=True, alias_name="cv"),
        Sum("v", ignore_nulls=False, alias_name="sv"), Mean("v", ignore_nulls=False, alias_name="mv")]

rows = st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 3)),
                          st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))), min_size=1, max_size=60)


def _final(states: pa.Table) -> pa.Table:
    return finalize(combine_partials(states, ["k"], AGGS), ["k"], AGGS).sort_by([("k", "ascending")])


@settings(max_examples=60, deadline=None)
@given(rows)
def test_row_states_combine_like_grouped_partials(data):
    table = pa.table({"k": pa.array([k for k, _ in data], pa.int64()), "v": pa.array([v for _, v in data], pa.float64())})
    split = len(data) // 2
    grouped = pa.concat_tables([partial_aggregate(table.slice(0, split), ["k"], AGGS),
                                partial_aggregate(table.slice(split), ["k"], AGGS)])
    per_row = pa.concat_tables([row_states(table.slice(0, split), ["k"], AGGS), partial_aggregate(table.slice(split), ["k"], AGGS)])
    a, b = _final(grouped), _final(per_row)
    assert a.column_names == b.column_names
    for name in a.column_names:
        for x, y in zip(a.column(name).to_pylist(), b.column(name).to_pylist()):
            assert (x is None and y is None) or abs(x - y) <= 1e-6 * max(1.0, abs(x)), (name, x, y)


def test_state_kinds_without_a_per_row_form_keep_grouping():
    table = pa.table({"k": [1, 1, 2], "v": [1.0, 2.0, 3.0]})
    assert row_states(table, ["k"], [Std("v")]) is None
    assert row_states(table, ["k"], [Quantile("v")]) is None
    assert row_states(table, [], [Sum("v")]) is None


class _Ctx:
    def time_udf(self):
        import contextlib

        return contextlib.nullcontext()


def test_map_side_stops_grouping_when_keys_do_not_repeat():
    distinct = pa.table({"k": pa.array(range(60_000), pa.int64()), "v": pa.array([1.0] * 60_000)})
    fn = _AggMap(["k"], [Sum("v")])
    list(fn((0, 0, 4), iter([distinct]), _Ctx()))
    assert fn._skip_grouping  # nothing was gained by grouping: later tasks send per-row states
    repeated = pa.table({"k": pa.array([i % 10 for i in range(60_000)], pa.int64()), "v": pa.array([1.0] * 60_000)})
    fn2 = _AggMap(["k"], [Sum("v")])
    list(fn2((0, 0, 4), iter([repeated]), _Ctx()))
    assert not fn2._skip_grouping
