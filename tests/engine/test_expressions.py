import pickle

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamscope.engine.expressions import ColumnNotFoundError, col, lit, parse

TABLE = pa.table({
    "a": [0, 1, 2, 3, 4, 5],
    "b": ["0", "1", "2", "3", "4", "5"],
    "c": [0.0, None, 3.0, None, 6.0, None],
    "f": [True, False, False, True, False, False],
})


@pytest.mark.parametrize("text,expected", [
    ("a > 2", [3, 4, 5]),
    ("a >= 1 and (b == '3' or c is null)", [1, 3, 5]),
    ("a in [1, 2]", [1, 2]),
    ("a not in [1, 2]", [0, 3, 4, 5]),
    ("not f", [1, 2, 4, 5]),
    ("f", [0, 3]),
    ("a + a * 2 > 3", [2, 3, 4, 5]),
    ("c IS NOT NULL AND a > 0", [2, 4]),
    ("is_null(c)", [1, 3, 5]),
    ("is_valid(c)", [0, 2, 4]),
    ("is_in(a, [1, -2])", [1]),
    ("1 < a < 4", [2, 3]),
    ("-a < -3", [4, 5]),
    ("a % 2 == 0", [0, 2, 4]),
    ("a // 2 == 1", [2, 3]),
    ("a / 2 > 1", [3, 4, 5]),
    ("a ** 2 > 4", [3, 4, 5]),
    ('b == "2"', [2]),
    ("(a > 1) & ~f", [2, 4, 5]),
    ("c == None", [1, 3, 5]),
])
def test_filters(text, expected):
    expr = parse(text)
    assert expr.filter(TABLE)["a"].to_pylist() == expected
    assert TABLE.filter(expr.to_pyarrow())["a"].to_pylist() == expected
    assert parse(str(expr)).structurally_equals(expr)  # normalized text parses back


def test_columns_str_and_pickle():
    expr = parse("a >= 1   AND (b == 'x' OR c is null)")
    assert expr.columns() == ["a", "b", "c"]
    assert str(expr) == "a >= 1 and (b == 'x' or c is null)"
    assert pickle.loads(pickle.dumps(expr)).structurally_equals(expr)
    assert parse("user.age > 3").columns() == ["user.age"]  # dotted name is one column, as in Ray


def test_evaluate_returns_mask():
    mask = parse("a > 3").evaluate(TABLE)
    assert mask.type == pa.bool_() and mask.to_pylist() == [False] * 4 + [True] * 2


def test_missing_column_is_named_with_available():
    with pytest.raises(ColumnNotFoundError) as info:
        parse("amount > 100").filter(TABLE)
    assert "'amount'" in str(info.value) and "['a', 'b', 'c', 'f']" in str(info.value)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", [
    "__import__('os').system('x')", "a.b()", "lambda: 1", "a[0] > 1", "a if b else c", "open('f')",
    "[x for x in a]", "a > 1 ; b", "a := 1", "f'{a}'", "a is 1", "x in y",
])
def test_rejects_unsafe_or_unsupported(text):
    with pytest.raises(ValueError):
        parse(text)


def test_builder_api():
    expr = (col("a") > 1) & (col("b") != lit("3"))
    assert str(expr) == "a > 1 and b != '3'"
    assert expr.filter(TABLE)["a"].to_pylist() == [2, 4, 5]


# ---- property test: our pyarrow filter vs an independent pandas evaluation ----------------
_COLS = ["x", "y", "z"]


@st.composite
def _expr_and_pandas(draw, depth=0):
    kind = draw(st.sampled_from(["cmp", "in", "null"] + (["and", "or", "not"] if depth < 3 else [])))
    if kind == "cmp":
        c = draw(st.sampled_from(_COLS))
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        k = draw(st.integers(-5, 5))
        arith = draw(st.sampled_from(["", "+", "*", "-"]))
        if arith:
            c2 = draw(st.sampled_from(_COLS))
            left, fn = f"{c} {arith} {c2}", (lambda df, c=c, c2=c2, a=arith: {"+": df[c] + df[c2], "*": df[c] * df[c2], "-": df[c] - df[c2]}[a])
        else:
            left, fn = c, (lambda df, c=c: df[c])
        ops = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
        return f"{left} {op} {k}", (lambda df, fn=fn, op=op, k=k: getattr(fn(df), ops[op])(k) & fn(df).notna())
    if kind == "in":
        c = draw(st.sampled_from(_COLS))
        vals = draw(st.lists(st.integers(-5, 5), max_size=3))
        return f"{c} in {vals}", (lambda df, c=c, vals=vals: df[c].isin(vals) & df[c].notna())
    if kind == "null":
        c = draw(st.sampled_from(_COLS))
        neg = draw(st.booleans())
        return (f"{c} is {'not ' if neg else ''}null",
                (lambda df, c=c, neg=neg: df[c].notna() if neg else df[c].isna()))
    if kind == "not":
        text, fn = draw(_expr_and_pandas(depth + 1))
        return f"not ({text})", (lambda df, fn=fn: ~fn(df))
    (t1, f1), (t2, f2) = draw(_expr_and_pandas(depth + 1)), draw(_expr_and_pandas(depth + 1))
    if kind == "and":
        return f"({t1}) and ({t2})", (lambda df, f1=f1, f2=f2: f1(df) & f2(df))
    return f"({t1}) or ({t2})", (lambda df, f1=f1, f2=f2: f1(df) | f2(df))


_values = st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=8, max_size=8)


@settings(max_examples=150, deadline=None)
@given(_expr_and_pandas(), _values, _values, _values)
def test_pyarrow_filter_matches_pandas(case, xs, ys, zs):
    text, pandas_fn = case
    table = pa.table({"x": pa.array(xs, pa.int64()), "y": pa.array(ys, pa.int64()), "z": pa.array(zs, pa.int64())})
    # pandas reference without nulls in play: only rows where every column is set; nulls are
    # checked separately (is null / is not null) with Kleene-free predicates above
    df = table.to_pandas()
    full = df.dropna()
    if "null" in text or "not" in text:
        table, df = pa.Table.from_pandas(full.astype("int64"), preserve_index=False), full.astype("int64")
    expected = df[pandas_fn(df).astype(bool)]
    got = parse(text).filter(table).to_pandas()
    assert got.reset_index(drop=True).equals(expected.reset_index(drop=True).astype(got.dtypes.to_dict())) or (
        len(got) == len(expected) == 0
    ), text
