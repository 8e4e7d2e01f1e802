"""Cutting a versioned, immutable release: staged, bagged, archived, then renamed into place.

<releases root>/unitylv-multix/<version>/                   the bag (the release itself)
<releases root>/unitylv-multix/unitylv-multix-<version>.tar.gz  (+ .sha256)

A version exists exactly when its folder does. Everything is built in a hidden staging folder
beside it; the archive is moved into place first and the folder renamed last, so a process
killed at any moment leaves no folder that looks like a release (at worst a stale archive,
which the next run replaces) and the next run succeeds.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.bag import bag_info, make_bag, write_archive
from pipeline.checksums import sha256_file, tree_manifest
from pipeline.constants import DATASET_SLUG
from pipeline.errors import ReleaseError
from pipeline.release_info import ReleaseInfo

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
STAGING_PREFIX = ".staging-"
# Fault injection for the crash tests: the process kills itself (SIGKILL) at this step.
CRASH_ENV = "UNITYLV_CRASH_AT"
STEPS = ("payload", "bag", "archive", "archive_in_place", "checksum_in_place", "renamed")


@dataclass(frozen=True)
class ReleaseOutcome:
    path: Path
    created: bool  # False: the identical release already existed (a no-op)
    archive_sha256: str
    manifest: dict[str, str]  # relative path -> sha256 of every file of the bag


def check_version(version: str) -> str:
    """A semantic version X.Y.Z, or ReleaseError."""
    if not SEMVER.match(version):
        raise ReleaseError(f"version {version!r} is not a semantic version X.Y.Z")
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
    """Released versions under the root, oldest first."""
    folder = releases_root / DATASET_SLUG
    if not folder.is_dir():
        return []
    return sorted((p.name for p in folder.iterdir() if SEMVER.match(p.name)), key=version_key)


def previous_version(releases_root: Path, version: str) -> str | None:
    """The newest released version below `version`, if any."""
    older = [v for v in existing_versions(releases_root) if version_key(v) < version_key(version)]
    return older[-1] if older else None


def manifest_difference(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Paths that differ between two manifests, each with how."""
    changed = [f"{p} (changed)" for p in sorted(old.keys() & new.keys()) if old[p] != new[p]]
    missing = [f"{p} (only in the existing release)" for p in sorted(old.keys() - new.keys())]
    extra = [f"{p} (only in the new build)" for p in sorted(new.keys() - old.keys())]
    return changed + missing + extra


def cut_release(
    releases_root: Path, info: ReleaseInfo, write_payload: Callable[[Path], None]
) -> ReleaseOutcome:
    """Write the payload with `write_payload(folder)`, bag it, archive it, move it into place.

    An existing version is never changed: an identical rebuild is a no-op, a different one is
    refused naming what differs.
    """
    final = release_path(releases_root, info.version)
    archive = archive_path(releases_root, info.version)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(final.parent)
    staging = final.parent / f"{STAGING_PREFIX}{info.version}-{uuid.uuid4().hex}"
    bag = staging / "bag"
    try:
        bag.mkdir(parents=True)
        write_payload(bag)
        _crash_point("payload")
        make_bag(bag, bag_info(info, f"{DATASET_SLUG}-{info.version}"))
        _crash_point("bag")
        manifest = tree_manifest(bag)
        if final.exists():
            return _compare_existing(final, archive, manifest, info.version)
        return _publish(bag, staging, final, archive, info, manifest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _publish(bag, staging, final, archive, info, manifest) -> ReleaseOutcome:
    mtime = int(dt.datetime.fromisoformat(info.date).replace(tzinfo=dt.UTC).timestamp())
    staged_archive = staging / archive.name
    digest = write_archive(bag, staged_archive, f"{DATASET_SLUG}-{info.version}", mtime)
    staged_archive.with_name(archive.name + ".sha256").write_text(f"{digest}  {archive.name}\n")
    _crash_point("archive")
    os.replace(staged_archive, archive)
    _crash_point("archive_in_place")
    os.replace(
        staged_archive.with_name(archive.name + ".sha256"),
        archive.with_name(archive.name + ".sha256"),
    )
    _crash_point("checksum_in_place")
    os.rename(bag, final)
    _crash_point("renamed")
    return ReleaseOutcome(final, True, digest, manifest)


def _compare_existing(final: Path, archive: Path, manifest: dict[str, str], version: str):
    existing = tree_manifest(final)
    differences = manifest_difference(existing, manifest)
    if differences:
        shown = "; ".join(differences[:5])
        more = f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
        raise ReleaseError(
            f"version {version} exists with different content and is immutable: {shown}{more}. "
            "Cut a new version instead.",
            file=str(final),
        )
    digest = sha256_file(archive) if archive.is_file() else ""
    return ReleaseOutcome(final, False, digest, existing)


def _remove_stale_staging(folder: Path) -> None:
    """Staging folders left by an interrupted release (never a release: they are renamed last)."""
    for stale in folder.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


def _crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
