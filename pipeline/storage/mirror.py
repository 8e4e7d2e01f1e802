"""Keeping a local folder and an S3 prefix in step, fetching or sending only what changed.

An index in the local folder (`.s3-index.json`) records, for each object, the ETag and size
S3 reported and the size and modification time of the local file made from it: an object is
fetched again only when S3's ETag or size changed or the local file was touched; a local file
is sent only when it changed since it was last synced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import StorageError
from pipeline.storage.location import S3Location
from pipeline.storage.s3 import ObjectInfo, list_objects, s3_errors

INDEX_FILE = ".s3-index.json"
SYNC_LOCK = ".s3-sync.lock"
PARTIAL_SUFFIX = ".s3-partial"


def safe_relative(remote: S3Location, relative: str) -> str:
    """An object key below `remote` usable as a local path: no empty, '.' or '..' parts, no
    backslash (a key is data from elsewhere: it must not write outside the copy)."""
    parts = relative.split("/")
    if "\\" in relative or any(p in ("", ".", "..") for p in parts):
        shown = relative if len(relative) <= 80 else relative[:80] + "…"
        raise StorageError(
            f"object key {shown!r} cannot be a file name here ('.', '..', '//' or '\\' in it); "
            "nothing was copied after it",
            file=remote.url,
        )
    return relative


def is_sync_file(relative: str) -> bool:
    """The mirror's own bookkeeping, never synced: its index, its lock, half-fetched files."""
    name = relative.rsplit("/", 1)[-1]
    return name in (INDEX_FILE, SYNC_LOCK) or name.endswith(PARTIAL_SUFFIX)


class Index:
    """key -> [etag, size, local size, local mtime_ns] of the objects synced into `root`."""

    def __init__(self, root: Path):
        self.path = root / INDEX_FILE
        try:
            self.entries: dict[str, list] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def is_current(self, relative: str, info: ObjectInfo, local: Path) -> bool:
        entry = self.entries.get(relative)
        if entry is None or entry[:2] != [info.etag, info.size] or not local.is_file():
            return False
        stat = local.stat()
        return entry[2:] == [stat.st_size, stat.st_mtime_ns]

    def record(self, relative: str, info: ObjectInfo, local: Path) -> None:
        stat = local.stat()
        self.entries[relative] = [info.etag, info.size, stat.st_size, stat.st_mtime_ns]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + PARTIAL_SUFFIX)
        partial.write_text(json.dumps(self.entries, sort_keys=True), encoding="utf-8")
        os.replace(partial, self.path)


def pull(
    fs,
    remote: S3Location,
    local: Path,
    objects: dict[str, ObjectInfo] | None = None,
    keep: Callable[[str], bool] = lambda relative: False,
) -> list[str]:
    """Make `local` hold exactly `objects` (default: every object below `remote`), fetching the
    changed ones; local files that are not among them are removed unless `keep(relative)`.
    Each file is fetched beside its place and renamed in, with the object's modification time.
    Returns the keys fetched."""
    objects = list_objects(fs, remote) if objects is None else objects
    local.mkdir(parents=True, exist_ok=True)
    index = Index(local)
    fetched = []
    try:
        for relative, info in sorted(objects.items()):
            target = local / safe_relative(remote, relative)
            if index.is_current(relative, info, target):
                continue
            _make_writable(target.parent, local)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + PARTIAL_SUFFIX)
            with s3_errors(remote.child(relative)):
                fs.get_file(remote.child(relative).path, str(partial))
            os.utime(partial, (info.modified, info.modified))
            os.replace(partial, target)
            index.record(relative, info, target)
            fetched.append(relative)
        for relative in sorted(set(local_files(local)) - set(objects)):
            if not keep(relative):
                _make_writable((local / relative).parent, local)
                (local / relative).unlink()
                index.entries.pop(relative, None)
        for relative in set(index.entries) - set(objects):
            del index.entries[relative]
    finally:
        index.save()
    return fetched


def push(
    fs, local: Path, remote: S3Location, skip: Callable[[str], bool] = lambda relative: False
) -> list[str]:
    """Make the objects below `remote` hold exactly the files of `local` (but those `skip`
    names), sending the ones changed since the last sync; returns the keys sent."""
    index = Index(local)
    remote_objects = list_objects(fs, remote)
    files = [r for r in local_files(local) if not skip(r)]
    sent = []
    try:
        for relative in files:
            path = local / relative
            if relative in remote_objects and index.is_current(
                relative, remote_objects[relative], path
            ):
                continue
            send(fs, path, remote.child(relative))
            sent.append(relative)
        for relative in sorted(set(remote_objects) - set(files)):
            if not skip(relative):
                delete(fs, remote.child(relative))
        after = list_objects(fs, remote) if sent else remote_objects
        for relative in files:
            if relative in after:
                index.record(relative, after[relative], local / relative)
    finally:
        index.save()
    return sent


def send(fs, path: Path, target: S3Location) -> None:
    with s3_errors(target):
        fs.put_file(str(path), target.path)


def delete(fs, target: S3Location) -> None:
    with s3_errors(target):
        fs.rm_file(target.path)


def local_files(root: Path) -> list[str]:
    """Every regular file below `root` (links not followed), relative, bookkeeping left out."""
    if not root.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            relative = path.relative_to(root).as_posix()
            if path.is_file() and not path.is_symlink() and not is_sync_file(relative):
                found.append(relative)
    return found


def _make_writable(folder: Path, root: Path) -> None:
    """Give the write bit back to `folder` and its parents up to `root` (a published release
    in a mirror is read-only)."""
    for path in [folder, *folder.parents]:
        if path.is_dir() and not os.access(path, os.W_OK):
            path.chmod(path.stat().st_mode | 0o200)
        if path == root or root not in path.parents:
            break
