"""The release: a versioned, immutable BagIt bag and archive of every table, mask and export."""

import dagster as dg

from assets.errors import user_errors_as_failures
from assets.resources import ReleasesRoot, SourceFolder, WorkFolder
from pipeline.release.cut import cut_release
from pipeline.release.info import ReleaseInfo, check_date, source_date
from pipeline.release.payload import write_payload
from pipeline.source.licence import check_licence, load_metadata
from pipeline.storage import folders
from pipeline.tables.schemas import TABLES
from pipeline.tables.table_files import TableFiles

RELEASED_TABLES = sorted(TABLES)


class ReleaseConfig(dg.Config):
    """version: semantic version X.Y.Z; date: YYYY-MM-DD, default the source's own date."""

    version: str = "0.1.0"
    date: str = ""


@dg.asset(
    group_name="release",
    kinds={"parquet", "duckdb"},
    deps=RELEASED_TABLES,
    description="unitylv-multix/<version>/: a BagIt bag of the tables, masks, images and exports.",
)
def release_bag(
    context: dg.AssetExecutionContext,
    config: ReleaseConfig,
    releases: ReleasesRoot,
    source: SourceFolder,
    work: WorkFolder,
) -> str:
    tables = TableFiles(work.root / "tables")
    with user_errors_as_failures():
        meta = load_metadata()
        source_root, releases_root = source.root, releases.root
        check_licence(meta, source_root)
        date = check_date(config.date) if config.date else source_date(source_root)
        info = ReleaseInfo(config.version, date, meta)
        outcome = cut_release(
            releases_root,
            info,
            lambda folder: write_payload(
                folder, tables, info, source_root, work.root, releases_root
            ),
        )
        uploaded = folders.publish(releases.path, releases_root, info.version)
    path = folders.release_location(releases.path, outcome.path)
    context.add_output_metadata(
        {
            "path": path,
            "created": outcome.created or uploaded,
            "files": len(outcome.manifest),
            "version": info.version,
            "date": info.date,
            "archive_sha256": outcome.archive_sha256,
            "notes": "; ".join(outcome.notes),
        }
    )
    return path
