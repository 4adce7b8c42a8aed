"""Property tests: chains of map / filter / limit / union against a pure-Python model."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamscope
from streamscope import DataContext

ops = st.lists(
    st.one_of(
        st.tuples(st.just("map"), st.integers(-3, 3), st.integers(-5, 5)),
        st.tuples(st.just("filter"), st.integers(2, 4), st.integers(0, 1)),
        st.tuples(st.just("filter_expr"), st.integers(-20, 60)),
        st.tuples(st.just("limit"), st.integers(0, 40)),
        st.tuples(st.just("union"), st.integers(0, 15)),
        st.tuples(st.just("map_batches"), st.integers(1, 7)),
    ),
    max_size=5,
)


def _apply(ds, rows, op):
    kind = op[0]
    if kind == "map":
        _, a, b = op
        return ds.map(lambda r, a=a, b=b: {"x": r["x"] * a + b}), [x * a + b for x in rows]
    if kind == "filter":
        _, m, r = op
        return ds.filter(lambda row, m=m, r=r: row["x"] % m == r), [x for x in rows if x % m == r]
    if kind == "filter_expr":
        _, t = op
        return ds.filter(expr=f"x > {t}"), [x for x in rows if x > t]
    if kind == "limit":
        return ds.limit(op[1]), rows[: op[1]]
    if kind == "union":
        extra = list(range(op[1]))
        return ds.union(streamscope.from_items([{"x": v} for v in extra])), rows + extra
    if kind == "map_batches":
        size = op[1]
        return ds.map_batches(lambda b: {"x": b["x"] + 1}, batch_size=size), [x + 1 for x in rows]
    raise AssertionError(kind)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 60), blocks=st.integers(1, 5), chain=ops)
def test_chains_match_python_model(runtime, n, blocks, chain):
    DataContext.get_current().execution_options.preserve_order = True
    ds = streamscope.range(n, override_num_blocks=blocks).map(lambda r: {"x": r["id"]})
    rows = list(range(n))
    for op in chain:
        ds, rows = _apply(ds, rows, op)
    got = [r["x"] for r in ds.take_all()]
    assert got == rows
    assert ds.count() == len(rows)
