"""sha256 of files and of whole folders, and of bytes as they are written."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_manifest(folder: Path) -> dict[str, str]:
    """Relative POSIX path -> sha256 of every file below `folder`, sorted."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}


class HashingWriter(io.RawIOBase):
    """A write-only stream that hashes the bytes on their way to `target` (which it leaves open).

    The file's sha256 comes with writing it, so it is never read back to be hashed. `target`
    None hashes without writing anywhere.
    """

    def __init__(self, target: BinaryIO | None = None):
        super().__init__()
        self._target = target
        self._digest = hashlib.sha256()
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self._digest.update(view)
        if self._target is not None:
            self._target.write(view)
        self._position += len(view)
        return len(view)

    def tell(self) -> int:
        return self._position

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
