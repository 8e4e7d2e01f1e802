"""What every artefact of a release is stamped with: version, date and the dataset metadata."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGES_DIR
from pipeline.errors import ReleaseError
from pipeline.source.licence import DatasetMetadata

# Use with fullmatch: ASCII digits only, nothing after the day (not even a newline).
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NNUNET_DATASET_ID = 501
NNUNET_DATASET_NAME = f"Dataset{NNUNET_DATASET_ID:03d}_UnityLVMultiX"


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    date: str  # ISO 8601 day, YYYY-MM-DD
    meta: DatasetMetadata

    @property
    def licence_spdx(self) -> str:
        return self.meta.spdx

    @property
    def licence_url(self) -> str:
        return self.meta["licence"]["url"]


def check_date(date: str) -> str:
    """An ISO day YYYY-MM-DD, or ReleaseError."""
    try:
        if ISO_DATE.fullmatch(date):
            dt.date.fromisoformat(date)
            return date
    except ValueError:
        pass
    raise ReleaseError(f"release date {date!r} is not a day YYYY-MM-DD")


def source_date(source_root: Path) -> str:
    """The source's own date: the day (UTC) its newest published file was last modified."""
    candidates = [source_root / ANNOTATIONS_FILE, source_root / CONSENSUS_FILE]
    images = source_root / IMAGES_DIR
    if images.is_dir():
        candidates += list(images.iterdir())
    newest = max(p.stat().st_mtime for p in candidates if p.is_file())
    return dt.datetime.fromtimestamp(newest, dt.UTC).date().isoformat()
