"""The Dagster `Definitions` of unitylv: what `dagster dev` and the CLI load."""

from __future__ import annotations

import dagster as dg

from assets import bucket_assets, release_assets, source_assets, table_assets
from assets.automation import (
    derive_job,
    nightly_derive,
    release_job,
    source_or_code_changed,
    validate_job,
)
from assets.derived_checks import DERIVED_CHECKS
from assets.evaluation_assets import (
    EVALUATION_ASSETS,
    EVALUATION_IO_MANAGER,
    evaluate_job,
    predictions_changed,
)
from assets.executors import IN_PROCESS, dask_address, executor_choice, executor_for
from assets.io_manager import WorkIOManager
from assets.resources import (
    DEFAULT_EVALUATIONS,
    DEFAULT_PREDICTIONS,
    DEFAULT_RELEASES,
    DEFAULT_SOURCE,
    DEFAULT_WORK,
    CalibrationFile,
    EvaluationsFolder,
    PredictionsFolder,
    ReleasesRoot,
    SourceFolder,
    WorkFolder,
)
from assets.review_checks import REVIEW_CHECKS

ASSETS = [
    *source_assets.SOURCE_ASSETS,
    *bucket_assets.BUCKET_ASSETS,
    *table_assets.TABLE_ASSETS,
    release_assets.release_bag,
]
CHECKS = [*source_assets.SOURCE_CHECKS, *DERIVED_CHECKS, *REVIEW_CHECKS]


def build_definitions(
    source: str = DEFAULT_SOURCE,
    releases: str = DEFAULT_RELEASES,
    work: str = DEFAULT_WORK,
    calibration: str = "",
    predictions: str = DEFAULT_PREDICTIONS,
    evaluations: str = DEFAULT_EVALUATIONS,
    executor: str = "",
    address: str = "",
) -> dg.Definitions:
    """Definitions over the given source, releases, work, predictions and evaluations folders.

    The executor (assets/executors.py) defaults to UNITYLV_EXECUTOR, else in-process: a run is
    a short chain of steps (scan, the buckets' records, the buckets' derivations, assembly,
    release), each bucket step spreading its images over one worker process per core; a
    subprocess per step would cost 2-3 s of start-up each. `address`: the Dask scheduler's,
    default UNITYLV_DASK_ADDRESS.
    """
    executor = executor or executor_choice()
    return dg.Definitions(
        assets=[*ASSETS, *EVALUATION_ASSETS],
        asset_checks=CHECKS,
        jobs=[validate_job, derive_job, release_job, evaluate_job],
        schedules=[nightly_derive],
        sensors=[source_or_code_changed, predictions_changed],
        resources=resources(
            source,
            releases,
            work,
            calibration,
            predictions,
            evaluations,
            hold_run_lock=executor == IN_PROCESS,
        ),
        executor=executor_for(executor, work, address or dask_address()),
    )


def resources(
    source: str,
    releases: str,
    work: str,
    calibration: str = "",
    predictions: str = DEFAULT_PREDICTIONS,
    evaluations: str = DEFAULT_EVALUATIONS,
    hold_run_lock: bool = True,
) -> dict:
    """The resources every asset needs, pointed at the given folders (`hold_run_lock`: False
    when the executor holds the work lock instead of the run's steps)."""
    return {
        "source": SourceFolder(path=source),
        "releases": ReleasesRoot(path=releases),
        "work": WorkFolder(path=work),
        "calibration": CalibrationFile(path=calibration),
        "predictions": PredictionsFolder(path=predictions),
        "evaluations": EvaluationsFolder(path=evaluations),
        "io_manager": WorkIOManager(path=work, hold_run_lock=hold_run_lock),
        EVALUATION_IO_MANAGER: dg.InMemoryIOManager(),
    }


defs = build_definitions()
