"""W4 larger than memory: 16 GiB of float32 made by tasks, reduced by an actor, store capped at 1 GiB.

Every row is 1 MiB of float32 (262,144 values) made by a task; an actor (ActorPoolStrategy(size=1),
num_cpus=0.5) takes each row's mean, so every row crosses processes through the object store, whose
capacity is 1 GiB: the engine has to stream (or spill). Row ``i`` is filled with ``i % 256``, so its
mean, taken in float64, is exactly ``i % 256`` and the sum of means is an exact integer whatever the
order: the check is equality, not a tolerance. ``plain`` is the floor: the same arrays in a numpy
loop in one process.
"""

try:
    from . import _harness as h
except ImportError:
    import _harness as h

ENGINES = ("streamscope", "ray", "plain")
ROW_FLOATS = 262_144  # 1 MiB of float32
BATCH = 16
STORE_BYTES = 1 << 30
ROWS_BY_SIZE = {"tiny": 64, "small": 1024, "full": 16384, "xl": 16384}


def expected_sum(rows: int) -> float:
    return float(sum(i % 256 for i in range(rows)))


def make(batch):
    """A task: one 1 MiB float32 row per id."""
    import numpy as np

    ids = batch["id"]
    out = np.empty((len(ids), ROW_FLOATS), dtype=np.float32)
    for j, i in enumerate(ids):
        out[j].fill(i % 256)
    return {"data": out}


class MeanOfRows:
    """The actor: each row's mean, in float64 so it is exact."""

    def __call__(self, batch):
        import numpy as np

        data = batch["data"]
        if data.dtype == object:
            data = np.stack(list(data))
        return {"mean": data.mean(axis=1, dtype=np.float64)}


def dataflow(data, rows):
    ds = (
        data.range(rows)
        .map_batches(make, batch_size=BATCH)
        .map_batches(MeanOfRows, compute=data.ActorPoolStrategy(size=1), num_cpus=0.5, batch_size=BATCH)
    )
    return float(ds.sum("mean")), ds


def plain(rows):
    import numpy as np

    total = 0.0
    for start in range(0, rows, BATCH):
        batch = {"id": np.arange(start, min(start + BATCH, rows))}
        total += float(MeanOfRows()(make(batch))["mean"].sum())
    return total


def body(args):
    rows = ROWS_BY_SIZE[args.size]
    out = {"store_capacity_bytes": STORE_BYTES, "streamed_bytes": rows * ROW_FLOATS * 4}
    if args.engine in h.DATAFLOW_ENGINES:
        data, _agg, out["init_s"] = h.init_dataflow(args.engine, object_store_memory=STORE_BYTES)
        (total, ds), wall = h.timed(lambda: dataflow(data, rows))
        out["spilled_bytes"] = h.spilled_bytes(ds, args.engine)
    else:
        total, wall = h.timed(lambda: plain(rows))
    want = expected_sum(rows)
    if total != want:
        raise AssertionError(f"{args.engine}: sum of means {total!r}, expected exactly {want!r}")
    out.update(wall_s=wall, rows=rows, sum_of_means=total)
    return out


if __name__ == "__main__":
    import sys

    sys.exit(h.run("W4", h.parse_args("W4", ENGINES), body))
