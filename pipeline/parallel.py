"""Mapping a per-image function over images on every core, results in input order."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Below this many items a process pool costs more (spawning imports numpy, scipy, shapely)
# than it saves.
MIN_ITEMS_FOR_POOL = 24


def worker_count() -> int:
    """Processes to use: UNITYLV_WORKERS if set, else one per core; one in a daemonic process
    (a Dask worker, say), which may not start processes of its own."""
    if multiprocessing.current_process().daemon:
        return 1
    return max(1, int(os.environ.get("UNITYLV_WORKERS", os.cpu_count() or 1)))


class ImagePool:
    """The calling process and `workers - 1` worker processes, started on first use and kept
    for every later map.

    The caller works too: while the workers take items from the front of a map, it takes
    the ones no worker has started yet from the back. So one core's worth of work costs no
    extra process (each holds ~250 MB of imported libraries), and the caller, which would
    otherwise wait, is never idle.

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
        return list(self.map_lazy(fn, items))

    def imap(self, fn: Callable[[T], R], items: Iterable[T], chunk: int) -> Iterator[R]:
        """fn(item) for each item, in order, `chunk` items at a time: the next chunk is taken
        from `items` (which may be a lazy stream) and handed out before this one's results are
        taken, and no more than two chunks' results are ever held (a stream of any length
        costs the memory of two chunks, and the workers never wait between chunks)."""
        stream = iter(items)
        current: Iterator[R] | None = None
        while batch := list(islice(stream, chunk)):
            following = self.map_lazy(fn, batch)
            if current is not None:
                yield from current
            current = following
        if current is not None:
            yield from current

    def map_lazy(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """fn(item) for each item, in order: handed to the workers now (when it pays off),
        each result waited for as the iterator reaches it."""
        enough = max(len(items), self.expected_items or 0) >= MIN_ITEMS_FOR_POOL
        if self.workers <= 1 or len(items) < 2 or not enough:
            return (fn(item) for item in items)
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers - 1, mp_context=context)
        futures = [self._pool.submit(fn, item) for item in items]
        return _shared_results(fn, items, futures)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _shared_results(
    fn: Callable[[T], R], items: Sequence[T], futures: list[Future[R]]
) -> Iterator[R]:
    """The results in order: items no worker has started yet (their futures still cancel),
    taken from the back, are done here; the others are waited for."""
    done_here: dict[int, R] = {}
    for index in range(len(items) - 1, -1, -1):
        if not futures[index].cancel():
            break
        done_here[index] = fn(items[index])
    for index, future in enumerate(futures):
        yield done_here.pop(index) if index in done_here else future.result()


@contextmanager
def image_pool(expected_items: int | None = None) -> Iterator[ImagePool]:
    """An ImagePool for the `with` block (one start-up however many maps)."""
    pool = ImagePool(expected_items=expected_items)
    try:
        yield pool
    finally:
        pool.close()
