"""Validated source and the first tables derived from it."""

from collections.abc import Callable

import dagster as dg
import pyarrow as pa

from assets.metadata import table_metadata
from pipeline.source.reader import RawSource
from pipeline.source.validation import ValidatedSource, validate_raw
from pipeline.tables import schemas
from pipeline.tables import source_tables as tables


@dg.asset(
    group_name="validated",
    kinds={"python"},
    description="Every record accepted or quarantined; accepted + rejected = total.",
)
def validated_source(context: dg.AssetExecutionContext, raw_source: RawSource) -> ValidatedSource:
    validated = validate_raw(raw_source)
    errors = sum(r.severity == "error" for r in validated.rejects)
    context.log.info(validated.image_counts.line("images"))
    context.log.info(validated.curve_counts.line("curves"))
    context.add_output_metadata(
        {
            "images_accepted": validated.image_counts.accepted,
            "images_rejected": validated.image_counts.rejected,
            "curves_accepted": validated.curve_counts.accepted,
            "curves_rejected": validated.curve_counts.rejected,
            "rejects_errors": errors,
            "rejects_warnings": len(validated.rejects) - errors,
        }
    )
    return validated


def _validated_table(
    spec: schemas.TableSpec, build: Callable[[ValidatedSource], pa.Table], group: str
) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.name,
        group_name=group,
        kinds={"parquet"},
        description=f"One row per {spec.grain}.",
    )
    def _table(context: dg.AssetExecutionContext, validated_source: ValidatedSource) -> pa.Table:
        table = build(validated_source)
        context.add_output_metadata(table_metadata(table, spec))
        return table

    return _table


rejects = _validated_table(schemas.REJECTS, tables.rejects_table, "validated")
images = _validated_table(schemas.IMAGES, tables.images_table, "derived")
studies = _validated_table(schemas.STUDIES, tables.studies_table, "derived")
experts = _validated_table(schemas.EXPERTS, tables.experts_table, "derived")
points = _validated_table(schemas.POINTS, tables.points_table, "derived")
contours = _validated_table(schemas.CONTOURS, tables.contours_table, "derived")

SOURCE_TABLE_ASSETS = [rejects, images, studies, experts, points, contours]
