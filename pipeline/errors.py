"""The one family of user-facing errors: each names a file, a record and a cause."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class UnityLVError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits non-zero."""

    def __init__(self, cause: str, *, file: str | None = None, record: str | None = None):
        self.cause = cause
        self.file = file
        self.record = record
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as the CLI prints it: `file: record: cause`."""
        parts = [p for p in (self.file, self.record) if p]
        return ": ".join([*parts, self.cause])


class SourceError(UnityLVError):
    """The source as a whole cannot be used (missing file, unparsable JSON, wrong shape)."""


class LicenceError(UnityLVError):
    """The licensing metadata is incomplete or disagrees with the source's own licence."""


class ReleaseError(UnityLVError):
    """A release cannot be cut, verified or compared."""


class EvaluationError(UnityLVError):
    """A submission cannot be evaluated as a whole (no predictions, a bad name, ...)."""


class WriteError(UnityLVError):
    """A file could not be written (disk full, read-only folder, ...): names the file."""


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Turn an OSError while writing `path` (ENOSPC, EROFS, EACCES...) into a WriteError."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc).strip() or type(exc).__name__
        raise WriteError(f"cannot write: {reason}", file=str(path)) from None


class StorageError(UnityLVError):
    """An object store location cannot be used (bad URL, no access, not a complete release)."""
