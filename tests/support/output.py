"""What a test's process writes to a pipe, read from its start by a thread of its own.

A pipe that nobody reads holds 64 KiB; the process then stops at its next write (a log line) and looks hung. And
a read on a pipe never ends while any process still holds its other end: a child that outlived its parent (the
demo's fleet loader) kept a test reading a dead demo's output until CI's time ran out.
"""
from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from typing import IO, Optional


class Output:
    """Everything written to ``pipe`` so far, kept as it arrives."""

    def __init__(self, pipe: IO) -> None:
        self._data = bytearray()
        self._closed = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(pipe.fileno(),), daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        try:
            while chunk := os.read(fd, 65536):
                with self._changed:
                    self._data += chunk
                    self._changed.notify_all()
        except OSError:  # the Popen closed its end after the process was waited for
            pass
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def text(self, settle: float = 0) -> str:
        """The output so far; after ``settle`` seconds at most for the writers to close the pipe (a process
        stopped a moment ago may still have its last lines in the pipe)."""
        self._reader.join(settle)
        with self._changed:
            return self._data.decode("utf-8", "replace")

    def wait_for(self, pattern: str, proc: subprocess.Popen, timeout: float) -> Optional[re.Match]:
        """The first match of ``pattern`` (multi-line) once it has been written; None when ``proc`` has ended
        or ``timeout`` seconds have passed first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = re.search(pattern, self._data.decode("utf-8", "replace"), re.M)
                if found or self._closed or time.monotonic() > deadline:
                    return found
                if proc.poll() is not None:  # its last words may still be on their way, for a second
                    deadline = min(deadline, time.monotonic() + 1)
                self._changed.wait(0.5)
