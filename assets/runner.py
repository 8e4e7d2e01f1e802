"""Running the asset graph in-process for the command line, failures as one line."""

from pathlib import Path

import dagster as dg

from assets.definitions import build_definitions
from assets.progress import step_progress
from pipeline.errors import UnityLVError


def run_job(
    job_name: str,
    source: Path,
    releases: Path,
    work: Path,
    version: str | None = None,
    progress: bool = True,
    date: str = "",
) -> dg.ExecuteInProcessResult:
    """Execute a job of the same Definitions that `dagster dev` loads; UnityLVError on failure."""
    defs = build_definitions(str(source), str(releases), str(work))
    job = defs.resolve_job_def(job_name)
    run_config: dict = {"loggers": {"step_progress": {"config": {"show": progress}}}}
    if version is not None:
        run_config["ops"] = {"release_bag": {"config": {"version": version, "date": date}}}
    job = job.with_logger_defs({"step_progress": step_progress})
    instance = dg.DagsterInstance.get() if _has_dagster_home() else dg.DagsterInstance.ephemeral()
    with instance:
        result = job.execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
    failure = first_failure(result)
    if failure is not None:
        raise UnityLVError(failure)
    return result


def run_evaluation(
    name: str,
    release: Path,
    predictions: Path,
    evaluations: Path,
    images: Path | None = None,
    progress: bool = True,
) -> dg.ExecuteInProcessResult:
    """Materialise the `evaluation` partition `name` (added first) as `dagster dev` would,
    reading `predictions` and writing `<evaluations>/<name>/`; UnityLVError on failure."""
    from assets.evaluation_assets import PREDICTIONS
    from pipeline.evaluate.names import check_submission_name

    check_submission_name(name)  # before it becomes a partition key
    defs = build_definitions(evaluations=str(evaluations))
    job = defs.resolve_job_def("evaluate").with_logger_defs({"step_progress": step_progress})
    config = {"release": str(release), "predictions": str(predictions), "images": str(images or "")}
    run_config = {
        "loggers": {"step_progress": {"config": {"show": progress}}},
        "ops": {"evaluation": {"config": config}},
    }
    instance = dg.DagsterInstance.get() if _has_dagster_home() else dg.DagsterInstance.ephemeral()
    with instance:
        if not instance.has_dynamic_partition(PREDICTIONS.name, name):
            instance.add_dynamic_partitions(PREDICTIONS.name, [name])
        result = job.execute_in_process(
            run_config=run_config, instance=instance, partition_key=name, raise_on_error=False
        )
    failure = first_failure(result)
    if failure is not None:
        raise UnityLVError(failure)
    return result


def first_failure(result: dg.ExecuteInProcessResult) -> str | None:
    """One line saying why a run did not succeed: a failed blocking check or a failed step."""
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.blocking:
            return f"check {evaluation.check_name} failed: {evaluation.description}"
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        error = data.error
        while error.cause is not None:  # the user code's own exception, not Dagster's wrapper
            error = error.cause
        message = error.message.strip()
        if error.cls_name in _user_error_names():  # already one line naming file and record
            return message.removeprefix(f"{error.cls_name}: ")
        return f"step {event.step_key} failed: {error.cls_name}: {message}"
    return None if result.success else "the run did not succeed"


def materialized_tables(result: dg.ExecuteInProcessResult) -> list[str]:
    """The whole-dataset tables the run materialised, by name."""
    from pipeline.tables.schemas import TABLES

    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    return sorted(name for name in TABLES if name in keys)


def check_warnings(result: dg.ExecuteInProcessResult) -> list[str]:
    """Non-blocking checks that did not pass: reported, but the run stands."""
    return [
        f"check {e.check_name} on {e.asset_key.to_user_string()}: {e.description}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and not e.blocking
    ]


def _user_error_names() -> set[str]:
    found, todo = set(), [UnityLVError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo += cls.__subclasses__()
    return found


def _has_dagster_home() -> bool:
    import os

    return bool(os.environ.get("DAGSTER_HOME"))
