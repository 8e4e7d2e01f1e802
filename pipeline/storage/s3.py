"""The S3 filesystem from the standard AWS variables, and its errors as one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pipeline.errors import StorageError
from pipeline.storage.location import S3Location

ENDPOINT_ENV = "AWS_ENDPOINT_URL"
REGION_ENV = "AWS_DEFAULT_REGION"


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing says about an object: enough to tell whether a copy is current."""

    etag: str
    size: int
    modified: float  # seconds since the epoch (the object's LastModified)


def filesystem():
    """An s3fs filesystem configured like the AWS command line: credentials from
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the usual AWS chain), AWS_DEFAULT_REGION,
    and AWS_ENDPOINT_URL for any S3-compatible store. No listing cache: a listing is current."""
    import s3fs

    region = os.environ.get(REGION_ENV)
    return s3fs.S3FileSystem(
        endpoint_url=os.environ.get(ENDPOINT_ENV) or None,
        client_kwargs={"region_name": region} if region else {},
        use_listings_cache=False,
        skip_instance_cache=True,
    )


@contextmanager
def s3_errors(location: S3Location | str) -> Iterator[None]:
    """Turn a failed S3 call (no access, no bucket, no connection) into one StorageError line."""
    url = location.url if isinstance(location, S3Location) else location
    try:
        yield
    except FileNotFoundError:
        raise StorageError("no such bucket or object", file=url) from None
    except PermissionError:
        raise StorageError(
            "access denied: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", file=url
        ) from None
    except StorageError:
        raise
    except Exception as exc:
        if not _is_client_error(exc):
            raise
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StorageError(f"S3 request failed: {line}", file=url) from None


def _is_client_error(exc: Exception) -> bool:
    """botocore's and the connection's errors (an unreachable endpoint, bad credentials)."""
    import botocore.exceptions

    return isinstance(
        exc, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError | OSError
    )


def list_objects(fs, location: S3Location) -> dict[str, ObjectInfo]:
    """Every object below `location` (recursively), by key relative to it."""
    with s3_errors(location):
        found = fs.find(location.path, detail=True) if _bucket_exists(fs, location) else {}
    objects = {}
    for path, info in found.items():
        relative = location.relative(path)
        if info.get("type") == "directory" or not relative or relative.endswith("/"):
            continue
        modified = info.get("LastModified")
        objects[relative] = ObjectInfo(
            etag=str(info.get("ETag", "")).strip('"'),
            size=int(info.get("size", 0)),
            modified=modified.timestamp() if modified is not None else 0.0,
        )
    return objects


def _bucket_exists(fs, location: S3Location) -> bool:
    if fs.exists(location.bucket):
        return True
    raise StorageError(f"no bucket {location.bucket!r}", file=location.url)
