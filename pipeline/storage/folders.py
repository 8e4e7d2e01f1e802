"""The source, releases and work locations as the pipeline sees them: local folders.

A local path is used as it is. For an `s3://` URL: the source is mirrored into its local copy
(changed objects only); the releases root's local copy mirrors its complete releases; the work
area's local copy is synced down when a run takes the work lock and up when it lets go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import StorageError
from pipeline.locks import exclusive_lock
from pipeline.storage.location import is_remote, local_copy, local_path, parse_s3
from pipeline.storage.mirror import SYNC_LOCK, pull, push
from pipeline.storage.releases import publish_release, pull_releases
from pipeline.storage.s3 import filesystem, list_objects

__all__ = ["local_path", "publish", "releases_root", "source_root", "work_session"]


def source_root(location: str | Path) -> Path:
    """The source folder to read: a local path, or the local mirror of an S3 source (brought
    up to date: objects whose ETag or size changed are fetched, removed ones removed)."""
    if not is_remote(location):
        return Path(location)
    remote = parse_s3(str(location))
    local = local_copy(remote)
    fs = filesystem()
    objects = list_objects(fs, remote)
    if not objects:
        raise StorageError("no source here: the prefix holds no object", file=remote.url)
    local.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(local / SYNC_LOCK):
        pull(fs, remote, local, objects)
    return local


def releases_root(location: str | Path) -> Path:
    """The releases root to cut into and read from: a local path, or the local mirror of the
    complete releases of an S3 root (so version rules and changelogs read what S3 holds)."""
    if not is_remote(location):
        return Path(location)
    remote = parse_s3(str(location))
    local = local_copy(remote)
    pull_releases(filesystem(), remote, local)
    return local


def publish(location: str | Path, local_root: Path, version: str) -> bool:
    """After a cut into `releases_root(location)`: upload it when the root is on S3 (marker
    last). True when something was uploaded."""
    if not is_remote(location):
        return False
    return publish_release(filesystem(), parse_s3(str(location)), local_root, version)


def release_location(location: str | Path, local_release: Path) -> str:
    """Where a release cut into the root's local copy lives for its readers."""
    if not is_remote(location):
        return str(local_release)
    remote = parse_s3(str(location))
    return remote.child(*local_release.relative_to(local_copy(remote)).parts).url


@contextmanager
def work_session(
    location: str | Path, lock_name: str, on_wait: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """Hold the work folder's lock for a run and yield the local folder to work in; for an S3
    work area its local copy is synced down first and up at the end (even after a failure:
    each bucket's outputs are marked current only once complete)."""
    local = local_path(location)
    with exclusive_lock(local / lock_name, on_wait=on_wait):
        if not is_remote(location):
            yield local
            return
        remote = parse_s3(str(location))
        fs = filesystem()
        pull(fs, remote, local, keep=_is_lock)
        try:
            yield local
        finally:
            push(fs, local, remote, skip=_is_lock)


def _is_lock(relative: str) -> bool:
    return relative.endswith(".lock")
