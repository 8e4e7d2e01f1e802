"""The evaluations root as SQL: one view per evaluation table over every submission, and the
leaderboard.

An evaluations root is read like a release (`pipeline.release.catalog`): each entry must be a
submission folder (a safe name, not a link) holding exactly the evaluation tables with their
schemas, or nothing is opened; hidden entries (the lock, a run's staging folder) are passed
over. Names and paths are quoted, and the connection is locked to those files before the first
view is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import EvaluationError
from pipeline.evaluate.names import HEADLINE_METRIC, METRIC_NAMES, SUBMISSION_NAME
from pipeline.evaluate.schemas import EVALUATION_TABLES
from pipeline.release.catalog import (
    DERIVED_VIEWS,
    open_views,
    quote_identifier,
    quote_literal,
    release_tables,
)

LEADERBOARD_COLUMNS = (
    "submission",
    "williams_index",
    "williams_ci_low",
    "williams_ci_high",
    "expert_williams_min",
    "expert_williams_median",
    "expert_williams_max",
    "rank_among_experts",
    "percentile",
    "images",
    "images_predicted",
)
# Submissions ranked by Williams index per release and metric, the experts' own range beside.
LEADERBOARD = (
    "evaluation_summary",
    "SELECT release_version, metric, "
    "rank() OVER (PARTITION BY release_version, metric ORDER BY williams_index DESC) AS rank, "
    + ", ".join(LEADERBOARD_COLUMNS)
    + " FROM evaluation_summary",
)
EVALUATION_VIEWS = {"leaderboard": LEADERBOARD}
ROUNDED = frozenset(c for c in LEADERBOARD_COLUMNS if "williams" in c or c == "percentile")
SHOWN_DECIMALS = 4


def evaluation_files(root: Path) -> dict[str, list[str]]:
    """Each evaluation table's files under `root`, one per submission, in submission order."""
    if not root.is_dir():
        raise EvaluationError(
            "no evaluations folder here: run `unitylv evaluate` first", file=str(root)
        )
    files: dict[str, list[str]] = {name: [] for name in EVALUATION_TABLES}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if not SUBMISSION_NAME.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
            _refuse(root, entry.name, "is not a submission folder")
        expected = {f"{name}.parquet": name for name in EVALUATION_TABLES}
        inside = sorted(child.name for child in entry.iterdir())
        if inside != sorted(expected):
            _refuse(root, entry.name, f"does not hold exactly {', '.join(sorted(expected))}")
        for file_name, name in expected.items():
            path = entry / file_name
            if path.is_symlink() or not path.is_file() or not _has_schema(path, name):
                _refuse(root, f"{entry.name}/{file_name}", f"is not a {name} table")
            files[name].append(path.resolve().as_posix())
    if not files["evaluation_summary"]:
        raise EvaluationError(
            "holds no evaluation yet: run `unitylv evaluate` first", file=str(root)
        )
    return files


def _has_schema(path: Path, name: str) -> bool:
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return False
    return schema.remove_metadata().equals(EVALUATION_TABLES[name].schema.remove_metadata())


def _refuse(root: Path, name: str, why: str) -> None:
    shown = name if len(name) <= 80 else name[:80] + "…"
    raise EvaluationError(f"{shown!r} {why}: refusing to open the evaluations", file=str(root))


def open_catalog(
    release_data_dir: Path | Mapping[str, str] | None = None, evaluations_root: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A locked, read-only connection over a release's tables, the evaluations', or both; the
    release is its data/ folder, or its tables already checked (name -> path or s3:// URL)."""
    paths: dict[str, str | list[str]] = {}
    derived: dict[str, tuple[str, str]] = {}
    if isinstance(release_data_dir, Mapping):
        paths |= dict(release_data_dir)
        derived |= DERIVED_VIEWS
    elif release_data_dir is not None:
        paths |= {name: path.as_posix() for name, path in release_tables(release_data_dir).items()}
        derived |= DERIVED_VIEWS
    if evaluations_root is not None:
        paths |= evaluation_files(evaluations_root)
        derived |= EVALUATION_VIEWS
    if not paths:
        raise EvaluationError("give a release, an evaluations folder, or both")
    return open_views(paths, derived)


# What fits a terminal: the ranking, the index with its interval, the experts' range.
COMPACT_COLUMNS = (
    "submission",
    "williams_index",
    "williams_ci_low",
    "williams_ci_high",
    "expert_williams_min",
    "expert_williams_max",
    "percentile",
    "images_predicted",
)
COMPACT_NAMES = {
    "release_version": "release",
    "williams_index": "WI",
    "williams_ci_low": "CI low",
    "williams_ci_high": "CI high",
    "expert_williams_min": "experts min",
    "expert_williams_max": "experts max",
    "images_predicted": "predicted",
}


def leaderboard_query(metric: str = HEADLINE_METRIC, compact: bool = False) -> str:
    """The leaderboard of one metric, best first, figures rounded for reading; `compact`:
    the columns a terminal has room for, with short headings."""
    if metric not in METRIC_NAMES:
        raise EvaluationError(f"metric {metric[:40]!r} is not one of {', '.join(METRIC_NAMES)}")
    columns = COMPACT_COLUMNS if compact else LEADERBOARD_COLUMNS
    names = COMPACT_NAMES if compact else {}
    shown = ", ".join(
        (f"round({quote_identifier(c)}, {SHOWN_DECIMALS})" if c in ROUNDED else quote_identifier(c))
        + f" AS {quote_identifier(names.get(c, c))}"
        for c in ("release_version", "rank", *columns)
    )
    return (
        f"SELECT {shown} FROM leaderboard WHERE metric = {quote_literal(metric)} "
        f"ORDER BY {quote_identifier(names.get('release_version', 'release_version'))}, rank, "
        "submission"
    )
