#!/usr/bin/env bash
# Checks the system programs the project needs beyond Python packages, installs them when run as
# root on Debian, and otherwise says exactly what to install.
#   check_system.sh notebook  -> Graphviz `dot` (plan graphs; optional: a text fallback exists)
#   check_system.sh test      -> Graphviz `dot`, Chromium (the browser tests) and PostgreSQL's server
#                                programs (`initdb`/`pg_ctl`: the read_sql/write_sql tests start a
#                                throwaway server on 127.0.0.1)
set -uo pipefail
mode=${1:-test}
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [ "$mode" = test ]; then
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[check_system] installing ${missing[*]} with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null && exit 0
    echo "[check_system] apt-get install ${missing[*]} failed" >&2
    exit 1
fi
if [ "$mode" = notebook ]; then
    echo "[check_system] note: Graphviz's dot is missing; plan graphs fall back to text. Install it with: sudo apt-get install graphviz" >&2
    exit 0
fi
echo "[check_system] the test suite needs: ${missing[*]}" >&2
echo "  install with: sudo apt-get install ${missing[*]}   (Debian/Ubuntu)" >&2
echo "  chromium must be at /usr/bin/chromium (the browser tests never download a browser)" >&2
exit 1
