"""Progress of long work, reported through a plain callback (no terminal or Dagster import).

A long step calls `progress(task, done, total)` as items finish: `task` names what is counted
("overlays", "masks copied"), `done` of `total` are finished. The Dagster wiring turns the calls
into log events, which the command line shows as progress bars (`assets.progress`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
Progress = Callable[[str, int, int], None]


def no_progress(task: str, done: int, total: int) -> None:
    """A `Progress` that reports nothing (the default)."""


def counted(items: Iterable[T], task: str, total: int, progress: Progress) -> Iterator[T]:
    """The items unchanged, reporting `task` done after each one (and 0 before the first)."""
    progress(task, 0, total)
    for done, item in enumerate(items, start=1):
        yield item
        progress(task, done, total)
