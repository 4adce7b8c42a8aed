"""W6 observability cost: W2 run inside a notebook kernel with the live dashboard on vs off.

Why a real kernel (nbclient) and not a plain process: the dashboard's cost is paid where a user
pays it, in an IPython kernel with the extension loaded (``%load_ext streamscope``), display
formatters registered and widgets updating on their timers. Variants: ``off`` (extension loaded,
``%dataset live off``: no live views, no dashboard) and ``on`` (``%dataset dashboard`` opened
before the query, live views left at their default, on); the goal is <= 5 % wall difference.
nbclient has no browser attached, so this is the kernel-side cost (snapshot reads, widget state
updates and comm messages), which is the part that competes with the engine for the cores.
The wall is timed inside the kernel around W2's query (kernel start-up is not part of it).

The cell that opens the dashboard is ``DASHBOARD_CODE`` below; set the environment variable
``BENCH_W6_DASHBOARD_CODE`` to try another entry point without editing this file. Until the
notebook layer exists, this script fails with an error naming the step that failed.
"""

import json
import os
import sys
from pathlib import Path

try:
    from . import _harness as h
except ImportError:
    import _harness as h

ENGINES = ("streamscope",)
VARIANTS = ("off", "on")
MARKER = "W6_RESULT "
DASHBOARD_CODE = "%dataset dashboard"
OFF_CODE = "%dataset live off"
ROOT = Path(__file__).resolve().parents[2]

QUERY_CELL = """
import json, time, sys
sys.path.insert(0, {root!r})
import streamscope
import streamscope.aggregate as agg
from benchmarks.workloads import w2_parquet_etl as w2
_t0 = time.perf_counter()
_df, _ds = w2.dataflow(streamscope, agg, {paths!r})
_wall = time.perf_counter() - _t0
print({marker!r} + json.dumps(dict(wall_s=_wall, **w2.summarize(_df))))
"""


def build_notebook(variant, paths):
    import nbformat

    cells = [nbformat.v4.new_code_cell("%load_ext streamscope")]
    if variant == "on":
        cells.append(nbformat.v4.new_code_cell(os.environ.get("BENCH_W6_DASHBOARD_CODE", DASHBOARD_CODE)))
    else:
        cells.append(nbformat.v4.new_code_cell(OFF_CODE))
    cells.append(nbformat.v4.new_code_cell(QUERY_CELL.format(root=str(ROOT), paths=paths, marker=MARKER)))
    return nbformat.v4.new_notebook(cells=cells)


STEP_NAMES = {0: "%load_ext streamscope", 1: "the live-views cell (%dataset dashboard / live off)"}


def body(args):
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"W6 needs nbclient, nbformat and ipykernel ({exc}); use .bench-venv "
                           "(bash benchmarks/setup_peers.sh)") from exc
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    sys.path.insert(0, str(ROOT))
    from benchmarks.workloads import w2_parquet_etl as w2

    paths = w2.paths_for(args)
    nb = build_notebook(args.variant, paths)
    client = NotebookClient(nb, timeout=max(60, int(args.time_limit or 600)), kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        idx = next((i for i, c in enumerate(nb.cells)
                    if any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        step = "W2's query" if idx == len(nb.cells) - 1 else STEP_NAMES.get(idx, f"cell {idx}")
        import re

        first = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
        hint = "" if step == "W2's query" else " (is the notebook layer, streamscope.kernel_ext, in place?)"
        raise RuntimeError(f"W6 failed at {step}{hint}: {first[-1] if first else exc}") from None
    for out in nb.cells[-1].get("outputs", []):
        text = out.get("text", "")
        for line in text.splitlines():
            if line.startswith(MARKER):
                res = json.loads(line[len(MARKER):])
                import pyarrow.parquet as pq

                res["rows"] = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
                res["dashboard"] = args.variant == "on"
                return res
    raise RuntimeError("W6: the query cell ran but printed no result line")


if __name__ == "__main__":
    sys.exit(h.run("W6", h.parse_args("W6", ENGINES, VARIANTS), body))
