"""Which executor runs a job's steps, chosen by configuration, never by code.

- in-process (the default): every step in the process that runs the job; the bucket steps
  spread their images over one worker process per core.
- `dask`: each step is a task on an existing Dask cluster (dagster-dask); its scheduler's
  address comes from UNITYLV_DASK_ADDRESS (or the run config).
- `k8s`: each step is a Kubernetes Job (dagster-k8s), for a deployment whose runs the
  K8sRunLauncher starts (deploy/k8s/).

With Dask or Kubernetes, the steps run in other processes: the work folder must be the same
shared folder for all of them, and the run's work lock is held (and an S3 work area synced) by
the process that orchestrates the run, for the whole run; the steps themselves do not take it.
"""

import os

import dagster as dg

from assets.io_manager import work_lock

EXECUTOR_ENV, DASK_ADDRESS_ENV = "UNITYLV_EXECUTOR", "UNITYLV_DASK_ADDRESS"
IN_PROCESS, DASK, K8S = "in_process", "dask", "k8s"
EXECUTORS = (IN_PROCESS, DASK, K8S)


def executor_choice() -> str:
    """The executor named by UNITYLV_EXECUTOR (default in_process); ValueError otherwise."""
    choice = os.environ.get(EXECUTOR_ENV) or IN_PROCESS
    if choice not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={choice!r}: choose one of {', '.join(EXECUTORS)}")
    return choice


def dask_address() -> str:
    return os.environ.get(DASK_ADDRESS_ENV, "")


def executor_for(choice: str, work: str, address: str = "") -> dg.ExecutorDefinition:
    """The executor definition of `choice`, over the work folder `work`."""
    if choice == IN_PROCESS:
        return dg.in_process_executor
    if choice == DASK:
        from dagster_dask import dask_executor

        inner = (
            dask_executor.configured({"cluster": {"existing": {"address": address}}})
            if address
            else dask_executor
        )
    elif choice == K8S:
        from dagster_k8s import k8s_job_executor

        inner = k8s_job_executor
    else:
        raise ValueError(f"unknown executor {choice!r}: choose one of {', '.join(EXECUTORS)}")
    return holding_work_lock(inner, work)


def holding_work_lock(inner: dg.ExecutorDefinition, work: str) -> dg.ExecutorDefinition:
    """`inner`, with the run's work lock held around the whole orchestration of its steps."""

    def create(init_context: dg.InitExecutorContext) -> dg.Executor:
        executor = inner.executor_creation_fn(init_context)
        # An instance of the executor's own class (Dagster and its executors check it) with
        # `execute` wrapped: the same state, in a subclass that mixes the lock in.
        base = type(executor)
        locked = object.__new__(type(f"WorkLocked{base.__name__}", (_HoldsWorkLock, base), {}))
        locked.__dict__.update(vars(executor), work=work)
        return locked

    return dg.ExecutorDefinition(
        name=inner.name,
        config_schema=inner.config_schema,
        requirements=inner.get_requirements,
        executor_creation_fn=create,
        description=f"{inner.description or inner.name}, holding the work folder's lock",
    )


class _HoldsWorkLock:
    work: str

    def execute(self, plan_context, execution_plan):
        with work_lock(self.work, plan_context.log):
            yield from super().execute(plan_context, execution_plan)
