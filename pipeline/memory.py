"""Giving freed memory back to the operating system between the phases of a run.

glibc's malloc keeps the memory a phase freed in its arenas (Arrow's system pool and Python's
large objects both come from it), so without a trim a long run's resident size is the high
mark of everything before it, not what it holds now.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

import pyarrow as pa


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc only: elsewhere there is nothing to trim
    except OSError:
        return None
    return getattr(libc, "malloc_trim", None)


def give_back_memory() -> None:
    """Return the memory freed so far to the OS: Arrow's pool, then malloc's free pages."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
