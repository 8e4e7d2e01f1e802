"""The DuckDB catalog of a release: views over its Parquet tables, spatial SQL offline.

A release is data from elsewhere: nothing in it may turn into SQL. Views exist only for the
tables the schema defines, names and paths are quoted, and the connection is locked (no file
access beyond those tables, no settings changes) before the first view is created.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb

from pipeline.errors import ReleaseError
from pipeline.exports import layout
from pipeline.names import Method
from pipeline.tables.schemas import TABLES

# Views over the tables: name -> (the table it needs, SELECT).
DERIVED_VIEWS: dict[str, tuple[str, str]] = {
    # Experts ranked by how well they agree with the consensus of the OTHER experts.
    "expert_ranking": (
        "agreement",
        "SELECT expert_id, rank() OVER (ORDER BY median(dice) DESC) AS rank, "
        "median(dice) AS median_dice_loo, median(hausdorff_px) AS median_hausdorff_loo_px, "
        "median(mean_contour_distance_px) AS median_mcd_loo_px, count(*) AS images "
        f"FROM agreement WHERE reference = '{Method.ARCLENGTH_MEAN_LOO}' GROUP BY expert_id",
    ),
}
# DuckDB's parser gives WITH, DESCRIBE, SUMMARIZE, SHOW, VALUES, FROM-first and the pragmas
# that are plain queries (PRAGMA version) the kind SELECT; EXPLAIN is checked further.
READ_ONLY_KINDS = frozenset({"SELECT", "EXPLAIN"})
READ_ONLY_HINT = "SELECT, WITH, DESCRIBE, SUMMARIZE, SHOW or EXPLAIN"
# No spilling to disk: an in-memory DuckDB would otherwise write `.tmp/` in the current folder.
CONNECTION_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "temp_directory": "",
}


def quote_identifier(name: str) -> str:
    """`name` as a SQL identifier: double-quoted, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """`text` as a SQL string literal: single-quoted, inner quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def spatial_extension_path() -> Path:
    """The spatial extension shipped by the `duckdb-extension-spatial` package (no download)."""
    import duckdb_extension_spatial

    version = duckdb.__version__
    path = Path(duckdb_extension_spatial.__file__).parent / f"extensions/v{version}"
    return path / "spatial.duckdb_extension"


def connect(s3: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the spatial extension loaded from disk, autoinstall off; with
    `s3`, also httpfs (from its package) and an S3 secret from the AWS variables."""
    con = duckdb.connect(config=CONNECTION_CONFIG)
    con.execute(f"LOAD {quote_literal(spatial_extension_path().as_posix())}")
    if s3:
        from pipeline.storage.duckdb_s3 import httpfs_extension_path, s3_secret_sql

        con.execute(f"LOAD {quote_literal(httpfs_extension_path().as_posix())}")
        con.execute(s3_secret_sql(quote_literal))
    return con


def catalog_sql(table_names: Iterable[str], tables_dir: str = layout.TABLES_DIR) -> str:
    """CREATE VIEW statements over `<tables_dir>/<table>.parquet`, then the derived views."""
    lines = [
        "-- unitylv catalog: one view per table. From this folder (release data/):",
        '--   python -c "import duckdb; c = duckdb.connect(); '
        "c.execute(open('catalog.sql').read()); print(c.sql('SHOW TABLES'))\"",
        "-- (spatial SQL such as ST_Area(geometry) needs the spatial extension loaded first).",
    ]
    paths = {name: f"{tables_dir}/{name}.parquet" for name in table_names}
    return "\n".join(lines + view_statements(paths)) + "\n"


def view_statements(
    table_paths: Mapping[str, str | Sequence[str]],
    derived_views: Mapping[str, tuple[str, str]] = DERIVED_VIEWS,
) -> list[str]:
    """One view per table over its Parquet file (or files, read as one), then the derived
    views its tables allow."""
    statements = [
        f"CREATE OR REPLACE VIEW {quote_identifier(name)} AS "
        f"SELECT * FROM read_parquet({_paths_literal(table_paths[name])});"
        for name in sorted(table_paths)
    ]
    statements += [
        f"CREATE OR REPLACE VIEW {quote_identifier(name)} AS {sql};"
        for name, (needs, sql) in derived_views.items()
        if needs in table_paths
    ]
    return statements


