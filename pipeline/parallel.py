"""Mapping a per-image function over all images on every core, results in input order."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Below this many items a process pool costs more (spawning imports numpy, scipy, shapely)
# than it saves.
MIN_ITEMS_FOR_POOL = 24


def worker_count() -> int:
    """Processes to use: UNITYLV_WORKERS if set, else one per core."""
    return max(1, int(os.environ.get("UNITYLV_WORKERS", os.cpu_count() or 1)))


def map_images(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """[fn(item) for item in items], spread over worker processes when it pays off.

    Processes are spawned, not forked: the caller may hold threads (Dagster's), and a fork of
    a threaded process can deadlock. `fn` must be a module-level function.
    """
    workers = min(worker_count(), len(items))
    if workers <= 1 or len(items) < MIN_ITEMS_FOR_POOL:
        return [fn(item) for item in items]
    chunk = max(1, len(items) // (workers * 4))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(fn, items, chunksize=chunk))
