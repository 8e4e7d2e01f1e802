"""A bucket's validated records as its rows of the source tables, and its totals."""

from __future__ import annotations

from pipeline.buckets.layout import Counts
from pipeline.source.outcomes import RecordCounts

RECORD_TABLES = ("images", "studies", "points", "contours", "rejects")


def counts_of(images: RecordCounts, curves: RecordCounts) -> Counts:
    """Record totals of a bucket (or of the scan) as written beside its tables."""
    return Counts(images.total, images.rejected, curves.total, curves.rejected)
