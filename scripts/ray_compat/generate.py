"""Make ``docs/ray-compat.md``: every Ray Data 2.60 public name and argument, and what streamscope
does with it, found by calling streamscope (see :mod:`probes`), not written by hand.

Usage (from the repository root)::

    .venv/bin/python scripts/ray_compat/generate.py          # rewrite docs/ray-compat.md
    .venv/bin/python scripts/ray_compat/generate.py --check  # exit 1 when the page is stale

Each argument ends up in one of four states: *supported* (accepted; it does what Ray Data's
does), *difference* (accepted, with the documented difference from :data:`differences.NOTES`),
*refused* (the error streamscope raises, before any work starts, quoted), or *not probed*
(accepted by the signature; no probe call exists for this name yet).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PAGE = ROOT / "docs" / "ray-compat.md"
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(ROOT))

from ray_compat.differences import NAME_NOTES, NOTES  # noqa: E402
from ray_compat.probes import Fixtures, probe_value, templates  # noqa: E402
from ray_compat.surface import ApiEntry, Param, load_surface  # noqa: E402

TITLES = {
    "module": "Functions and classes (`ray.data.X` → `streamscope.X`)",
    "Dataset": "Dataset methods",
    "GroupedData": "GroupedData methods",
    "aggregate": "Aggregations (`ray.data.aggregate.X` → `streamscope.aggregate.X`)",
    "preprocessors": "Preprocessors (`ray.data.preprocessors.X` → `streamscope.preprocessors.X`)",
    "DataContext": "DataContext fields",
}


CONTEXT_CLASSES = ("DataContext", "DatasetContext")
"""Their constructor arguments are the fields: the DataContext section lists those."""

MISSING_PROBES: list[str] = []
"""Arguments a probe call exists for but no probe value was declared (generation fails on any)."""


@dataclass
class Outcome:
    """What streamscope did with one argument (or name)."""

    state: str  # supported | difference | refused | not probed | missing
    note: str = ""


def _clean(text: str, fixtures: Fixtures) -> str:
    """An error message with the run's temporary paths and object addresses taken out, on one line."""
    text = text.replace(str(fixtures.root), "<tmp>")
    text = re.sub(r"0x[0-9a-f]{6,}", "0x…", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.replace("|", "\\|")


def _error_text(exc: BaseException, fixtures: Fixtures) -> str:
    return f"{type(exc).__name__}: {_clean(str(exc), fixtures)}"


@contextlib.contextmanager
def _quiet_logs():
    """Deprecation notes the engine logs while probing are not the table's business."""
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _realize(result: Any) -> None:
    """Plan a returned Dataset as a run would (optimizer, planner, the checks against the
    runtime), so plan-time refusals surface; the executor is never started, nothing executes."""
    plan = getattr(result, "_plan", None)
    if plan is not None and callable(getattr(result, "_explain", None)):
        from streamscope.engine.execution.run import start_execution

        start_execution(plan, name="ray-compat probe")


def _homes(ss: Any) -> dict[str, Any]:
    import streamscope.aggregate as aggregate
    import streamscope.preprocessors as preprocessors
    from streamscope.engine.api.grouped_data import GroupedData

    return {"module": ss, "Dataset": ss.Dataset, "GroupedData": GroupedData, "aggregate": aggregate,
            "preprocessors": preprocessors}


def _signature(obj: Any) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _probe(call, api: str, param: Param, fixtures: Fixtures) -> Outcome:
    try:
        value = probe_value(api, param.name, fixtures)
    except KeyError:
        MISSING_PROBES.append(f"{api}({param.name}=...)")
        return Outcome("not probed", "no probe value")
    if value is None:
        return Outcome("not probed", "no probe value")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _quiet_logs():
        warnings.simplefilter("ignore")
        try:
            _realize(call(**{param.name: value}))
        except TypeError as exc:
            if "multiple values for" in str(exc):  # the template already passes it (a required input)
                return Outcome("supported")
            return Outcome("refused", _error_text(exc, fixtures))
        except Exception as exc:  # noqa: BLE001  (every refusal is what we record)
            return Outcome("refused", _error_text(exc, fixtures))
    return Outcome("supported")


def classify_param(entry: ApiEntry, param: Param, sig: Optional[inspect.Signature], call, fixtures: Fixtures) -> Outcome:
    """The state of one Ray argument of a name streamscope has."""
    note = NOTES.get((entry.name, param.name))
    names = {} if sig is None else sig.parameters
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in names.values())
    has_var_pos = any(p.kind is p.VAR_POSITIONAL for p in names.values())
    if param.kind == "var_keyword":
        outcome = Outcome("supported") if has_var_kw else Outcome("refused", "TypeError: unexpected keyword argument")
    elif param.kind == "var_positional":
        outcome = Outcome("supported") if has_var_pos else Outcome("refused", "TypeError: takes no extra positional arguments")
    elif not param.has_default:
        present = param.name in names or any(p.kind is p.POSITIONAL_OR_KEYWORD for p in names.values())
        outcome = Outcome("supported") if present else Outcome("refused", "TypeError: missing parameter")
    elif call is not None:
        outcome = _probe(call, entry.name, param, fixtures)
        if outcome.state == "not probed" and param.name not in names and not has_var_kw:
            outcome = Outcome("refused", f"TypeError: got an unexpected keyword argument '{param.name}'")
    elif param.name in names:
        outcome = Outcome("not probed", "in the signature")
    elif has_var_kw:
        outcome = Outcome("not probed", "taken by **kwargs")
    else:
        outcome = Outcome("refused", f"TypeError: got an unexpected keyword argument '{param.name}'")
    if note and outcome.state in ("supported", "not probed"):
        return Outcome("difference", note)
    return outcome


