"""The Dagster `Definitions` of unitylv: what `dagster dev` and the CLI load."""

from __future__ import annotations

import dagster as dg

from assets import release_assets, source_assets, table_assets
from assets.automation import (
    derive_job,
    nightly_derive,
    release_job,
    source_or_code_changed,
    validate_job,
)
from assets.io_manager import WorkIOManager
from assets.resources import (
    DEFAULT_RELEASES,
    DEFAULT_SOURCE,
    DEFAULT_WORK,
    ReleasesRoot,
    SourceFolder,
)

ASSETS = [
    source_assets.raw_source,
    table_assets.validated_source,
    *table_assets.SOURCE_TABLE_ASSETS,
    release_assets.release_bag,
]
CHECKS = [source_assets.licence, source_assets.annotation_schema, source_assets.image_folder]


def build_definitions(
    source: str = DEFAULT_SOURCE, releases: str = DEFAULT_RELEASES, work: str = DEFAULT_WORK
) -> dg.Definitions:
    """Definitions over a given source folder, releases root and work folder.

    The in-process executor: every step is short and numpy-bound, and a subprocess per step
    would cost 2-3 s of start-up each, more than most steps take.
    """
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[validate_job, derive_job, release_job],
        schedules=[nightly_derive],
        sensors=[source_or_code_changed],
        resources={
            "source": SourceFolder(path=source),
            "releases": ReleasesRoot(path=releases),
            "io_manager": WorkIOManager(path=work),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions()
