"""Telling `s3://bucket/prefix` URLs from local paths, and where their local copies live."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import StorageError

S3_SCHEME = "s3://"
CACHE_ENV = "UNITYLV_CACHE"
DEFAULT_CACHE = "data/cache"
# S3's rule for bucket names: 3-63 lower-case letters, digits, dots and hyphens.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)


@dataclass(frozen=True)
class S3Location:
    """An object key prefix in a bucket; `key` has no leading or trailing slash."""

    bucket: str
    key: str = ""

    @property
    def url(self) -> str:
        return f"{S3_SCHEME}{self.path}"

    @property
    def path(self) -> str:
        """bucket/key, as s3fs names objects."""
        return f"{self.bucket}/{self.key}" if self.key else self.bucket

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def parent(self) -> S3Location:
        return S3Location(self.bucket, self.key.rpartition("/")[0])

    def child(self, *parts: str) -> S3Location:
        key = "/".join(p for p in (self.key, *parts) if p)
        return S3Location(self.bucket, key)

    def relative(self, path: str) -> str:
        """The part of an s3fs object path below this location."""
        return path.removeprefix(self.path).lstrip("/")


def is_remote(location: str | Path) -> bool:
    """True for an `s3://` URL, False for a local path."""
    return str(location).startswith(S3_SCHEME)


def parse_s3(url: str) -> S3Location:
    """The bucket and prefix of `s3://bucket/prefix` (StorageError for anything else)."""
    if not is_remote(url):
        raise StorageError("not an s3://bucket/prefix URL", file=url)
    bucket, _, key = url.removeprefix(S3_SCHEME).partition("/")
    parts = [p for p in key.split("/") if p]
    if not BUCKET_NAME.fullmatch(bucket):
        raise StorageError(
            f"{bucket[:70]!r} is not an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')",
            file=url,
        )
    if any(p in (".", "..") for p in parts):
        raise StorageError("a URL with '.' or '..' in its path is not accepted", file=url)
    return S3Location(bucket, "/".join(parts))


def cache_root() -> Path:
    """Where local copies of S3 locations live: $UNITYLV_CACHE, default data/cache."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def local_copy(location: S3Location) -> Path:
    """The local folder that mirrors `location`: <cache>/s3/<bucket>/<prefix>."""
    return cache_root() / "s3" / location.bucket / location.key


def local_path(location: str | Path) -> Path:
    """A local path as it is; an S3 URL as its local copy (nothing fetched)."""
    if is_remote(location):
        return local_copy(parse_s3(str(location)))
    return Path(location)
