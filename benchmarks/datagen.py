"""Generate the benchmark data sets (W2's Parquet files, W3's image Parquet) with fixed seeds.

Why a generator instead of shipped files: W2 alone is 40 M rows (~700 MB of Parquet), and the
seeds are part of BENCHMARKS.md's spec, so every machine regenerates byte-identical inputs and
runs stay comparable. Every engine reads the very same files, so the comparison measures the
engines, not the data.

Layout: ``benchmarks/data/<size>/w2/part-000{0..7}.parquet`` and
``benchmarks/data/<size>/w3/images.parquet``. A file is skipped when it already exists with the
expected row count; files are written to a temporary name and renamed, so an interrupted run never
leaves a half-written file that a later run would trust.

    python -m benchmarks.datagen --size small      # ~1/20 scale, seconds
    python -m benchmarks.datagen --size full       # BENCHMARKS.md scale
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DATA_ROOT = Path(__file__).resolve().parent / "data"

W2_FILES = 8
# Rows per W2 file and W3 images for each size. "tiny" exists for the test suite.
W2_ROWS_PER_FILE = {"full": 5_000_000, "small": 250_000, "tiny": 2_000}
W3_IMAGES = {"full": 20_000, "small": 1_000, "tiny": 64}
SIZES = tuple(W2_ROWS_PER_FILE)

W2_CUSTOMERS = 1_000_000
W2_CATEGORIES = [f"category_{i:02d}" for i in range(20)]
# ten years from 2024-01-01, in microseconds
W2_TS_START = np.datetime64("2024-01-01T00:00:00", "us")
W2_TS_SPAN_US = int((np.datetime64("2034-01-01T00:00:00", "us") - W2_TS_START).astype(np.int64))

W3_SIDE = 28


def data_dir(size: str, root: Path | None = None) -> Path:
    return Path(root or DATA_ROOT) / size


def w2_paths(size: str, root: Path | None = None) -> list[str]:
    d = data_dir(size, root) / "w2"
    return [str(d / f"part-{i:04d}.parquet") for i in range(W2_FILES)]


def w3_path(size: str, root: Path | None = None) -> str:
    return str(data_dir(size, root) / "w3" / "images.parquet")


def _has_rows(path: str, rows: int) -> bool:
    if not os.path.exists(path):
        return False
    try:
        return pq.ParquetFile(path).metadata.num_rows == rows
    except Exception:  # corrupt or foreign file: regenerate it
        return False


def _write_atomic(table: pa.Table, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def w2_table(file_index: int, rows: int) -> pa.Table:
    """One W2 file. Draw order is part of the spec: customer_id, amount, category, ts."""
    rng = np.random.default_rng(1000 + file_index)
    customer_id = rng.integers(0, W2_CUSTOMERS, rows, dtype=np.int64)
    amount = np.round(rng.uniform(0.0, 200.0, rows), 2)
    category_idx = rng.integers(0, len(W2_CATEGORIES), rows, dtype=np.int32)
    ts_offset = rng.integers(0, W2_TS_SPAN_US, rows, dtype=np.int64)
    category = pa.DictionaryArray.from_arrays(
        pa.array(category_idx), pa.array(W2_CATEGORIES, pa.string())
    ).cast(pa.string())
    ts = pa.array(W2_TS_START.astype(np.int64) + ts_offset, pa.int64()).cast(pa.timestamp("us"))
    return pa.table(
        {
            "customer_id": pa.array(customer_id),
            "amount": pa.array(amount),
            "category": category,
            "ts": ts,
        }
    )


def w3_images(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [n, 28, 28], labels int64 [n]): sklearn digits, nearest-neighbour upsampled.

    The digits hold 0..16; times 16 gives 0..256, so 16 itself is clipped to 255 to fit uint8.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = digits.images.astype(np.int32)  # [1797, 8, 8], values 0..16
    idx = (np.arange(W3_SIDE) * 8) // W3_SIDE  # nearest neighbour source row/col for 28 outputs
    big = small[:, idx][:, :, idx]
    big = np.minimum(big * 16, 255).astype(np.uint8)
    take = np.arange(n) % len(big)
    return np.ascontiguousarray(big[take]), digits.target[take].astype(np.int64)


def w3_table(n: int) -> pa.Table:
    images, labels = w3_images(n)
    tensor = pa.FixedShapeTensorArray.from_numpy_ndarray(images)
    return pa.table({"id": pa.array(np.arange(n, dtype=np.int64)), "label": labels, "image": tensor})


def generate(size: str, root: Path | None = None, workloads=("w2", "w3"), log=print) -> dict:
    """Create whatever is missing for ``size``; returns {"written": [...], "skipped": [...]}."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
    written, skipped = [], []
    if "w2" in workloads:
        rows = W2_ROWS_PER_FILE[size]
        for i, path in enumerate(w2_paths(size, root)):
            if _has_rows(path, rows):
                skipped.append(path)
                continue
            t0 = time.perf_counter()
            _write_atomic(w2_table(i, rows), path)
            written.append(path)
            log(f"[datagen] {path}: {rows:,} rows in {time.perf_counter() - t0:.1f} s")
    if "w3" in workloads:
        n = W3_IMAGES[size]
        path = w3_path(size, root)
        if _has_rows(path, n):
            skipped.append(path)
        else:
            _write_atomic(w3_table(n), path)
            written.append(path)
            log(f"[datagen] {path}: {n:,} images")
    return {"written": written, "skipped": skipped}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=SIZES, default="small")
    ap.add_argument("--root", type=Path, default=None, help="data root (default benchmarks/data)")
    ap.add_argument("--only", choices=("w2", "w3"), default=None)
    args = ap.parse_args(argv)
    res = generate(args.size, args.root, (args.only,) if args.only else ("w2", "w3"))
    print(f"[datagen] size={args.size}: {len(res['written'])} written, {len(res['skipped'])} already present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
