"""The local runtime's attack surface: no process of it (driver, workers, actors) listens on a
TCP or UDP socket during a run; its session directories are mode 0700 and owned by the user; and
a worker reads input blocks only from the session's own store and spill directories. The runtime
API names blocks by id, never by path, so an id outside the store fails in the driver; a TASK
message crafted below the API with an outside path is refused by the worker itself."""

from __future__ import annotations

import os
import stat
import sys
import time

import cloudpickle
import psutil
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

import streamscope as ss
from streamscope.engine.runtime.base import TaskSpec
from streamscope.engine.runtime.local import LocalRuntime, protocol
from streamscope.engine.runtime.local.refs import LocalBlockRef

cloudpickle.register_pickle_by_value(sys.modules[__name__])


_SOCKET_PROBE = r"""
import json, os, sys, threading, time
import psutil
import streamscope as ss

marker_dir = sys.argv[1]


def listeners(pid):
    try:
        conns = psutil.Process(pid).net_connections(kind="inet")
    except psutil.NoSuchProcess:
        return []
    return [str(c) for c in conns if c.status == psutil.CONN_LISTEN or (c.type == 2 and c.laddr)]


def wait_for(path):
    deadline = time.monotonic() + 120
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.path.exists(path)


class Holding:
    # on its first call, waits until the driver has looked at every process
    def __call__(self, batch):
        running = os.path.join(marker_dir, "running")
        if not os.path.exists(running):
            open(running, "w").close()
            wait_for(os.path.join(marker_dir, "inspected"))
        return batch


found = {}


def inspect():
    if wait_for(os.path.join(marker_dir, "running")):
        me = psutil.Process()
        pids = [me.pid, *(p.pid for p in me.children(recursive=True))]
        found["pids"] = pids
        found["listeners"] = {str(pid): listeners(pid) for pid in pids if listeners(pid)}
    open(os.path.join(marker_dir, "inspected"), "w").close()


ctx = ss.DataContext.get_current()
ctx.enable_progress_bars = False
ctx.small_plan_inline_rows = 0
inspector = threading.Thread(target=inspect)
inspector.start()
ds = (ss.range(2000, override_num_blocks=4).map_batches(lambda b: {"id": b["id"] * 2})
      .map_batches(Holding, compute=ss.ActorPoolStrategy(size=1)))
total = sum(r["id"] for r in ds.take_all())
inspector.join()
from streamscope.engine.runtime import get_runtime
print(json.dumps({"total": total, "workers": len(get_runtime().workers()), **found}))
"""


def test_no_process_of_the_runtime_listens_on_a_socket_during_a_run(tmp_path):
    """In a fresh driver process, so that only streamscope's own sockets could be found (a test
    session's process also holds what other tests opened: Ray, servers, browsers)."""
    import json
    import subprocess

    script = tmp_path / "probe.py"
    script.write_text(_SOCKET_PROBE)
    out = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["total"] == 2 * sum(range(2000))
    assert len(found["pids"]) >= 1 + found["workers"] + 1  # the driver, the workers, the actor
    assert found["listeners"] == {}


def _mode_and_owner(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid


def test_session_directories_are_private_to_the_user(runtime, ctx, leaks, tmp_path):
    ctx.object_store_capacity_bytes = 1 << 20
    ctx.spill_dir = str(tmp_path / "spill-parent")
    held = ss.range(200_000, override_num_blocks=8).map_batches(lambda b: {"v": b["id"] * 2}).materialize()
    store = runtime.store
    assert runtime.store_stats().spilled_now_bytes > 0  # the spill directory exists now
    spill_dirs = [d for d in store.spill_dirs() if os.path.isdir(d)]
    assert spill_dirs
    for directory in [store.directory, *spill_dirs]:
        assert _mode_and_owner(directory) == (0o700, os.getuid()), directory
        assert os.path.basename(directory).endswith(f"-{os.getpid()}")
    assert held.count() == 200_000
    del held
    ctx.spill_dir = None
    leaks.check()


def _read_first_input(payload, blocks, ctx):
    for table in blocks:
        yield table.slice(0, 1)
        return


def test_a_block_id_outside_the_store_fails_in_the_driver(runtime, leaks, tmp_path):
    secret = tmp_path / "secret.arrow"
    table = pa.table({"secret": [42]})
    with pa.OSFile(str(secret), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    fn = runtime.register_function(_read_first_input, "ReadFirst")
    crafted = LocalBlockRef(os.path.relpath(str(secret)[: -len(".arrow")], runtime.store.directory))
    try:
        handle = runtime.submit(TaskSpec(fn, inputs=(crafted,), operator="ReadFirst"))
        results = []
        deadline = time.monotonic() + 30
        while not results and time.monotonic() < deadline:
            results = [r for h, r in runtime.wait(1.0) if h is handle]
        [result] = results
    finally:
        runtime.release_function(fn)
    assert result.error is not None and result.error.system and "freed or never existed" in result.error.message
    assert result.outputs == []
    leaks.check()


@pytest.fixture
def lone_worker():
    """A runtime of one worker whose process the test drives directly, below the runtime API."""
    rt = LocalRuntime(num_workers=1)
    rt.ensure_started()
    worker = rt.pool.idle.popleft()  # the runtime will not dispatch to it
    try:
        yield rt, worker
    finally:
        rt.pool.idle.append(worker)
        rt.shutdown()


def _send_task(rt, worker, paths, fn=_read_first_input):
    store = rt.store
    worker.conn.send_bytes(protocol.encode((protocol.FN, "fn-crafted", cloudpickle.dumps(fn))))
    worker.conn.send_bytes(protocol.encode((
        protocol.TASK, 1, 1, "fn-crafted", protocol.encode(None), paths, "Crafted", None, store.directory, store.spill_dir_path(),
        None, None, None, None, store.spill_dirs())))
    assert worker.conn.poll(60), "the worker did not answer"
    return protocol.decode(worker.conn.recv_bytes())


def test_a_worker_refuses_input_paths_outside_its_session(lone_worker, tmp_path):
    rt, worker = lone_worker
    secret = tmp_path / "secret.arrow"
    table = pa.table({"secret": [42]})
    with pa.OSFile(str(secret), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    store_dir = rt.store.directory
    for crafted in (str(secret), os.path.join(store_dir, "..", os.path.relpath(str(secret), os.path.dirname(store_dir))),
                    os.path.join(store_dir, "not-a-block.txt")):
        kind, task_id, attempt, result, files, _ = _send_task(rt, worker, [crafted])
        assert kind == protocol.DONE and files == []
        assert result.error is not None and result.error.system
        assert "refuses to read input" in result.error.message and crafted in result.error.message
    # a block inside the store is read as usual
    ref, _ = rt.put(pa.table({"ok": [7, 8]}))
    path = rt.store.pin_for_read([ref.block_id])[0]
    kind, _, _, result, files, _ = _send_task(rt, worker, [path])
    rt.store.unpin([ref.block_id])
    assert result.error is None and len(files) == 1
    from streamscope.engine.runtime.local import blockfile

    assert blockfile.read_block(files[0][1]).column("ok").to_pylist() == [7]
    rt.store.add(*files[0][:3], files[0][3])
    rt.free([ref, LocalBlockRef(files[0][0])])