def _context_rows(ss: Any, entries: list[ApiEntry]) -> list[tuple[str, Outcome]]:
    import dataclasses

    ctx_cls = ss.DataContext
    fields = {f.name for f in dataclasses.fields(ctx_cls)}
    no_effect = getattr(ctx_cls, "_NO_EFFECT", {})
    deprecated = getattr(ctx_cls, "_DEPRECATED", {})
    rows = []
    for entry in entries:
        name = entry.name
        if name in no_effect:
            rows.append((name, Outcome("difference", "accepted, warns once: " + no_effect[name])))
        elif name in deprecated:
            rows.append((name, Outcome("difference", "deprecated: " + deprecated[name])))
        elif name in fields:
            rows.append((name, Outcome("difference", NOTES[("DataContext", name)]) if ("DataContext", name) in NOTES
                         else Outcome("supported")))
        else:
            try:
                setattr(ctx_cls(), name, None)
                rows.append((name, Outcome("supported", "(not a declared field)")))
            except Exception as exc:  # noqa: BLE001
                message = re.sub(r"\s+", " ", str(exc))
                rows.append((name, Outcome("refused", f"{type(exc).__name__}: {message}")))
    return rows


def build_rows(ss: Any, fixtures: Fixtures) -> dict[str, list[tuple[str, Outcome, list[tuple[str, Outcome]]]]]:
    """Per section: (name, the name's outcome, the outcomes of its arguments that are not plainly supported)."""
    entries = load_surface()
    homes = _homes(ss)
    calls = templates(ss, fixtures)
    out: dict[str, list] = {key: [] for key in TITLES}
    for entry in entries:
        if entry.section == "DataContext":
            continue
        home = homes[entry.section]
        obj = getattr(home, entry.name, None)
        if obj is None:
            out[entry.section].append((entry.name, Outcome("missing", NAME_NOTES.get(entry.name, "")), []))
            continue
        sig = _signature(obj)
        call = calls.get((entry.section, entry.name))
        is_enum = [p.name for p in entry.params][:2] == ["value", "names"]
        params = [] if entry.name in CONTEXT_CLASSES or is_enum else entry.params
        args = [(p.name, classify_param(entry, p, sig, call, fixtures)) for p in params]
        shown = [(n, o) for n, o in args if o.state != "supported"]
        refused = any(o.state == "refused" for _, o in args)
        state = "partial" if refused else ("difference" if entry.name in NAME_NOTES else "supported")
        out[entry.section].append((entry.name, Outcome(state, NAME_NOTES.get(entry.name, "")), shown))
    ctx_entries = [e for e in entries if e.section == "DataContext"]
    out["DataContext"] = [(name, outcome, []) for name, outcome in _context_rows(ss, ctx_entries)]
    return out


