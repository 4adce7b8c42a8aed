"""The actor process: a worker loop plus one more message kind, ACTOR_INIT.

Why reuse the worker loop: an actor reads its input blocks from the store and writes its outputs
there exactly as a task worker does, so the only difference is that it keeps one function (and the
state that function builds) for its whole life, and constructs that state eagerly so a failing
constructor is reported once, at start, with its traceback.

Its environment (``CUDA_VISIBLE_DEVICES`` for the GPUs it was given) is applied first thing,
before the actor's function is unpickled and before any user import can initialize CUDA.
"""

from __future__ import annotations

import os
import signal
from typing import Any, Optional

from streamscope.engine.context import use_context
from streamscope.engine.runtime.local import protocol
from streamscope.engine.runtime.local.worker import WorkerLoop, detach_error_exception, die_with_parent
from streamscope.engine.runtime.task_runner import error_from_exception


def actor_main(conn: Any, driver_pid: int, worker_id: str, env: Optional[dict] = None) -> None:
    if env:
        os.environ.update(env)
    die_with_parent(driver_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loop = WorkerLoop(conn, worker_id)
    loop.handlers[protocol.ACTOR_INIT] = lambda message: on_actor_init(loop, message)
    loop.run()


def on_actor_init(loop: WorkerLoop, message: tuple) -> tuple:
    _, fn_id, operator, *rest = message
    fn = loop.fns.get(fn_id)
    init = getattr(fn, "init_actor", None)
    try:
        if fn is None:
            raise RuntimeError(f"actor function {fn_id} was never sent to {loop.worker_id}")
        if init is not None:
            # The constructor (a callable class's __init__) sees the run's settings, as tasks do.
            with use_context(loop.contexts.get(rest[0] if rest else None), process_wide=True):
                init()
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which fails the run
        error = error_from_exception(operator, exc)
        return (protocol.ACTOR_READY, os.getpid(), error, detach_error_exception(error))
    return (protocol.ACTOR_READY, os.getpid(), None, None)
