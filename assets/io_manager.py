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

from pipeline.locks import exclusive_lock
from pipeline.source.licence import load_metadata
from pipeline.tables.parquet_io import read_table, write_table
from pipeline.tables.schemas import TABLES

UNRELEASED = "unreleased"
WORK_LOCK = ".run.lock"


class WorkIOManager(dg.ConfigurableIOManager):
    """Arrow tables go to `<work>/tables/<asset>.parquet`; anything else to a pickle."""

    path: str

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WorkIOManager]:
        """Hold the work folder's lock for the whole run (waiting while another run has it)."""
        lock = Path(self.path) / WORK_LOCK

        def waiting(holder: str) -> None:
            context.log.warning(
                f"waiting: another run ({holder}) is using the work folder {self.path}"
            )

        with exclusive_lock(lock, on_wait=waiting):
            yield self

    def _table_path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        return Path(self.path) / "tables" / f"{context.asset_key.path[-1]}.parquet"

    def _object_path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        return Path(self.path) / "objects" / f"{context.asset_key.path[-1]}.pickle"

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
