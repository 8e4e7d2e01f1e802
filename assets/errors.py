"""Turning the pipeline's user-facing errors into Dagster failures with a one-line description."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from pipeline.errors import UnityLVError


@contextmanager
def user_errors_as_failures() -> Iterator[None]:
    """Re-raise a UnityLVError as a dg.Failure whose description is its one line."""
    try:
        yield
    except UnityLVError as exc:
        raise dg.Failure(
            description=exc.one_line(),
            metadata={"unitylv_error": exc.one_line()},
            allow_retries=False,
        ) from None