def _paths_literal(paths: str | Sequence[str]) -> str:
    if isinstance(paths, str):
        return quote_literal(paths)
    return "[" + ", ".join(quote_literal(path) for path in paths) + "]"


def release_tables(data_dir: Path) -> dict[str, Path]:
    """The schema's tables in `<data_dir>/tables/`; anything else there refuses the release.

    A release holds exactly the tables it was cut with, so an unknown entry means it was
    changed after the fact (its name may even be crafted as SQL): nothing is opened.
    """
    tables_dir = (data_dir / layout.TABLES_DIR).resolve()
    if not tables_dir.is_dir():
        raise ReleaseError(
            "no tables/<table>.parquet here: not a release data folder", file=str(data_dir)
        )
    expected = {f"{name}.parquet": name for name in TABLES}
    found = {}
    for entry in sorted(tables_dir.iterdir()):
        name = expected.get(entry.name)
        if name is None or entry.is_symlink() or not entry.is_file():
            shown = entry.name if len(entry.name) <= 80 else entry.name[:80] + "…"
            raise ReleaseError(
                f"tables/ holds {shown!r}, which is not a table file of a release: refusing "
                "to open it (run `unitylv verify` on the release)",
                file=str(data_dir),
            )
        found[name] = entry
    if not found:
        raise ReleaseError(
            "no tables/<table>.parquet here: not a release data folder", file=str(data_dir)
        )
    return found


def open_catalog(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """A locked, read-only connection with a view per table of the release at `data_dir`."""
    paths = {name: path.as_posix() for name, path in release_tables(data_dir).items()}
    return open_views(paths)


def open_views(
    table_paths: Mapping[str, str | Sequence[str]],
    derived_views: Mapping[str, tuple[str, str]] = DERIVED_VIEWS,
) -> duckdb.DuckDBPyConnection:
    """A connection locked to these Parquet files (no other file access, no settings changes)
    before a view is created over each table's files; then the derived views. A path may be
    an s3:// URL: the connection then reads over httpfs, locked to those objects alike."""
    files = [
        p for paths in table_paths.values() for p in ([paths] if isinstance(paths, str) else paths)
    ]
    con = connect(s3=any(path.startswith("s3://") for path in files))
    allowed = ", ".join(quote_literal(path) for path in files)
    con.execute(f"SET allowed_paths = [{allowed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    for statement in view_statements(table_paths, derived_views):
        con.execute(statement)
    return con


def run_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation | None:
    """Run one read-only statement (SELECT and friends); anything else is refused."""
    statement = read_only_statement(con, sql)
    try:
        return con.sql(statement)
    except duckdb.Error as exc:
        raise ReleaseError(f"query failed: {_first_line(exc)}") from None


def fetch(relation: duckdb.DuckDBPyRelation, limit: int) -> list[tuple]:
    """The first `limit` rows; an error raised while the query runs becomes a ReleaseError."""
    try:
        return relation.limit(limit).fetchall()
    except duckdb.Error as exc:
        raise ReleaseError(f"query failed: {_first_line(exc)}") from None


def read_only_statement(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    """The one statement in `sql`, if DuckDB's parser says it only reads; else ReleaseError."""
    statement = _one_statement(con, sql)
    kind = statement.type.name
    if kind not in READ_ONLY_KINDS:
        raise ReleaseError(f"only read-only queries are allowed ({READ_ONLY_HINT}), not {kind}")
    if kind == "EXPLAIN" and _explained_kind(con, sql) != "SELECT":
        # EXPLAIN ANALYZE runs the statement it explains, which may be a COPY.
        raise ReleaseError("only read-only queries are allowed: EXPLAIN a query, without ANALYZE")
    return statement


def _one_statement(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise ReleaseError(f"SQL does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise ReleaseError(f"give one SQL statement, not {len(statements)}")
    return statements[0]


def _explained_kind(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The kind of statement after the EXPLAIN keyword; "" when it is not one plain statement."""
    tokens = duckdb.tokenize(sql)
    if len(tokens) < 2:
        return ""
    try:
        explained = con.extract_statements(sql[tokens[1][0] :])
    except duckdb.Error:
        return ""  # EXPLAIN ANALYZE ..., EXPLAIN (options) ...
    return explained[0].type.name if len(explained) == 1 else ""


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
