"""The source scanned into study buckets, and the blocking checks that stop a run on bad input."""

import dagster as dg
import pyarrow as pa

from assets.errors import user_errors_as_failures
from assets.metadata import table_metadata
from assets.resources import SourceFolder, WorkFolder
from pipeline.buckets import layout
from pipeline.buckets.assemble import write_part
from pipeline.buckets.records import counts_of
from pipeline.source.licence import licence_problems, load_metadata
from pipeline.source.shards import SourceScan, scan_source
from pipeline.tables import schemas
from pipeline.tables.source_tables import experts_table_for, rejects_table_of
from pipeline.tables.table_files import TableFiles

SHARDS_DIR = "shards"


@dg.asset(
    group_name="source",
    kinds={"json", "png"},
    description="One pass over the source: its records split into study buckets, fingerprinted.",
)
def source_scan(
    context: dg.AssetExecutionContext, source: SourceFolder, work: WorkFolder
) -> SourceScan:
    with user_errors_as_failures():
        scan = scan_source(source.root, work.root / SHARDS_DIR)
        # Records that belong to no bucket (unsafe or unparsable names, stray files).
        write_part(
            rejects_table_of(scan.rejects),
            schemas.REJECTS,
            layout.part_path(work.root, "rejects", layout.SOURCE_PART),
        )
        layout.write_counts(
            work.root, layout.SOURCE_PART, counts_of(scan.image_counts, scan.curve_counts)
        )
    context.add_output_metadata(
        {
            "source": str(source.root),
            "annotated_images": scan.n_records,
            "consensus_file": scan.has_consensus,
            "buckets": len(scan.buckets),
        }
    )
    return scan


@dg.asset_check(asset=source_scan, blocking=True, description="Licensing metadata is complete.")
def licence(source: SourceFolder) -> dg.AssetCheckResult:
    """The reviewed metadata is complete, ShareAlike holds, and a source licence file agrees."""
    problems = licence_problems(load_metadata(), source.root)
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or "licence CC-BY-NC-SA-4.0, metadata complete",
        metadata={"problems": len(problems)},
    )


@dg.asset_check(asset=source_scan, blocking=True, description="Images/ holds the annotated frames.")
def image_folder(source_scan: SourceScan) -> dg.AssetCheckResult:
    problem = source_scan.folder_problem
    return dg.AssetCheckResult(
        passed=problem is None, description=problem or "Images/ holds annotated PNG frames"
    )


@dg.asset(
    group_name="validated",
    kinds={"parquet"},
    deps=["contours"],
    description="One row per expert: ids numbered over the whole source, accepted curves.",
)
def experts(
    context: dg.AssetExecutionContext, source_scan: SourceScan, work: WorkFolder
) -> pa.Table:
    contours = TableFiles(work.root / "tables").columns("contours", ["expert_id"])
    counts = contours.group_by("expert_id").aggregate([("expert_id", "count")])
    per_expert = dict(
        zip(counts["expert_id"].to_pylist(), counts["expert_id_count"].to_pylist(), strict=True)
    )
    ids = source_scan.expert_ids
    table = experts_table_for(ids, {u: per_expert.get(e, 0) for u, e in ids.items()})
    context.add_output_metadata(table_metadata(table, schemas.EXPERTS))
    return table


SOURCE_ASSETS = [source_scan, experts]
SOURCE_CHECKS = [licence, image_folder]
