"""Stores asset values under the work folder: tables as Parquet, other values pickled."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import dagster as dg
import pyarrow as pa

from pipeline.licence import load_metadata
from pipeline.parquet_io import read_table, write_table
from pipeline.schemas import TABLES

UNRELEASED = "unreleased"


class WorkIOManager(dg.ConfigurableIOManager):
    """Arrow tables go to `<work>/tables/<asset>.parquet`; anything else to a pickle."""

    path: str

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
