"""Running the asset graph in-process for the command line, failures as one line."""

from pathlib import Path

import dagster as dg

from assets.definitions import build_definitions
from assets.executors import IN_PROCESS, dask_address, executor_choice
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
    """Execute a job of the same Definitions that `dagster dev` loads; UnityLVError on failure.

    With the in-process executor (the default) the run is this process; with Dask or
    Kubernetes (UNITYLV_EXECUTOR) this process orchestrates the run and its steps go to the
    executor, on the Dagster instance of DAGSTER_HOME (a persistent one is needed).
    """
    run_config: dict = {"loggers": {"step_progress": {"config": {"show": progress}}}}
    if version is not None:
        run_config["ops"] = {"release_bag": {"config": {"version": version, "date": date}}}
    executor = executor_choice()
    if executor != IN_PROCESS:
        folders = (str(source), str(releases), str(work))
        # The step processes log through Dagster's console logger: warnings and errors only.
        ops_config = {k: v for k, v in run_config.items() if k != "loggers"}
        ops_config["loggers"] = {"console": {"config": {"log_level": "WARNING"}}}
        result = _run_on_executor(job_name, executor, folders, ops_config)
    else:
        defs = build_definitions(str(source), str(releases), str(work))
        job = defs.resolve_job_def(job_name).with_logger_defs({"step_progress": step_progress})
        instance = (
            dg.DagsterInstance.get() if _has_dagster_home() else dg.DagsterInstance.ephemeral()
        )
        with instance:
            result = job.execute_in_process(
                run_config=run_config, instance=instance, raise_on_error=False
            )
    failure = first_failure(result)
    if failure is not None:
        raise UnityLVError(failure)
    return result


def job_for_run(
    job_name: str, source: str, releases: str, work: str, executor: str, address: str
) -> dg.JobDefinition:
    """The job as a run on another executor rebuilds it in each of its step processes."""
    defs = build_definitions(source, releases, work, executor=executor, address=address)
    return defs.resolve_job_def(job_name)


def _run_on_executor(
    job_name: str, executor: str, folders: tuple[str, str, str], run_config: dict | None = None
) -> dg.JobExecutionResult:
    if not _has_dagster_home():
        raise UnityLVError(
            f"the {executor} executor runs steps in other processes, which share a persistent "
            "Dagster instance: set DAGSTER_HOME (for example to a folder holding "
            "deploy/postgres/dagster.yaml)"
        )
    job = dg.build_reconstructable_job(
        "assets.runner",
        "job_for_run",
        reconstructable_args=(job_name, *folders, executor, dask_address()),
    )
    # The events are read from the result after its context closes; outputs are not.
    with (
        dg.DagsterInstance.get() as instance,
        dg.execute_job(
            job, instance=instance, run_config=run_config or {}, raise_on_error=False
        ) as result,
    ):
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


def first_failure(result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> str | None:
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


def materialized_tables(result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> list[str]:
    """The whole-dataset tables the run materialised, by name."""
    from pipeline.tables.schemas import TABLES

    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    return sorted(name for name in TABLES if name in keys)


def check_warnings(result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> list[str]:
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
