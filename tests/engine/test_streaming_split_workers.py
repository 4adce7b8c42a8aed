"""streaming_split feeds training workers: every pass over a split is an epoch (the n splits of
an epoch share one execution, as in Ray Data), and a split pickled into another process of this
machine (a spawned worker) is consumed there, fed by the driver. Expected values: plain Python."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from multiprocessing.connection import Client

import pytest

import streamscope
from streamscope.engine.api import split_service
from streamscope.engine.api.remote_split_iterator import RemoteSplitIterator
from streamscope.engine.api.streaming_split import QUEUE_BLOCKS

import split_worker

SPAWN = multiprocessing.get_context("spawn")


def _run_workers(target, splits, *args, timeout=120):
    out = SPAWN.Queue()
    procs = [SPAWN.Process(target=target, args=(s, *args, out)) for s in splits]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=timeout) for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    errors = [r[1] for r in results if r[0] != "ok"]
    assert not errors, errors
    return results


def test_each_pass_is_an_epoch_and_every_epoch_has_every_row_once():
    splits = streamscope.range(600, override_num_blocks=12).streaming_split(3)
    seen: dict[int, list] = {}

    def train(k, it):
        seen[k] = [[row["id"] for row in it.iter_rows()] for _epoch in range(3)]

    threads = [threading.Thread(target=train, args=(k, it)) for k, it in enumerate(splits)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for epoch in range(3):
        assert sorted(sum((seen[k][epoch] for k in range(3)), [])) == list(range(600)), epoch


def test_an_epoch_runs_the_dataset_again(tmp_path):
    log = str(tmp_path / "calls")

    def count_rows(batch):
        with open(log, "a") as f:  # the UDF runs in worker processes: count through a file
            f.write(f"{len(batch['id'])}\n")
        return batch

    a, b = streamscope.range(100, override_num_blocks=4).map_batches(count_rows).streaming_split(2)
    results = {}

    def train(name, it):
        results[name] = [sum(1 for _ in it.iter_rows()) for _epoch in range(2)]

    threads = [threading.Thread(target=train, args=pair) for pair in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [results["a"][e] + results["b"][e] for e in range(2)] == [100, 100]
    with open(log) as f:
        assert sum(int(line) for line in f) == 200  # two executions, one per epoch


def test_spawned_workers_consume_pickled_splits_for_several_epochs():
    ds = streamscope.range(1000, override_num_blocks=10).map_batches(lambda b: {"id": b["id"] * 2})
    splits = ds.streaming_split(3, equal=True)
    results = _run_workers(split_worker.ids_per_epoch, splits, 2, 64)
    for epoch in range(2):
        parts = [r[1][epoch] for r in results]
        assert [len(p) for p in parts] == [333, 333, 333]  # equal shares; one leftover row dropped
        together = sum(parts, [])
        assert len(set(together)) == 999 and set(together) <= {2 * i for i in range(1000)}
    assert all(r[2] == ["id"] for r in results)


def test_a_torch_training_loop_per_worker():
    pytest.importorskip("torch")
    ds = streamscope.from_items([{"x": float(i)} for i in range(200)])
    results = _run_workers(split_worker.torch_sums, ds.streaming_split(2, equal=True), 2)
    for epoch in range(2):
        assert sum(r[1][epoch] for r in results) == float(sum(range(200)))


def test_a_worker_that_leaves_mid_pass_does_not_hold_the_others():
    ds = streamscope.range(2000, override_num_blocks=40)
    quitter, stayer = ds.streaming_split(2)
    out = SPAWN.Queue()
    proc = SPAWN.Process(target=split_worker.first_batch_then_exit, args=(quitter, out))
    proc.start()
    status, first, _ = out.get(timeout=120)
    proc.join(60)
    assert status == "ok" and len(first) == 10
    rest = [row["id"] for row in stayer.iter_rows()]  # the dealer gives the quitter's share to it
    assert len(set(rest)) == len(rest) and set(rest).isdisjoint(first)
    # the quitter's share is what it read and what waited in its queue: gone with it
    assert len(rest) >= 2000 - 50 * (QUEUE_BLOCKS + 1)


def test_a_pickled_split_says_where_it_is_served_when_that_process_is_gone():
    split = pickle.loads(pickle.dumps(streamscope.range(10).streaming_split(1)[0]))
    assert isinstance(split, RemoteSplitIterator)
    gone = RemoteSplitIterator("/nonexistent/splits.sock", b"k" * 32, 0, 1, "host-a", 4242)
    with pytest.raises(ConnectionError, match=r"pid 4242 on host-a.*Keep the process that called streaming_split"):
        list(gone.iter_rows())


def test_the_service_socket_is_private_and_removed_at_close():
    split = streamscope.range(10).streaming_split(1)[0]
    pickle.dumps(split)
    service = split_service.service_for(split._coord)
    assert os.stat(service.dir).st_mode & 0o777 == 0o700
    assert os.path.basename(service.dir).startswith("streamscope-split-")
    with pytest.raises(Exception):  # a client without the key is refused
        Client(service.address, family="AF_UNIX", authkey=b"wrong" * 7)
    service.close()
    assert not os.path.exists(service.dir)
