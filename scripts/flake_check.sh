#!/usr/bin/env bash
# Runs the whole test suite N times in a row (default 5) while another process keeps one core
# busy, and stops at the first failing round. A test that fails here depends on timing: fix its
# cause (see docs/reliability.md, "A suite that never flakes").
#   usage: scripts/flake_check.sh [rounds]      (after `make env`; not part of `make test`)
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
PY=.venv/bin/python
[ -x "$PY" ] || { echo "flake_check: run 'make env' first (no .venv)" >&2; exit 2; }

# one core kept busy for the whole check; stopped however this script ends
"$PY" -c 'while True: pass' &
spinner=$!
trap 'kill "$spinner" 2>/dev/null; wait "$spinner" 2>/dev/null' EXIT

logdir=$(mktemp -d "${TMPDIR:-/tmp}/streamscope-flake.XXXXXX")
for round in $(seq 1 "$rounds"); do
    log="$logdir/round-$round.log"
    echo "[flake_check] round $round/$rounds (log: $log)"
    if ! "$PY" -m pytest -q -p no:cacheprovider >"$log" 2>&1; then
        echo "[flake_check] round $round failed:" >&2
        grep -E "^(FAILED|ERROR)" "$log" >&2 || tail -30 "$log" >&2
        exit 1
    fi
    tail -1 "$log"
done
echo "[flake_check] $rounds/$rounds rounds passed with one core busy"
