"""Asset checks of the consensus, masks and agreement tables (read from their files, by column)."""

import dagster as dg

from assets.resources import WorkFolder
from pipeline.tables import checks as rules
from pipeline.tables.table_files import TableFiles

SHOWN = 10


def _tables(work: WorkFolder) -> TableFiles:
    return TableFiles(work.root / "tables")


def check_result(
    failures: list[str], ok: str, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    more = f" (+{len(failures) - SHOWN} more)" if len(failures) > SHOWN else ""
    return dg.AssetCheckResult(
        passed=not failures,
        severity=severity,
        description="; ".join(failures[:SHOWN]) + more if failures else ok,
        metadata={"failures": len(failures)},
    )


@dg.asset_check(
    asset="consensus",
    additional_deps=["images", "consensus_notes"],
    description="Every accepted image has every consensus method, or a note saying why not.",
)
def consensus_complete(work: WorkFolder):
    t = _tables(work)
    return check_result(
        rules.missing_consensus(
            t.columns("images", ["image_id"]),
            t.columns("consensus", ["image_id", "method"]),
            t.columns("consensus_notes", ["image_id", "method"]),
        ),
        "complete",
    )


@dg.asset_check(
    asset="consensus", description="published_mean reproduces the source's consensus file."
)
def published_matches_file(work: WorkFolder):
    consensus = _tables(work).columns("consensus", ["method", "published_file_max_deviation_px"])
    deviation = rules.published_deviation(consensus)
    if deviation is None:
        return dg.AssetCheckResult(passed=True, description="no consensus file in the source")
    return dg.AssetCheckResult(
        passed=deviation < rules.PUBLISHED_TOLERANCE_PX,
        description=f"largest deviation {deviation:.2e} px "
        f"(tolerance {rules.PUBLISHED_TOLERANCE_PX} px)",
        metadata={"max_deviation_px": deviation},
    )


@dg.asset_check(
    asset="consensus",
    additional_deps=["contours"],
    description="Each consensus area lies within the range of its experts' areas.",
)
def consensus_area_within_experts(work: WorkFolder):
    t = _tables(work)
    failures = rules.areas_outside_expert_range(
        t.columns("consensus", ["image_id", "method", "left_out_expert_id", "area_px"]),
        t.columns("contours", ["image_id", "area_px"]),
    )
    return check_result(failures, "all within range", severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset="masks", description="Every mask file exists and matches its sha256.")
def mask_files_intact(work: WorkFolder):
    masks = _tables(work).columns("masks", ["path", "sha256"])
    return check_result(rules.broken_mask_files(masks, work.root), f"{masks.num_rows} files intact")


@dg.asset_check(asset="agreement", description="Dice and IoU lie in [0, 1].")
def agreement_scores_in_range(work: WorkFolder):
    bad = rules.scores_outside_unit_interval(_tables(work).columns("agreement", ["dice", "iou"]))
    return check_result([f"{bad} rows out of [0, 1]"] if bad else [], "all in [0, 1]")


@dg.asset_check(asset="pairwise_agreement", description="Dice and IoU lie in [0, 1].")
def pairwise_scores_in_range(work: WorkFolder):
    table = _tables(work).columns("pairwise_agreement", ["dice", "iou"])
    bad = rules.scores_outside_unit_interval(table)
    return check_result([f"{bad} rows out of [0, 1]"] if bad else [], "all in [0, 1]")


DERIVED_CHECKS = [
    consensus_complete,
    published_matches_file,
    consensus_area_within_experts,
    mask_files_intact,
    agreement_scores_in_range,
    pairwise_scores_in_range,
]
