"""The release: a versioned, immutable BagIt bag and archive of every table, mask and export,
with its review (overlays, plots and a page under data/qa/)."""

import base64
from pathlib import Path

import dagster as dg

from assets.errors import user_errors_as_failures
from assets.progress import progress_reporter
from assets.resources import ReleasesRoot, SourceFolder, WorkFolder
from pipeline.release.cut import cut_release
from pipeline.release.info import ReleaseInfo, check_date, source_date
from pipeline.release.payload import write_payload
from pipeline.review.report import Review
from pipeline.review.summary import review_markdown
from pipeline.source.licence import check_licence, load_metadata
from pipeline.storage import folders
from pipeline.tables.schemas import TABLES
from pipeline.tables.table_files import TableFiles

RELEASED_TABLES = sorted(TABLES)
# Plots shown inline in the asset's metadata (the page holds them all).
INLINE_PLOTS = ("dice_heatmap.svg", "loo_agreement.svg")


class ReleaseConfig(dg.Config):
    """version: semantic version X.Y.Z; date: YYYY-MM-DD, default the source's own date."""

    version: str = "0.1.0"
    date: str = ""


@dg.asset(
    group_name="release",
    kinds={"parquet", "duckdb"},
    deps=RELEASED_TABLES,
    description="unitylv-multix/<version>/: a BagIt bag of the tables, masks, images and "
    "exports, with its review page, overlays and plots (data/qa/).",
)
def release_bag(
    context: dg.AssetExecutionContext,
    config: ReleaseConfig,
    releases: ReleasesRoot,
    source: SourceFolder,
    work: WorkFolder,
) -> str:
    tables = TableFiles(work.root / "tables")
    progress = progress_reporter(context)
    reviews: list[Review] = []
    with user_errors_as_failures():
        meta = load_metadata()
        source_root, releases_root = source.root, releases.root
        check_licence(meta, source_root)
        date = check_date(config.date) if config.date else source_date(source_root)
        info = ReleaseInfo(config.version, date, meta)
        outcome = cut_release(
            releases_root,
            info,
            lambda folder: reviews.append(
                write_payload(folder, tables, info, source_root, work.root, releases_root, progress)
            ),
            progress,
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
            **_review_metadata(reviews[-1], outcome.path / "data"),
        }
    )
    return path


def _review_metadata(review: Review, data_dir: Path) -> dict:
    """The review in the UI: a digest with the worst images and two plots inline, and paths."""
    page, plots = data_dir / review.page, data_dir / review.plots_dir
    inline = "".join(
        f"\n![{name}](data:image/svg+xml;base64,"
        f"{base64.b64encode((plots / name).read_bytes()).decode()})\n"
        for name in INLINE_PLOTS
    )
    return {
        "review": dg.MetadataValue.md(review_markdown(review.data, str(page), str(plots)) + inline),
        "review_page": dg.MetadataValue.path(str(page)),
        "review_plots": dg.MetadataValue.path(str(plots)),
        "overlays": review.overlays,
        "overlays_mb": round(review.overlay_bytes / 1e6, 2),
        "flags": len(review.data.flags.all),
    }
