"""Asset checks that flag the curves and studies a reviewer should look at, naming each.

Warnings, not failures: an outlier is a reason to look, not to stop a release. The rules are
the review's (`pipeline.review.flags`), so a check and the review page flag the same things.
"""

import dagster as dg

from assets.derived_checks import check_result
from assets.resources import WorkFolder
from pipeline.review import flags as rules
from pipeline.tables.table_files import TableFiles

WARN = dg.AssetCheckSeverity.WARN


def _tables(work: WorkFolder) -> TableFiles:
    return TableFiles(work.root / "tables")


def _lines(flags: list[rules.Flag]) -> list[str]:
    return [flag.line() for flag in flags]


@dg.asset_check(
    asset="agreement",
    description=f"No expert curve has a Dice below {rules.LOW_DICE:g} against its "
    "leave-one-out consensus (names the image and expert).",
)
def expert_agreement_outliers(work: WorkFolder):
    flagged = _lines(rules.low_agreement(_tables(work)))
    return check_result(flagged, "every curve agrees with its leave-one-out consensus", WARN)


@dg.asset_check(
    asset="study_measurements",
    description="No expert's EF is more than 15 points from the consensus EF (names the study "
    "and expert).",
)
def ef_outliers(work: WorkFolder):
    flagged = _lines(rules.ef_outliers(_tables(work)))
    return check_result(flagged, "every expert EF within 15 points of the consensus", WARN)


@dg.asset_check(
    asset="study_measurements",
    description="Every study's consensus ED area is larger than its ES area (names the study).",
)
def phase_order(work: WorkFolder):
    flagged = _lines(rules.phase_order(_tables(work)))
    return check_result(flagged, "every study's ED area exceeds its ES area", WARN)


REVIEW_CHECKS = [expert_agreement_outliers, ef_outliers, phase_order]
