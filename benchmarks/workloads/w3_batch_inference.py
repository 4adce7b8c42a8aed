"""W3 CPU batch inference: Parquet images -> normalize -> CNN in a 2-actor pool -> count.

Variants: ``half`` (the actors ask for num_cpus=0.5, BENCHMARKS.md's main figure) and ``default``
(the actors keep the default of 1 CPU each). On 2 cores Ray Data deadlocks in ``default``: both
CPUs go to the actors and the read/normalize tasks never get one. The runner gives that
measurement a short time limit so it is recorded as ``timeout`` instead of hanging the run.

Each model call also reports how long it ran (column ``udf_s``), so the run's actor-busy fraction
(goal: >= 90 %) is measured the same way for every engine: sum(udf_s) / (actors * wall).
The model has fixed random weights (seed 0): the benchmark measures inference, not accuracy.
``plain`` is the floor the goal quotes: one process, one torch model with 2 threads, batches of 256.
"""

import os

try:
    from . import _harness as h
except ImportError:
    import _harness as h

ENGINES = ("streamscope", "ray", "plain")
VARIANTS = ("half", "default")
BATCH = 256
ACTORS = 2


def build_model():
    """Two 3x3 conv layers (8, 16 channels) with ReLU and 2x2 max-pool, then linear to 10."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )
    return model.eval()


def normalize(batch):
    """uint8 [0, 255] -> float32 [-1, 1]."""
    import numpy as np

    img = batch["image"]
    if img.dtype == object:  # an engine that hands tensors over as an array of arrays
        img = np.stack(list(img))
    return {"image": img.astype(np.float32) / 127.5 - 1.0, "label": batch["label"]}


class CNN:
    """The model actor: one torch thread per actor, as BENCHMARKS.md fixes it."""

    def __init__(self):
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        self.model = build_model()

    def __call__(self, batch):
        import time

        import numpy as np

        t0 = time.perf_counter()
        with self.torch.inference_mode():
            x = self.torch.from_numpy(np.ascontiguousarray(batch["image"])).unsqueeze(1)
            pred = self.model(x).argmax(dim=1).numpy()
        n = len(pred)
        return {"pred": pred, "udf_s": np.full(n, (time.perf_counter() - t0) / max(n, 1))}


def image_path(args):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks import datagen

    size = "full" if args.size == "xl" else args.size
    path = datagen.w3_path(size, Path(args.data_root) if args.data_root else None)
    if not os.path.exists(path):
        raise FileNotFoundError(f"W3 data missing ({path}); run: python -m benchmarks.datagen --size {size}")
    return path


def dataflow(data, agg, path, variant):
    kwargs = dict(compute=data.ActorPoolStrategy(size=ACTORS), batch_size=BATCH)
    if variant == "half":
        kwargs["num_cpus"] = 0.5
    ds = data.read_parquet(path).map_batches(normalize).map_batches(CNN, **kwargs)
    res = ds.aggregate(agg.Count(), agg.Sum("udf_s"))
    count = next(v for k, v in res.items() if k.startswith("count"))
    udf_s = next(v for k, v in res.items() if k.startswith("sum"))
    return int(count), float(udf_s), ds


def plain(path, threads=2):
    import numpy as np
    import pyarrow.parquet as pq
    import torch

    torch.set_num_threads(threads)
    model = build_model()
    col = pq.read_table(path, columns=["image"])["image"].combine_chunks()
    images = col.to_numpy_ndarray()
    n = 0
    with torch.inference_mode():
        for i in range(0, len(images), BATCH):
            x = normalize({"image": images[i:i + BATCH], "label": None})["image"]
            n += len(model(torch.from_numpy(x).unsqueeze(1)).argmax(dim=1))
    return n


def engine_busy_fraction():
    """streamscope's own figure from its telemetry: each model actor's time running batches over
    its time alive (startup excluded), averaged over the actors, at the last snapshot where the
    pool was alive."""
    from streamscope.engine.execution import telemetry

    for buffer in reversed(telemetry.hub().runs()):
        for snap in reversed(buffer.history()):
            fractions = [f for op in snap.operators for f in op.actor_busy_fraction]
            if fractions:
                return sum(fractions) / len(fractions)
    return None


def body(args):
    path = image_path(args)
    out = {"actors": ACTORS, "num_cpus_per_actor": 0.5 if args.variant == "half" else 1}
    if args.engine in h.DATAFLOW_ENGINES:
        data, agg, out["init_s"] = h.init_dataflow(args.engine)
        (count, udf_s, ds), wall = h.timed(lambda: dataflow(data, agg, path, args.variant))
        out["actor_busy_fraction"] = udf_s / (ACTORS * wall) if wall else None
        if args.engine == "streamscope":
            out["actor_busy_fraction_engine"] = engine_busy_fraction()
        out["spilled_bytes"] = h.spilled_bytes(ds, args.engine)
    else:
        if args.variant != "half":
            raise ValueError("plain has no actors: only the 'half' variant applies")
        count, wall = h.timed(lambda: plain(path))
        out["torch_threads"] = 2
    import pyarrow.parquet as pq

    want = pq.ParquetFile(path).metadata.num_rows
    if count != want:
        raise AssertionError(f"{args.engine}: counted {count} images, expected {want}")
    out.update(wall_s=wall, rows=count)
    return out


if __name__ == "__main__":
    import sys

    sys.exit(h.run("W3", h.parse_args("W3", ENGINES, VARIANTS), body))