_MARK = {"supported": "✅ supported", "difference": "🔶 difference", "partial": "🔶 partly",
         "missing": "❌ not implemented", "refused": "❌ refused", "not probed": "❔ not probed"}


def render(rows: dict[str, list]) -> str:
    lines = [
        "# Ray Data 2.60 compatibility",
        "",
        "Every public name and argument of Ray Data 2.60 (`ray.data`), and what streamscope does with it.",
        "**Generated** by `scripts/ray_compat/generate.py`, which calls each streamscope name the way Ray",
        "Data code would, one argument at a time, and records what happens; `tests/test_ray_compat_table.py`",
        "fails when this page and the code disagree. Do not edit by hand: change the code (or a documented",
        "difference in `scripts/ray_compat/differences.py`) and rerun the script.",
        "",
        "States: ✅ supported (does what Ray Data's does) · 🔶 difference (accepted; the difference is",
        "stated) · ❌ refused (the error streamscope raises before any work starts, quoted) · ❌ not",
        "implemented (the name does not exist: `AttributeError`) · ❔ not probed (accepted by the",
        "signature; no probe call exists yet). Arguments not listed under a name are supported.",
        "",
    ]
    summary = []
    for key, title in TITLES.items():
        states = [row[1].state for row in rows[key]]
        summary.append(f"| {title.split(' (')[0]} | {len(states)} | {states.count('supported')} | "
                       f"{states.count('difference') + states.count('partial')} | "
                       f"{states.count('missing') + states.count('refused')} |")
    lines += ["| Section | Names | Supported | Partly / with a difference | Not implemented / refused |",
              "|---|---|---|---|---|", *summary, ""]
    for key, title in TITLES.items():
        lines += [f"## {title}", "", "| Name | State | Arguments that are not plainly supported |", "|---|---|---|"]
        for name, outcome, shown in rows[key]:
            detail = "; ".join(f"`{arg}`: {_MARK[o.state]}" + (f" — {o.note}" if o.note else "") for arg, o in shown)
            if outcome.note:
                detail = outcome.note + ("; " + detail if detail else "")
            lines.append(f"| `{name}` | {_MARK[outcome.state]} | {detail} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _remote_option_lines() -> list[str]:
    """The ``ray.remote`` options table, from the engine's one table of them (``remote_args``)."""
    from streamscope.engine.remote_args import remote_arg_rules

    state = {"supported": "supported", "difference": "difference", "refused": "refused"}
    lines = [
        "## `ray.remote` options of maps, reads and writes",
        "",
        "Given as named parameters (`runtime_env=`, `resources=`, ...), in `ray_remote_args`, or",
        "returned by `ray_remote_args_fn`. The probes above run on the local runtime (the default),",
        "where options that place tasks on a Ray cluster are refused when the run is planned; on the",
        "Ray runtime (`streamscope.init(runtime=\"ray\")`) they are passed to Ray.",
        "",
        "| Option | State | Applies to | What streamscope does |",
        "|---|---|---|---|",
    ]
    for rule in sorted(remote_arg_rules(), key=lambda r: r["key"]):
        note = re.sub(r"\s+", " ", rule["note"]).replace("|", "\\|")
        lines.append(f"| `{rule['key']}` | {_MARK[state[rule['status']]]} | {rule['applies_to']} | {note} |")
    return lines + [""]


def generate() -> str:
    """The page's text, made by probing the installed streamscope."""
    import streamscope as ss

    with tempfile.TemporaryDirectory(prefix="ray-compat-") as tmp:
        fixtures = Fixtures(Path(tmp))
        rows = build_rows(ss, fixtures)
    if MISSING_PROBES:
        raise SystemExit("no probe value for: " + ", ".join(MISSING_PROBES) + " (add them to scripts/ray_compat/probes.py)")
    return render(rows) + "\n".join(_remote_option_lines())


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE} is stale: run scripts/ray_compat/generate.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
