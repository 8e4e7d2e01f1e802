"""Consensus contours of every image, their tables and the mask files."""

from collections.abc import Callable

import dagster as dg
import pyarrow as pa

from assets.metadata import table_metadata
from assets.resources import WorkFolder
from pipeline.consensus.image_curves import ImageCurves, image_curves
from pipeline.consensus.stage import ImageConsensus, image_consensus
from pipeline.consensus.tables import (
    consensus_notes_table,
    consensus_points_table,
    consensus_table,
    staple_performance_table,
)
from pipeline.masks.files import write_all_masks
from pipeline.parallel import map_images
from pipeline.source.validation import ValidatedSource
from pipeline.tables import schemas
from pipeline.tables.parquet_io import table_from_rows


def _consensus_of(item: tuple[ImageCurves, object]) -> ImageConsensus:
    return image_consensus(*item)


@dg.asset(
    group_name="consensus",
    kinds={"python"},
    description="Every consensus method of every image (curves, crop masks, STAPLE estimates).",
)
def consensus_set(
    context: dg.AssetExecutionContext,
    points: pa.Table,
    images: pa.Table,
    validated_source: ValidatedSource,
) -> list[ImageConsensus]:
    per_image = image_curves(points, images)
    published = validated_source.consensus
    results = map_images(_consensus_of, [(i, published.get(i.image_id)) for i in per_image])
    notes = sum(len(r.notes) for r in results)
    context.add_output_metadata({"images": len(results), "notes": notes})
    return results


def _consensus_table(
    spec: schemas.TableSpec, build: Callable[[list[ImageConsensus]], pa.Table]
) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.name,
        group_name="consensus",
        kinds={"parquet"},
        description=f"One row per {spec.grain}.",
    )
    def _table(context: dg.AssetExecutionContext, consensus_set: list[ImageConsensus]) -> pa.Table:
        table = build(consensus_set)
        context.add_output_metadata(table_metadata(table, spec))
        return table

    return _table


consensus = _consensus_table(schemas.CONSENSUS, consensus_table)
consensus_points = _consensus_table(schemas.CONSENSUS_POINTS, consensus_points_table)
consensus_notes = _consensus_table(schemas.CONSENSUS_NOTES, consensus_notes_table)
staple_performance = _consensus_table(schemas.STAPLE_PERFORMANCE, staple_performance_table)


@dg.asset(
    group_name="consensus",
    kinds={"parquet", "png"},
    description="One PNG (0/1, image size) per expert curve and per consensus, indexed.",
)
def masks(
    context: dg.AssetExecutionContext, consensus_set: list[ImageConsensus], work: WorkFolder
) -> pa.Table:
    rows = write_all_masks(consensus_set, work.root)
    table = table_from_rows(rows, schemas.MASKS)
    context.add_output_metadata(
        table_metadata(table, schemas.MASKS) | {"folder": str(work.root / "masks")}
    )
    return table


CONSENSUS_ASSETS = [
    consensus_set,
    consensus,
    consensus_points,
    consensus_notes,
    staple_performance,
    masks,
]
