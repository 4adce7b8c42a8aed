"""Run in processes started by test_streaming_split_workers.py (spawned: a fresh interpreter, as
a training launcher starts its workers). Each receives a pickled streaming_split share."""


def ids_per_epoch(split, epochs, batch_size, out):
    """Put (the ids of each epoch, the split's schema names) on ``out``."""
    try:
        seen = [[int(v) for batch in split.iter_batches(batch_size=batch_size) for v in batch["id"]]
                for _ in range(epochs)]
        out.put(("ok", seen, split.schema().names))
    except BaseException as exc:  # the test shows what went wrong in the worker
        out.put(("error", f"{type(exc).__name__}: {exc}", None))


def torch_sums(split, epochs, out):
    """A small torch loop per epoch: the sum of the column ``x`` it saw."""
    try:
        sums = []
        for _ in range(epochs):
            total = 0.0
            for batch in split.iter_torch_batches(batch_size=16, device="cpu"):
                total += float(batch["x"].sum())
            sums.append(total)
        out.put(("ok", sums, None))
    except BaseException as exc:
        out.put(("error", f"{type(exc).__name__}: {exc}", None))


def first_batch_then_exit(split, out):
    """Read one batch and leave without finishing the pass (a worker that stops or dies)."""
    batch = next(iter(split.iter_batches(batch_size=10)))
    out.put(("ok", [int(v) for v in batch["id"]], None))
