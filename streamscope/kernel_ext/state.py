"""The one state object of the IPython extension: what it changed in the session, and the hooks
that show a live view for every execution a cell triggers.

How runs become live views: the TelemetryHub calls a listener in the thread that creates an
executor. A run created on the kernel's main thread while a cell executes belongs to that cell, so
the listener displays a :class:`~streamscope.widgets.LiveRunView` right there (``display`` from the
main thread always lands under the running cell). Runs created on another thread are shown only
when that thread is a background run started by the magics: the magics displayed a container
for it from the main thread, and the listener adds the view to that container (a widget update,
which is safe from any thread, where a ``display`` from a thread could land under whichever cell
happens to be running). Wrapping consumption instead would miss runs started by code we do not
see (``ds.take(5)`` in a helper function); the listener sees every run.

Why the extension hooks the kernel's shutdown: on a shutdown request ipykernel first SIGTERMs every
child process in its process group and waits for them, with growing sleeps, before Python exits;
worker processes it terminates that way leave the tmpfs session directory behind, and the
multiprocessing resource tracker ignores SIGTERM, so the wait outlasts the front end's patience and
the kernel itself is killed without running its exit handlers. The extension's ``do_shutdown``
stops the engine's runtime first (workers stopped, blocks and session directory removed), then lets
the kernel proceed.

Why an idle interrupt handler: ipykernel ignores SIGINT while no cell runs, so the notebook's
Interrupt button would do nothing to a background run. ipykernel restores
``kernel.saved_sigint_handler`` after every cell; the extension puts its own handler there, so an
interrupt while idle cancels the background runs (within a second) and an interrupt during a cell
still raises ``KeyboardInterrupt`` in that cell (which stops a foreground run through the
executor's shutdown path, and a ``handle.result()`` wait by cancelling its run).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Iterator, Optional

from streamscope.engine.context import DataContext
from streamscope.engine.execution import run_registry
from streamscope.engine.execution.telemetry import SnapshotBuffer, hub
from streamscope.engine.runtime import shutdown_all
from streamscope.kernel_ext.magics import DatasetMagics
from streamscope.widgets.live import LiveRunView

MAX_REMEMBERED_VIEWS = 20
FINAL_DRAW_WAIT_S = 2.0
"""How long the end of a cell waits, in all, for the live views of runs that finished in it to
draw their final state (see :meth:`KernelExtension._post_run_cell`)."""


class RunRef:
    """What a live view needs of a run it did not start: its buffer and a way to cancel it."""

    def __init__(self, buffer: SnapshotBuffer, cancel: Optional[Callable[[], Any]] = None):
        self.buffer = buffer
        self._cancel = cancel

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel()
        else:
            run_registry.cancel_run(self.buffer.run_id)


class KernelExtension:
    """Everything ``%load_ext streamscope`` changed, so ``unload()`` can undo it.

    ``widgets``: show widget views (default: only inside a Jupyter kernel; a terminal IPython
    gets text). ``live``: show a live view for every run a cell triggers (``%dataset live off``).
    """

    def __init__(self, shell: Any, widgets: Optional[bool] = None):
        self.shell = shell
        self.in_kernel = getattr(shell, "kernel", None) is not None
        self.widgets = self.in_kernel if widgets is None else bool(widgets)
        self.live = True
        self.loaded = False
        self.views: list = []
        """The most recent live views (newest last), for inspection and tests."""
        self.dashboards: list = []
        self.handles: list = []
        """Background run handles started by the magics."""
        self._containers: dict[threading.Thread, tuple[Any, str, Any]] = {}
        self._in_cell = False
        self._cell_views: list = []
        """Live views displayed by the running cell (its runs, not background runs' containers)."""
        self._forced = 0
        self._label: Optional[str] = None
        self._saved_progress_mode: Optional[str] = None
        self._sigint_handler = self._on_idle_interrupt
        self._saved_sigint: Any = None
        self._sigint_installed = False
        self._shutdown_hook: Any = None
        self.magics: Any = None

    # -- load / unload ---------------------------------------------------------------------------
    def load(self) -> None:
        self.magics = DatasetMagics(self.shell, self)
        self.shell.register_magics(self.magics)
        hub().add_listener(self._on_new_run)
        self.shell.events.register("pre_run_cell", self._pre_run_cell)
        self.shell.events.register("post_run_cell", self._post_run_cell)
        self._in_cell = True  # loaded by %load_ext, i.e. from inside a cell
        if self.in_kernel:
            ctx = DataContext.get_current()
            self._saved_progress_mode = ctx.progress_mode
            ctx.progress_mode = "off"
            self._install_idle_interrupt()
            self._install_shutdown_hook()
        self.loaded = True

    def unload(self) -> None:
        if not self.loaded:
            return
        self.loaded = False
        hub().remove_listener(self._on_new_run)
        for name, fn in (("pre_run_cell", self._pre_run_cell), ("post_run_cell", self._post_run_cell)):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(name, fn)
        magics = self.shell.magics_manager.magics
        for kind in ("line", "cell"):
            if getattr(magics[kind].get("dataset"), "__self__", None) is self.magics:
                del magics[kind]["dataset"]
        with contextlib.suppress(ValueError):
            self.shell.magics_manager.registry.pop(type(self.magics).__name__, None)
        for dash in self.dashboards:
            with contextlib.suppress(Exception):
                dash.close()
        self.dashboards.clear()
        if self._saved_progress_mode is not None:
            DataContext.get_current().progress_mode = self._saved_progress_mode
            self._saved_progress_mode = None
        self._remove_idle_interrupt()
        self._remove_shutdown_hook()

    # -- kernel shutdown -------------------------------------------------------------------------
    def _install_shutdown_hook(self) -> None:
        kernel = self.shell.kernel
        original = getattr(kernel, "do_shutdown", None)
        if original is None:
            return

        async def do_shutdown(restart: bool):
            self.stop_engine()
            result = original(restart)
            if hasattr(result, "__await__"):
                result = await result
            return result

        self._shutdown_hook = do_shutdown
        kernel.do_shutdown = do_shutdown

    def _remove_shutdown_hook(self) -> None:
        kernel = getattr(self.shell, "kernel", None)
        if self._shutdown_hook is not None and kernel is not None:
            if kernel.__dict__.get("do_shutdown") is self._shutdown_hook:
                del kernel.__dict__["do_shutdown"]
        self._shutdown_hook = None

    def stop_engine(self) -> None:
        """Cancel every run, stop the runtimes (workers, store, session directory) and the
        multiprocessing resource tracker, so the kernel can exit at once."""
        with contextlib.suppress(Exception):
            self.cancel_all()
        for dash in self.dashboards:
            with contextlib.suppress(Exception):
                dash.close()
        with contextlib.suppress(Exception):
            shutdown_all()
        with contextlib.suppress(Exception):
            from multiprocessing import resource_tracker

            resource_tracker._resource_tracker._stop()

    # -- interrupts ------------------------------------------------------------------------------
    def _install_idle_interrupt(self) -> None:
        kernel = getattr(self.shell, "kernel", None)
        if kernel is None or not hasattr(kernel, "saved_sigint_handler"):
            return
        self._saved_sigint = kernel.saved_sigint_handler
        kernel.saved_sigint_handler = self._sigint_handler
        self._sigint_installed = True

    def _remove_idle_interrupt(self) -> None:
        kernel = getattr(self.shell, "kernel", None)
        if self._sigint_installed and kernel is not None:
            if kernel.saved_sigint_handler == self._sigint_handler:
                kernel.saved_sigint_handler = self._saved_sigint
            else:  # unloaded between cells: our handler is the installed one
                import signal

                if signal.getsignal(signal.SIGINT) == self._sigint_handler:
                    signal.signal(signal.SIGINT, self._saved_sigint)
        self._sigint_installed = False

    def _on_idle_interrupt(self, signum: int, frame: Any) -> None:
        """SIGINT while no cell runs: cancel the background runs (never blocks the signal)."""
        threading.Thread(target=self.cancel_all, name="streamscope-interrupt", daemon=True).start()

    def cancel_all(self, run_id: Optional[str] = None) -> list[str]:
        """Cancel one run by id, or every active run and background handle; returns what stopped."""
        stopped: list[str] = []
        if run_id is None:
            for handle in list(self.handles):
                if not handle.done:
                    handle.cancel(timeout=0)
                    stopped.append(handle.run_id or handle.name)
        for rid in run_registry.cancel_run(run_id):
            if rid not in stopped:
                stopped.append(rid)
        return stopped

    # -- cells -----------------------------------------------------------------------------------
    def _pre_run_cell(self, info: Any = None) -> None:
        self._in_cell = True
        self._cell_views = []

    def _post_run_cell(self, result: Any = None) -> None:
        self._in_cell = False
        self._await_final_views()
        self.handles = [h for h in self.handles if not h.done]

    def _await_final_views(self) -> None:
        """Wait (at most FINAL_DRAW_WAIT_S in all) until the views of the runs that finished in
        this cell have drawn their final state.

        Why: a view republishes its static HTML (what a saved notebook, nbconvert or the
        documentation site shows) from its poller thread, up to a poll interval after the run
        ends. Published after the cell ended, the update reaches a live front end but not a
        client that stops listening at the end of the cell (nbclient, which executes saved
        notebooks): those would keep the view's first state, "waiting for the run to start".
        Runs still going (background runs) are not waited for."""
        views, self._cell_views = self._cell_views, []
        deadline = time.monotonic() + FINAL_DRAW_WAIT_S
        for view in views:
            buffer = getattr(view, "buffer", None)
            if buffer is not None and buffer.finished:
                view.wait(max(0.0, deadline - time.monotonic()))

    @contextlib.contextmanager
    def showing(self, label: Optional[str] = None) -> Iterator[None]:
        """Show live views for runs started inside the block even when ``live`` is off."""
        saved = (self._in_cell, self._label)
        self._forced += 1
        self._in_cell = True
        self._label = label
        try:
            yield
        finally:
            self._forced -= 1
            self._in_cell, self._label = saved

    # -- runs ------------------------------------------------------------------------------------
    def _on_new_run(self, buffer: SnapshotBuffer) -> None:
        if not self.widgets:
            return
        thread = threading.current_thread()
        target = self._containers.get(thread)
        if target is not None:
            self._add_to_container(target, buffer)
            return
        if thread is not threading.main_thread() or not self._in_cell:
            return
        if not (self.live or self._forced):
            return
        view = LiveRunView(RunRef(buffer), name=self._label or buffer.name)
        self.remember(view)
        view.display()

    def remember(self, view: Any) -> None:
        self.views.append(view)
        del self.views[:-MAX_REMEMBERED_VIEWS]
        if self._in_cell and threading.current_thread() is threading.main_thread():
            self._cell_views.append(view)

    def _add_to_container(self, target: tuple[Any, str, Any], buffer: SnapshotBuffer) -> None:
        box, label, handle = target
        view = LiveRunView(RunRef(buffer, cancel=lambda: handle.cancel(timeout=0)), name=label or buffer.name)
        self.remember(view)
        if box is not None and view.root is not None:
            box.children = tuple(box.children) + (view.root,)
        view.start()

    def attach_container(self, handle: Any, box: Any, label: str) -> None:
        """Runs created on ``handle``'s thread get their live view appended to ``box``."""
        self._containers[handle.thread] = (box, label, handle)

        def _forget(h: Any) -> None:
            self._containers.pop(h.thread, None)

        handle.add_done_callback(_forget)

    def track(self, handle: Any) -> Any:
        self.handles.append(handle)
        return handle


__all__ = ["KernelExtension", "RunRef"]
