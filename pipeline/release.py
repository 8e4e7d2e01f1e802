"""Cutting a versioned, immutable release folder: staged, then renamed into place."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.constants import DATASET_SLUG
from pipeline.errors import ReleaseError

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class ReleaseOutcome:
    path: Path
    created: bool  # False: the identical release already existed (a no-op)
    manifest: dict[str, str]  # relative path -> sha256 of every file in the release


def check_version(version: str) -> str:
    """A semantic version X.Y.Z, or ReleaseError."""
    if not SEMVER.match(version):
        raise ReleaseError(f"version {version!r} is not a semantic version X.Y.Z")
    return version


def release_path(releases_root: Path, version: str) -> Path:
    """Where a version lives: <releases root>/unitylv-multix/<version>/."""
    return releases_root / DATASET_SLUG / check_version(version)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_manifest(folder: Path) -> dict[str, str]:
    """Relative POSIX path -> sha256 of every file below `folder`, sorted."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}


def manifest_difference(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Paths that differ between two manifests, each with how."""
    changed = [f"{p} (changed)" for p in sorted(old.keys() & new.keys()) if old[p] != new[p]]
    missing = [f"{p} (only in the existing release)" for p in sorted(old.keys() - new.keys())]
    extra = [f"{p} (only in the new build)" for p in sorted(new.keys() - old.keys())]
    return changed + missing + extra


def cut_release(releases_root: Path, version: str, build: Callable[[Path], None]) -> ReleaseOutcome:
    """Build a release with `build(folder)` in a staging folder, then rename it into place.

    An existing version is never changed: an identical rebuild is a no-op, a different one is
    refused naming what differs.
    """
    final = release_path(releases_root, version)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(final.parent)
    staging = final.parent / f"{STAGING_PREFIX}{version}-{uuid.uuid4().hex}"
    try:
        staging.mkdir()
        build(staging)
        manifest = tree_manifest(staging)
        if final.exists():
            return _compare_existing(final, manifest, version)
        os.rename(staging, final)
        return ReleaseOutcome(final, True, manifest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _compare_existing(final: Path, manifest: dict[str, str], version: str) -> ReleaseOutcome:
    existing = tree_manifest(final)
    differences = manifest_difference(existing, manifest)
    if differences:
        shown = "; ".join(differences[:5]) + (
            f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
        )
        raise ReleaseError(
            f"version {version} exists with different content and is immutable: {shown}. "
            "Cut a new version instead.",
            file=str(final),
        )
    return ReleaseOutcome(final, False, existing)


def _remove_stale_staging(folder: Path) -> None:
    """Staging folders left by an interrupted release (never a release: they are renamed last)."""
    for stale in folder.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
