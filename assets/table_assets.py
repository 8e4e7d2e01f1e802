"""The whole-dataset tables, assembled from the buckets' files: what a release ships."""

import dagster as dg

from assets.bucket_assets import bucket_key
from assets.io_manager import UNRELEASED
from assets.metadata import column_schema
from assets.resources import WorkFolder
from pipeline.buckets import layout
from pipeline.buckets.assemble import assemble_table
from pipeline.buckets.derive import DERIVED_TABLES
from pipeline.buckets.records import RECORD_TABLES
from pipeline.source.licence import load_metadata
from pipeline.tables.schemas import TABLES

TABLES_DIR = "tables"


def _specs(tables: tuple[str, ...], group: str) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            t,
            group_name=group,
            kinds={"parquet"},
            deps=[bucket_key(t)],
            description=f"One row per {TABLES[t].grain}.",
        )
        for t in tables
    ]


def _assemble(context: dg.AssetExecutionContext, work: WorkFolder, tables: tuple[str, ...]):
    stamp = load_metadata().parquet_stamp(UNRELEASED)
    for name in tables:
        spec = TABLES[name]
        rows = assemble_table(
            spec,
            layout.table_parts(work.root, name),
            work.root / TABLES_DIR / f"{name}.parquet",
            stamp,
            layout.spill_dir(work.root),
        )
        context.log.info(f"{name}: {rows} rows")
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={"dagster/row_count": rows, "dagster/column_schema": column_schema(spec)},
        )


@dg.multi_asset(
    specs=_specs(RECORD_TABLES, "validated"),
    can_subset=False,
    description="The validated source tables, every bucket's rows in one sorted file each.",
)
def source_tables(context: dg.AssetExecutionContext, work: WorkFolder):
    yield from _assemble(context, work, RECORD_TABLES)


@dg.multi_asset(
    specs=_specs(DERIVED_TABLES, "derived"),
    can_subset=False,
    description="The derived tables, every bucket's rows in one sorted file each.",
)
def derived_tables(context: dg.AssetExecutionContext, work: WorkFolder):
    yield from _assemble(context, work, DERIVED_TABLES)


TABLE_ASSETS = [source_tables, derived_tables]
