"""Cutting a versioned, immutable release: staged, bagged, archived, then renamed into place.

<releases root>/unitylv-multix/<version>/                   the bag (the release itself)
<releases root>/unitylv-multix/unitylv-multix-<version>.tar.gz  (+ .sha256)

One cut at a time per releases root: a cut holds `unitylv-multix/.release.lock` from reading
the existing versions (for the changelog and the version rule) to publishing, so two cuts
never see a half-published state or publish over each other. A new version must be higher
than every existing one, so the versions below a release, and so its changelog, never change:
an identical re-cut is always a no-op. Everything is built in a staging folder owned by its
run (a lock file inside it); see `pipeline.release.publish` for the order in which it is published.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.constants import DATASET_SLUG
from pipeline.errors import ReleaseError
from pipeline.locks import exclusive_lock, is_held
from pipeline.memory import give_back_memory
from pipeline.progress import Progress, no_progress
from pipeline.release.bag import bag_info, make_bag
from pipeline.release.info import ReleaseInfo
from pipeline.release.publish import (
    ReleaseOutcome,
    crash_point,
    publish,
    recheck_existing,
    remove_tree,
)

# ASCII digits only, the whole string (no trailing newline): `re.fullmatch` and [0-9].
SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", re.ASCII)
MAX_VERSION_CHARS = 40
STAGING_PREFIX = ".staging-"
STAGING_OWNER = "owner.lock"
RELEASE_LOCK = ".release.lock"

__all__ = ["ReleaseOutcome", "cut_release"]


def check_version(version: str) -> str:
    """A semantic version X.Y.Z (ASCII digits, nothing before or after), or ReleaseError."""
    if len(version) > MAX_VERSION_CHARS or not SEMVER.fullmatch(version):
        raise ReleaseError(
            f"version {version[:MAX_VERSION_CHARS]!r} is not a semantic version X.Y.Z"
        )
    return version


def version_key(version: str) -> tuple[int, int, int]:
    major, minor, patch = check_version(version).split(".")
    return int(major), int(minor), int(patch)


def release_path(releases_root: Path, version: str) -> Path:
    """Where a version lives: <releases root>/unitylv-multix/<version>/."""
    return releases_root / DATASET_SLUG / check_version(version)


def archive_path(releases_root: Path, version: str) -> Path:
    return releases_root / DATASET_SLUG / f"{DATASET_SLUG}-{check_version(version)}.tar.gz"


def existing_versions(releases_root: Path) -> list[str]:
    """Released versions under the root (folders named X.Y.Z), oldest first."""
    folder = releases_root / DATASET_SLUG
    if not folder.is_dir():
        return []
    names = [
        p.name
        for p in folder.iterdir()
        if SEMVER.fullmatch(p.name) and p.is_dir() and not p.is_symlink()
    ]
    return sorted(names, key=version_key)


def previous_version(releases_root: Path, version: str) -> str | None:
    """The newest released version below `version`, if any."""
    older = [v for v in existing_versions(releases_root) if version_key(v) < version_key(version)]
    return older[-1] if older else None


def check_new_version(releases_root: Path, version: str) -> None:
    """A version not yet released must be higher than every released one (ReleaseError)."""
    versions = existing_versions(releases_root)
    if version in versions or not versions:
        return
    newest = versions[-1]
    if version_key(version) < version_key(newest):
        raise ReleaseError(
            f"version {version} is lower than the newest release {newest}: versions only go up "
            f"(a release's changelog compares it with the version below it). "
            f"Cut a version above {newest}.",
            file=str(releases_root / DATASET_SLUG),
        )


def cut_release(
    releases_root: Path,
    info: ReleaseInfo,
    write_payload: Callable[[Path], object],
    progress: Progress = no_progress,
) -> ReleaseOutcome:
    """Write the payload with `write_payload(folder)`, bag it, archive it, move it into place.

    An existing version is never changed: an identical rebuild is a no-op (which still checks
    the archive), a different one is refused naming what differs.
    """
    final = release_path(releases_root, info.version)
    dataset_dir = final.parent
    with exclusive_lock(dataset_dir / RELEASE_LOCK), _staging(dataset_dir, info.version) as staging:
        check_new_version(releases_root, info.version)
        bag = staging / "bag"
        bag.mkdir()
        write_payload(bag)
        crash_point("payload")
        give_back_memory()
        manifest = make_bag(bag, bag_info(info, f"{DATASET_SLUG}-{info.version}"))
        crash_point("bag")
        archive = archive_path(releases_root, info.version)
        give_back_memory()
        if final.exists():
            return recheck_existing(final, archive, bag, staging, manifest, info, progress)
        return publish(bag, staging, final, archive, info, manifest, progress)


@contextmanager
def _staging(dataset_dir: Path, version: str) -> Iterator[Path]:
    """A fresh staging folder owned by this process (its lock), removed when the cut ends."""
    dataset_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(dataset_dir)
    staging = dataset_dir / f"{STAGING_PREFIX}{version}-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        with exclusive_lock(staging / STAGING_OWNER):
            yield staging
    finally:
        remove_tree(staging)


def remove_stale_staging(dataset_dir: Path) -> list[Path]:
    """Remove staging folders whose owner is gone (its lock is free); keep live runs' ones."""
    removed = []
    for staging in sorted(dataset_dir.glob(f"{STAGING_PREFIX}*")):
        if staging.is_dir() and not is_held(staging / STAGING_OWNER):
            remove_tree(staging)
            removed.append(staging)
    return removed
