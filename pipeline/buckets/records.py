"""A bucket's validated records as its rows of the source tables."""

from __future__ import annotations

import pyarrow as pa

from pipeline.buckets.layout import Counts
from pipeline.source.validation import ValidatedSource
from pipeline.tables import source_tables

RECORD_TABLES = ("images", "studies", "points", "contours", "rejects")


def bucket_record_tables(validated: ValidatedSource, ids: dict[str, str]) -> dict[str, pa.Table]:
    """images, studies, points, contours and rejects of one bucket (expert ids: the source's)."""
    return {
        "images": source_tables.images_table(validated),
        "studies": source_tables.studies_table(validated),
        "points": source_tables.points_table(validated, ids),
        "contours": source_tables.contours_table(validated, ids),
        "rejects": source_tables.rejects_table(validated),
    }


def bucket_counts(validated: ValidatedSource) -> Counts:
    """The bucket's record totals."""
    images, curves = validated.image_counts, validated.curve_counts
    return Counts(images.total, images.rejected, curves.total, curves.rejected)
