#!/usr/bin/env bash
# Creates .bench-venv: the peers (Ray Data, Polars, DuckDB, pandas) next to an editable install of
# streamscope, all in one interpreter, so `make bench-compare` measures every engine on the same
# Python. Kept apart from .venv so the project's core dependencies stay lean.
# Idempotent: reinstalls only when this script or requirements-peers.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.bench-venv
STAMP="$VENV/.peers-installed"
want=$(sha256sum benchmarks/requirements-peers.txt benchmarks/setup_peers.sh pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup_peers] creating $VENV"
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first and pinned (CPU build on this machine): anything unpinned later sees it satisfied.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -r benchmarks/requirements-peers.txt "torch==2.13.0"
# The project itself, with its notebook extra (W6 loads the extension and the dashboard).
"$VENV/bin/python" -m pip install --quiet -e ".[notebook]" "torch==2.13.0"
echo "$want" > "$STAMP"
echo "[setup_peers] peers ready in $VENV"
