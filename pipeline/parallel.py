"""Mapping a per-image function over images on every core, results in input order."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Below this many items a process pool costs more (spawning imports numpy, scipy, shapely)
# than it saves.
MIN_ITEMS_FOR_POOL = 24


def worker_count() -> int:
    """Processes to use: UNITYLV_WORKERS if set, else one per core."""
    return max(1, int(os.environ.get("UNITYLV_WORKERS", os.cpu_count() or 1)))


class ImagePool:
    """A pool of worker processes, started on first use and kept for every later map.

    Processes are spawned, not forked: the caller may hold threads (Dagster's), and a fork of
    a threaded process can deadlock. Functions mapped must be module-level.
    """

    def __init__(self, workers: int | None = None, expected_items: int | None = None):
        """`expected_items`: how many items all the maps will hold together, when known; the
        pool is worth starting when they are many, even if each map holds few."""
        self.workers = workers or worker_count()
        self.expected_items = expected_items
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """[fn(item) for item in items], spread over the workers when it pays off."""
        enough = max(len(items), self.expected_items or 0) >= MIN_ITEMS_FOR_POOL
        if self.workers <= 1 or len(items) < 2 or not enough:
            return [fn(item) for item in items]
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        chunk = max(1, len(items) // (self.workers * 4))
        return list(self._pool.map(fn, items, chunksize=chunk))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


@contextmanager
def image_pool(expected_items: int | None = None) -> Iterator[ImagePool]:
    """An ImagePool for the `with` block (one start-up however many maps)."""
    pool = ImagePool(expected_items=expected_items)
    try:
        yield pool
    finally:
        pool.close()
