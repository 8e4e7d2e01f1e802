"""The release: a versioned, immutable folder of every table, cut from the derived assets."""

import dagster as dg
import pyarrow as pa

from assets.errors import user_errors_as_failures
from assets.resources import ReleasesRoot, WorkFolder
from pipeline.licence import check_licence, load_metadata
from pipeline.payload import copy_masks, write_catalog, write_tables
from pipeline.release import cut_release
from pipeline.schemas import TABLES

RELEASED_TABLES = sorted(TABLES)


class ReleaseConfig(dg.Config):
    version: str = "0.1.0"


@dg.asset(
    group_name="release",
    kinds={"parquet", "duckdb"},
    ins={name: dg.AssetIn(name) for name in RELEASED_TABLES},
    description="unitylv-multix/<version>/: the tables and their DuckDB catalog.",
)
def release_bag(
    context: dg.AssetExecutionContext,
    config: ReleaseConfig,
    releases: ReleasesRoot,
    work: WorkFolder,
    **tables: pa.Table,
) -> str:
    meta = load_metadata()

    def build(folder):
        data = folder / "data"
        write_tables(data, tables, meta, config.version)
        copy_masks(tables["masks"], work.root, data)
        write_catalog(data, RELEASED_TABLES)

    with user_errors_as_failures():
        check_licence(meta)
        outcome = cut_release(releases.root, config.version, build)
    context.add_output_metadata(
        {
            "path": str(outcome.path),
            "created": outcome.created,
            "files": len(outcome.manifest),
            "version": config.version,
        }
    )
    return str(outcome.path)
