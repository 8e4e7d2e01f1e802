"""Writing an evaluation: every table staged in a hidden folder, then renamed into place.

`<out>/<submission>/` appears whole or not at all: the tables are written into
`<out>/.evaluation-staging-<submission>-<pid>/`, renamed to `<out>/<submission>/` when
complete. An earlier evaluation of the same submission (a folder holding only evaluation
tables: nothing else is ever replaced) is renamed aside first and removed after. One
evaluation at a time per evaluations root (the lock `<out>/.evaluate.lock`, released by the
kernel if the process dies); a hidden folder left by a crashed run is removed by the next.
"""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from pathlib import Path

import pyarrow as pa

from pipeline.errors import EvaluationError, writing
from pipeline.evaluate.schemas import EVALUATION_TABLES
from pipeline.locks import exclusive_lock
from pipeline.tables.parquet_io import write_table

LOCK_FILE = ".evaluate.lock"
# Distinct from a release's `.staging-` folders: an evaluations root may sit anywhere.
STAGING_PREFIX, REPLACED_PREFIX = ".evaluation-staging-", ".evaluation-replaced-"
TABLE_FILES = frozenset(f"{name}.parquet" for name in EVALUATION_TABLES)


def write_evaluation(
    out_root: Path, name: str, tables: dict[str, pa.Table], stamp: dict[str, str]
) -> Path:
    """Write `<out_root>/<name>/<table>.parquet` for every evaluation table, atomically."""
    with writing(out_root):
        out_root.mkdir(parents=True, exist_ok=True)
    target = out_root / name
    with ExitStack() as held:
        with writing(out_root / LOCK_FILE):
            held.enter_context(exclusive_lock(out_root / LOCK_FILE))
        _check_replaceable(target)
        _remove_left_overs(out_root)
        staging = out_root / f"{STAGING_PREFIX}{name}-{os.getpid()}"
        for table_name, spec in EVALUATION_TABLES.items():
            write_table(tables[table_name], spec, staging / f"{table_name}.parquet", stamp)
        with writing(target):
            if target.exists():
                aside = out_root / f"{REPLACED_PREFIX}{name}-{os.getpid()}"
                os.rename(target, aside)
                os.rename(staging, target)
                shutil.rmtree(aside)
            else:
                os.rename(staging, target)
    return target


def _check_replaceable(target: Path) -> None:
    """Only an earlier evaluation (a folder of evaluation tables, nothing else) is replaced."""
    if not (target.exists() or target.is_symlink()):
        return
    if target.is_symlink() or not target.is_dir():
        raise EvaluationError("is in the way: not an evaluation folder", file=str(target))
    if not {entry.name for entry in target.iterdir()} <= TABLE_FILES:
        raise EvaluationError(
            "holds files that are not an evaluation's: not replacing it (choose another --name "
            "or --out)",
            file=str(target),
        )


def _remove_left_overs(out_root: Path) -> None:
    """Staging and replaced folders of runs that died (none is alive: we hold the lock)."""
    for entry in out_root.iterdir():
        left_over = entry.name.startswith((STAGING_PREFIX, REPLACED_PREFIX))
        if left_over and entry.is_dir() and not entry.is_symlink():
            with writing(entry):
                shutil.rmtree(entry)
