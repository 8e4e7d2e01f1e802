"""Advisory file locks that die with their process: one run per work folder, one cut at a time.

`flock` locks belong to an open file: the kernel drops them when the process exits, however it
exits (SIGKILL included), so a lock can never be left behind by a crash. They are advisory and
local: every unitylv process honours them; another tool, or another machine sharing the folder
over NFS, does not.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_HOLDER_BYTES = 200


class LockBusy(Exception):
    """The lock is held by another live process (`holder` says which, as far as it is known)."""

    def __init__(self, holder: str):
        self.holder = holder
        super().__init__(holder)


def this_process() -> str:
    """How a lock names its holder: process id and host (no time: nothing here is an artefact)."""
    return f"pid {os.getpid()} on {socket.gethostname()}"


@contextmanager
def exclusive_lock(
    path: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created if needed) for the `with` block.

    When another process holds it: wait (calling `on_wait(holder)` once first) or, with
    `wait=False`, raise LockBusy at once.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise LockBusy(holder) from None
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, this_process().encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # drops the lock


def is_held(path: Path) -> bool:
    """True when a live process holds the lock on `path` (False when absent or free)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _holder(fd: int) -> str:
    text = os.pread(fd, MAX_HOLDER_BYTES, 0).decode("utf-8", "replace").strip()
    return text or "another process"
