"""Asset checks of the consensus, masks and agreement tables."""

import dagster as dg
import pyarrow as pa

from assets.consensus_assets import consensus, masks
from assets.resources import WorkFolder
from pipeline.tables import checks as rules

SHOWN = 10


def _result(
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
    asset=consensus,
    additional_ins={
        "images": dg.AssetIn("images"),
        "consensus_notes": dg.AssetIn("consensus_notes"),
    },
    description="Every accepted image has every consensus method, or a note saying why not.",
)
def consensus_complete(consensus: pa.Table, images: pa.Table, consensus_notes: pa.Table):
    return _result(rules.missing_consensus(images, consensus, consensus_notes), "complete")


@dg.asset_check(
    asset=consensus, description="published_mean reproduces the source's consensus file."
)
def published_matches_file(consensus: pa.Table):
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
    asset=consensus,
    additional_ins={"contours": dg.AssetIn("contours")},
    description="Each consensus area lies within the range of its experts' areas.",
)
def consensus_area_within_experts(consensus: pa.Table, contours: pa.Table):
    failures = rules.areas_outside_expert_range(consensus, contours)
    return _result(failures, "all within range", severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=masks, description="Every mask file exists and matches its sha256.")
def mask_files_intact(masks: pa.Table, work: WorkFolder):
    return _result(rules.broken_mask_files(masks, work.root), f"{masks.num_rows} files intact")


@dg.asset_check(asset="agreement", description="Dice and IoU lie in [0, 1].")
def agreement_scores_in_range(agreement: pa.Table):
    bad = rules.scores_outside_unit_interval(agreement)
    return _result([f"{bad} rows out of [0, 1]"] if bad else [], "all in [0, 1]")


@dg.asset_check(asset="pairwise_agreement", description="Dice and IoU lie in [0, 1].")
def pairwise_scores_in_range(pairwise_agreement: pa.Table):
    bad = rules.scores_outside_unit_interval(pairwise_agreement)
    return _result([f"{bad} rows out of [0, 1]"] if bad else [], "all in [0, 1]")


DERIVED_CHECKS = [
    consensus_complete,
    published_matches_file,
    consensus_area_within_experts,
    mask_files_intact,
    agreement_scores_in_range,
    pairwise_scores_in_range,
]
