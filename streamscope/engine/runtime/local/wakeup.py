"""WakeupPipe: lets another thread interrupt a ``wait`` blocked on worker pipes.

Why: ``LocalRuntime.wait`` blocks in ``multiprocessing.connection.wait`` on a snapshot of the
busy workers' pipes. A ``submit`` or ``cancel`` from another thread changes that set; writing a
byte to this pipe (watched alongside the workers) makes the waiter take a fresh snapshot.
"""

from __future__ import annotations

import os
import weakref


class WakeupPipe:
    def __init__(self) -> None:
        self.read_fd, self._write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self._write_fd, False)
        weakref.finalize(self, _close_fds, self.read_fd, self._write_fd)

    def wake(self) -> None:
        try:
            os.write(self._write_fd, b"w")
        except OSError:  # pipe full: the waiter is awake already
            pass

    def drain(self) -> None:
        try:
            while os.read(self.read_fd, 4096):
                pass
        except OSError:  # BlockingIOError: empty
            pass


def _close_fds(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
