"""Stores asset values under the work folder: tables as Parquet, other values pickled.

A run holds the work folder's lock from its first step to its last, so two runs sharing a work
folder (the CLI, the schedule, the sensor, the UI) take turns instead of mixing their files.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa

from pipeline.source.licence import load_metadata
from pipeline.storage.folders import local_path, work_session
from pipeline.tables.parquet_io import read_table, write_table
from pipeline.tables.schemas import TABLES

UNRELEASED = "unreleased"
WORK_LOCK = ".run.lock"


class WorkIOManager(dg.ConfigurableIOManager):
    """Arrow tables go to `<work>/tables/<asset>.parquet`; anything else to a pickle."""

    path: str
    # False when the run's executor holds the lock in the process that orchestrates the run
    # (steps in other processes, see assets/executors.py): a step must not wait for it.
    hold_run_lock: bool = True

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WorkIOManager]:
        """Hold the work folder's lock for the whole run (waiting while another run has it)."""
        if not self.hold_run_lock:
            yield self
            return
        with work_lock(self.path, context.log):
            yield self

    @property
    def local(self) -> Path:
        return local_path(self.path)

    def _table_path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        return self.local / "tables" / f"{context.asset_key.path[-1]}.parquet"

    def _object_path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        return self.local / "objects" / f"{context.asset_key.path[-1]}.pickle"

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if isinstance(obj, pa.Table):
            spec = TABLES[context.asset_key.path[-1]]
            stamp = load_metadata().parquet_stamp(UNRELEASED)
            write_table(obj, spec, self._table_path(context), stamp)
            return
        path = self._object_path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, path)

    def load_input(self, context: dg.InputContext) -> object:
        table_path = self._table_path(context)
        if context.asset_key.path[-1] in TABLES and table_path.exists():
            return read_table(table_path)
        return pickle.loads(self._object_path(context).read_bytes())


def work_lock(location: str, log) -> contextlib.AbstractContextManager[Path]:
    """The work folder's lock for a run, with its local folder (an S3 work area synced down
    on taking it and up on letting go); `log` hears when another run makes it wait."""

    def waiting(holder: str) -> None:
        log.warning(f"waiting: another run ({holder}) is using the work folder {location}")

    return work_session(location, WORK_LOCK, on_wait=waiting)
