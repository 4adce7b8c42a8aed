#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment in .venv from the project's own files.
# Safe to run repeatedly: it reinstalls only when pyproject.toml or this script changed.
#
# pyproject.toml states ranges; the exact versions the project is developed and tested with are
# pinned here, in CONSTRAINTS (and, for Binder, in binder/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.streamscope-installed"
TORCH="torch==2.13.0"

# One line per direct dependency of the package and its dev extra (constraint syntax has no extras:
# ray, not ray[data]).
CONSTRAINTS='
pyarrow==26.0.1
numpy==2.4.6
pandas==3.1.1
fsspec==2026.9.0
cloudpickle==3.1.3
psutil==7.2.2
torch==2.13.0
jax==0.10.2
jaxlib==0.10.2
tensorflow-cpu==2.21.0
pillow==13.0.0
jupyterlab==4.6.6
ipykernel==7.4.0
ipywidgets==8.1.9
bokeh==3.9.2
jupyter_bokeh==4.1.0
ray==2.60.0
nvidia-ml-py==13.615.71
datasketches==5.2.0
psycopg==3.3.9
datasets==5.2.0
deltalake==1.6.6
pyiceberg==0.12.0
pylance==14.0.2
fastavro==1.13.1
dask==2026.8.0
daft==0.7.26
soundfile==0.14.0
av==18.1.0
s3fs==2026.9.0
gcsfs==2026.10.1
adlfs==2026.8.0
webdataset==1.0.2
tfrecord==1.14.6
moto==5.2.5
sphinx==9.0.4
prometheus_client==0.26.0
myst-parser==5.2.0
myst-nb==1.4.0
pydata-sphinx-theme==0.24.0
pytest==9.2.0
pytest-timeout==2.4.0
hypothesis==6.170.17
nbclient==0.11.0
nbconvert==7.17.2
nbformat==5.11.1
playwright==1.65.2
scikit-learn==1.9.1
'

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    echo "streamscope needs Python >= 3.10 (found: $("$PY" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
    exit 1
fi

want=$(sha256sum pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "[bootstrap] creating $VENV"
    "$PY" -m venv "$VENV"
fi
constraints=$(mktemp "${TMPDIR:-/tmp}/streamscope-constraints.XXXXXX")
trap 'rm -f "$constraints"' EXIT
printf '%s\n' "$CONSTRAINTS" > "$constraints"

"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first and pinned: pip then keeps this build for the dev extra's torch range, instead of
# fetching another one (on PyPI, a multi-GB CUDA build).
"$VENV/bin/python" -m pip install --quiet "$TORCH"
"$VENV/bin/python" -m pip install --quiet -c "$constraints" -e ".[dev]"
# daft (the daft extra, which the dev extra leaves out) apart and without its dependencies: its
# metadata requires pyarrow<26 and tqdm<4.68, so pip would replace the pyarrow pinned above; it
# imports and passes its tests with these versions, and what else it needs (packaging, tqdm,
# typing-extensions) the dev extra brings.
"$VENV/bin/python" -m pip install --quiet --no-deps -c "$constraints" daft
# TensorFlow's CPU-only wheel (~270 MB download, ~1.3 GB installed; not the larger tensorflow the tf extra names) for the
# iter_tf_batches / to_tf tests; pinned above, it keeps numpy and protobuf at their pins.
"$VENV/bin/python" -m pip install --quiet -c "$constraints" tensorflow-cpu
echo "$want" > "$STAMP"
echo "[bootstrap] environment ready in $VENV"
