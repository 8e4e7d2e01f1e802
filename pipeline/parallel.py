"""Mapping a per-image function over images on every core, results in input order."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import Generic, TypeVar

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
        costs the memory of two chunks). While the caller waits for a worker's result it works
        on the next chunk, from its back, so neither side waits between chunks."""
        stream = iter(items)
        current: _Chunk[T, R] | None = None
        while batch := list(islice(stream, chunk)):
            following = self._chunk(fn, batch)
            if current is not None:
                yield from current.results(following)
            current = following
        if current is not None:
            yield from current.results()

    def map_lazy(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """fn(item) for each item, in order: handed to the workers now (when it pays off),
        each result waited for as the iterator reaches it."""
        return self._chunk(fn, items).results()

    def _chunk(self, fn: Callable[[T], R], items: Sequence[T]) -> _Chunk[T, R]:
        enough = max(len(items), self.expected_items or 0) >= MIN_ITEMS_FOR_POOL
        if self.workers <= 1 or len(items) < 2 or not enough:
            return _Chunk(fn, items, None)
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers - 1, mp_context=context)
        return _Chunk(fn, items, [self._pool.submit(fn, item) for item in items])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class _Chunk(Generic[T, R]):
    """Items handed to the workers (or to none: `futures` None), shared with the caller: the
    caller takes the items no worker has started yet (their futures still cancel) from the
    back, and waits for the others."""

    def __init__(self, fn: Callable[[T], R], items: Sequence[T], futures: list[Future[R]] | None):
        self.fn, self.items, self.futures = fn, items, futures
        self.done_here: dict[int, R] = {}
        self._back = len(items) - 1  # the next item to take from the back
        self._stealing = futures is not None

    def take_one(self) -> bool:
        """Do the last item no worker has started, here; False when there is none left."""
        if not self._stealing or self._back < 0 or not self.futures[self._back].cancel():
            self._stealing = False
            return False
        self.done_here[self._back] = self.fn(self.items[self._back])
        self._back -= 1
        return True

    def results(self, following: _Chunk[T, R] | None = None) -> Iterator[R]:
        """The results in order; while a worker's result is not ready, the caller works on
        `following` (the next chunk) instead of waiting."""
        if self.futures is None:
            yield from (self.fn(item) for item in self.items)
            return
        while self.take_one():
            pass
        for index, future in enumerate(self.futures):
            if index in self.done_here:
                yield self.done_here.pop(index)
                continue
            while not future.done() and following is not None and following.take_one():
                pass
            yield future.result()


@contextmanager
def image_pool(expected_items: int | None = None) -> Iterator[ImagePool]:
    """An ImagePool for the `with` block (one start-up however many maps)."""
    pool = ImagePool(expected_items=expected_items)
    try:
        yield pool
    finally:
        pool.close()
