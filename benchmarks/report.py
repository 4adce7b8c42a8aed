"""Turn the runner's JSON lines into medians, ratios against each peer, goal verdicts and markdown.

Why apart from the runner: this is the part that decides what a run *says* (which figure is the
median, which way a ratio points, whether a goal is met), so it is pure functions over records,
tested on synthetic lines without running any engine.

Conventions:
- A ratio "vs PEER" is ``peer median / subject median``: above 1 the subject (streamscope) is
  faster. Goals of the kind "within 2x of DuckDB" read ``subject / peer <= 2``.
- Only ``ok`` records count towards medians; failures are listed with their error (``timeout``
  included) so a missing figure is never silent.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

SUBJECT = "streamscope"
GIB = 1 << 30


@dataclass
class Cell:
    """All measurements of one (workload, variant, engine)."""

    workload: str
    variant: str
    engine: str
    walls: list = field(default_factory=list)
    rss: list = field(default_factory=list)
    spilled: list = field(default_factory=list)
    extras: dict = field(default_factory=dict)  # metric name -> list of values
    errors: list = field(default_factory=list)
    rows: Optional[int] = None
    answers: set = field(default_factory=set)  # the run's check values, e.g. (("groups", 200),)

    @property
    def runs(self) -> int:
        return len(self.walls) + len(self.errors)

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.walls) if self.walls else None

    @property
    def min(self) -> Optional[float]:
        return min(self.walls) if self.walls else None

    @property
    def max(self) -> Optional[float]:
        return max(self.walls) if self.walls else None

    def extra(self, name: str) -> Optional[float]:
        vals = [v for v in self.extras.get(name, []) if v is not None]
        return statistics.median(vals) if vals else None

    @property
    def peak_rss(self) -> Optional[int]:
        return int(statistics.median(self.rss)) if self.rss else None

    @property
    def spilled_max(self) -> Optional[int]:
        vals = [s for s in self.spilled if s is not None]
        return max(vals) if vals else None


EXTRA_METRICS = ("warm_s", "actor_busy_fraction", "init_s", "process_wall_s")
# Values every engine must agree on for the same workload and size (each script computes them).
ANSWER_FIELDS = ("groups", "total_amount", "sum_of_means")


def read_jsonl(lines: Iterable[str]) -> list[dict]:
    out = []
    for line in lines:
        line = line.strip()
        if line and line.startswith("{"):
            out.append(json.loads(line))
    return out


def summarize(records: Iterable[dict]) -> dict:
    """{(workload, variant, engine): Cell}, insertion-ordered as first seen."""
    cells: dict = {}
    for r in records:
        key = (r["workload"], r.get("variant") or "", r["engine"])
        cell = cells.setdefault(key, Cell(*key))
        if r.get("ok") and r.get("wall_s") is not None:
            cell.walls.append(float(r["wall_s"]))
            if r.get("rows") is not None:
                cell.rows = int(r["rows"])
            for name in EXTRA_METRICS:
                if r.get(name) is not None:
                    cell.extras.setdefault(name, []).append(float(r[name]))
            answer = tuple((f, r[f]) for f in ANSWER_FIELDS if r.get(f) is not None)
            if answer:
                cell.answers.add(answer)
        else:
            cell.errors.append(str(r.get("error") or "failed"))
        if r.get("peak_rss_tree_bytes"):
            cell.rss.append(int(r["peak_rss_tree_bytes"]))
        cell.spilled.append(r.get("spilled_bytes"))
    return cells


def disagreements(cells: dict) -> list[str]:
    """One line per (workload, variant) whose engines did not all return the same answer."""
    by_group: dict = {}
    for (w, v, e), c in cells.items():
        for a in c.answers:
            by_group.setdefault((w, v), {}).setdefault(a, []).append(e)
    out = []
    for (w, v), answers in by_group.items():
        if len(answers) > 1:
            parts = "; ".join(f"{', '.join(sorted(set(es)))}: {dict(a)}" for a, es in answers.items())
            out.append(f"{w}{' ' + v if v else ''}: engines disagree -- {parts}")
    return out


def ratio(cells: dict, workload: str, variant: str, peer: str, subject: str = SUBJECT) -> Optional[float]:
    """peer median / subject median (> 1: subject faster); None when either is missing."""
    s = cells.get((workload, variant, subject))
    p = cells.get((workload, variant, peer))
    if not s or not p or s.median is None or p.median is None or s.median <= 0:
        return None
    return p.median / s.median


# ---- goals (BENCHMARKS.md) ------------------------------------------------------------------------


@dataclass
class Goal:
    name: str
    text: str
    check: Callable[[dict, str], tuple[Optional[bool], str]]
    key: tuple = ()
    """(workload, variant): the goal is listed only when the run measured that pair."""


def _faster(workload, variant, peer, at_least):
    def check(cells, subject):
        r = ratio(cells, workload, variant, peer, subject)
        if r is None:
            return None, f"not measured ({subject} or {peer} missing)"
        return r >= at_least, f"{r:.2f}x"
    return check


def _within(workload, variant, peer, at_most):
    def check(cells, subject):
        r = ratio(cells, workload, variant, peer, subject)
        if r is None:
            return None, f"not measured ({subject} or {peer} missing)"
        slower = 1.0 / r
        return slower <= at_most, f"{slower:.2f}x {peer}'s time"
    return check


def _median_at_most(workload, variant, limit_s, metric=None):
    def check(cells, subject):
        c = cells.get((workload, variant, subject))
        v = None if c is None else (c.median if metric is None else c.extra(metric))
        if v is None:
            return None, "not measured"
        return v <= limit_s, (f"{v * 1000:.1f} ms" if limit_s < 0.1 else f"{v:.2f} s")
    return check


def _extra_at_least(workload, variant, metric, floor):
    def check(cells, subject):
        c = cells.get((workload, variant, subject))
        v = None if c is None else c.extra(metric)
        if v is None:
            return None, "not measured"
        return v >= floor, f"{v * 100:.0f} %"
    return check


def _rss_at_most(workload, variant, limit_bytes):
    def check(cells, subject):
        c = cells.get((workload, variant, subject))
        if c is None or c.peak_rss is None or not c.walls:
            return None, "not measured" if c is None or not c.errors else f"failed: {c.errors[0]}"
        return c.peak_rss <= limit_bytes, f"{c.peak_rss / GIB:.2f} GiB"
    return check


def _completes(workload, variant):
    def check(cells, subject):
        c = cells.get((workload, variant, subject))
        if c is None or c.runs == 0:
            return None, "not measured"
        if c.errors:
            return False, f"{len(c.errors)}/{c.runs} failed: {c.errors[0][:80]}"
        return True, f"{c.runs}/{c.runs} completed, median {c.median:.2f} s"
    return check


def _overhead_at_most(workload, on, off, frac):
    def check(cells, subject):
        a, b = cells.get((workload, on, subject)), cells.get((workload, off, subject))
        if not a or not b or a.median is None or b.median is None or b.median <= 0:
            return None, "not measured"
        d = abs(a.median - b.median) / b.median
        return d <= frac, f"{d * 100:.1f} % ({a.median:.2f} s on vs {b.median:.2f} s off)"
    return check


GOALS = [
    Goal("W0", "cold start <= 0.6 s whole process", _median_at_most("W0", "", 0.6), ("W0", "")),
    Goal("W0", ">= 8x faster than Ray Data", _faster("W0", "", "ray", 8), ("W0", "")),
    Goal("W0b", "warm small query <= 10 ms", _median_at_most("W0", "", 0.010, "warm_s"), ("W0", "")),
    Goal("W1", ">= 10x Ray Data", _faster("W1", "", "ray", 10), ("W1", "")),
    Goal("W1", "within 3x of a plain-Python row loop", _within("W1", "", "plain", 3), ("W1", "")),
    Goal("W2", ">= 4x Ray Data", _faster("W2", "", "ray", 4), ("W2", "")),
    Goal("W2", "within 2x of DuckDB", _within("W2", "", "duckdb", 2), ("W2", "")),
    Goal("W2", "within 2x of Polars", _within("W2", "", "polars", 2), ("W2", "")),
    Goal("W3", ">= 2x Ray Data (num_cpus=0.5)", _faster("W3", "half", "ray", 2), ("W3", "half")),
    Goal("W3", "within 1.5x of a plain 2-thread torch loop", _within("W3", "half", "plain", 1.5), ("W3", "half")),
    Goal("W3", "model actors busy >= 90 % of the run",
         _extra_at_least("W3", "half", "actor_busy_fraction", 0.9), ("W3", "half")),
    Goal("W3", "default num_cpus completes (no deadlock)", _completes("W3", "default"), ("W3", "default")),
    Goal("W4", "completes with the exact sum", _completes("W4", ""), ("W4", "")),
    Goal("W4", "peak RSS (tree) <= 2.5 GiB", _rss_at_most("W4", "", int(2.5 * GIB)), ("W4", "")),
    Goal("W4", ">= 2x Ray Data", _faster("W4", "", "ray", 2), ("W4", "")),
    Goal("W4", "within 2x of a plain numpy loop", _within("W4", "", "plain", 2), ("W4", "")),
]
for _v in ("sort", "shuffle", "groupby"):
    GOALS += [
        Goal(f"W5 {_v}", ">= 4x Ray Data", _faster("W5", _v, "ray", 4), ("W5", _v)),
        Goal(f"W5 {_v}", "within 3x of DuckDB", _within("W5", _v, "duckdb", 3), ("W5", _v)),
    ]
GOALS.append(Goal("W6", "dashboard on vs off: <= 5 % wall difference",
                  _overhead_at_most("W6", "on", "off", 0.05), ("W6", "on")))


def evaluate_goals(cells: dict, subject: str = SUBJECT) -> list[tuple[str, str, Optional[bool], str]]:
    """[(workload, goal text, met True/False/None=not measured, figure)] for goals touching the run."""
    measured = {k[:2] for k in cells}
    out = []
    for g in GOALS:
        if g.key not in measured:
            continue
        met, figure = g.check(cells, subject)
        out.append((g.name, g.text, met, figure))
    return out


# ---- markdown -------------------------------------------------------------------------------------


def _fmt_bytes(n: Optional[int]) -> str:
    if n is None:
        return "-"
    if n >= GIB:
        return f"{n / GIB:.2f} GiB"
    return f"{n / (1 << 20):.0f} MiB"


def _fmt_s(v: Optional[float]) -> str:
    if v is None:
        return "-"
    return f"{v * 1000:.1f} ms" if v < 0.1 else f"{v:.2f}"


def markdown(cells: dict, subject: str = SUBJECT) -> str:
    """The results table, the ratio table and the goal verdicts."""
    lines = [
        "| workload | variant | engine | median s | min-max s | ok/runs | rows/s | peak RSS (tree) | spilled | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (w, v, e), c in cells.items():
        rps = f"{c.rows / c.median:,.0f}" if c.rows and c.median and w != "W0" else "-"
        notes = []
        if c.extra("warm_s") is not None:
            notes.append(f"warm query {_fmt_s(c.extra('warm_s'))}")
        if c.extra("actor_busy_fraction") is not None:
            notes.append(f"actors busy {c.extra('actor_busy_fraction') * 100:.0f} %")
        if c.extra("init_s") is not None:  # W0 times the whole process, start-up included
            notes.append(f"init {c.extra('init_s'):.2f} s ({'in' if w == 'W0' else 'not in'} wall)")
        if c.errors:
            errs = sorted(set(c.errors))
            notes.append("failed: " + "; ".join(f"{x[:60]}" for x in errs[:2]))
        lines.append(
            f"| {w} | {v or '-'} | {e} | {_fmt_s(c.median)} | "
            f"{_fmt_s(c.min) + '-' + _fmt_s(c.max) if c.walls else '-'} | {len(c.walls)}/{c.runs} | {rps} | "
            f"{_fmt_bytes(c.peak_rss)} | {_fmt_bytes(c.spilled_max)} | {', '.join(notes)} |"
        )
    wrong = disagreements(cells)
    if wrong:
        lines += ["", "**Answers differ between engines** (a figure for a wrong answer is no figure):", ""]
        lines += [f"- {x}" for x in wrong]
    engines = list(dict.fromkeys(k[2] for k in cells))
    peers = [e for e in engines if e != subject]
    groups = list(dict.fromkeys((k[0], k[1]) for k in cells))
    if subject in engines and peers:
        lines += ["", f"Ratios: peer median / {subject} median (above 1: {subject} is faster).", ""]
        lines.append("| workload | variant | " + " | ".join(f"vs {p}" for p in peers) + " |")
        lines.append("|---|---|" + "---|" * len(peers))
        for w, v in groups:
            cols = []
            for p in peers:
                r = ratio(cells, w, v, p, subject)
                cols.append("-" if r is None else f"{r:.2f}x")
            lines.append(f"| {w} | {v or '-'} | " + " | ".join(cols) + " |")
    goals = evaluate_goals(cells, subject)
    if goals:
        lines += ["", f"Goals (BENCHMARKS.md), for {subject}:", "", "| workload | goal | verdict | figure |", "|---|---|---|---|"]
        for name, text, met, figure in goals:
            verdict = "met" if met else ("not met" if met is False else "not measured")
            lines.append(f"| {name} | {text} | {verdict} | {figure} |")
    return "\n".join(lines) + "\n"
