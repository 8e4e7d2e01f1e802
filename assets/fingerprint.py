"""Cheap fingerprints of the source files, of a predictions folder and of the code, to notice
when one changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGES_DIR

CODE_PACKAGES = ("pipeline", "assets")


def source_fingerprint(root: Path) -> str | None:
    """A digest of names, sizes and modification times of the source files; None if absent."""
    if not (root / ANNOTATIONS_FILE).is_file():
        return None
    digest = hashlib.sha256()
    entries = [root / ANNOTATIONS_FILE, root / CONSENSUS_FILE]
    images = root / IMAGES_DIR
    if images.is_dir():
        entries += sorted(images.iterdir())
    for path in entries:
        if path.exists():
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def folder_fingerprint(folder: Path) -> str:
    """A digest of the names, sizes and modification times of a folder's entries (links not
    followed): it changes when an entry is added, removed, replaced or rewritten."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        stat = path.lstat()
        name = path.name.encode("utf-8", "replace")
        digest.update(name + f"\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """A digest of this project's Python sources and packaged metadata."""
    digest = hashlib.sha256()
    top = Path(__file__).resolve().parent.parent
    for package in CODE_PACKAGES:
        for path in sorted((top / package).rglob("*")):
            if path.suffix in (".py", ".toml") and path.is_file():
                digest.update(path.relative_to(top).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()
