"""The DuckDB catalog of a release: views over its Parquet tables, spatial SQL offline."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipeline.errors import ReleaseError

# Views over the tables: name -> (the table it needs, SELECT).
DERIVED_VIEWS: dict[str, tuple[str, str]] = {
    # Experts ranked by how well they agree with the consensus of the OTHER experts.
    "expert_ranking": (
        "agreement",
        "SELECT expert_id, rank() OVER (ORDER BY median(dice) DESC) AS rank, "
        "median(dice) AS median_dice_loo, median(hausdorff_px) AS median_hausdorff_loo_px, "
        "median(mean_contour_distance_px) AS median_mcd_loo_px, count(*) AS images "
        "FROM agreement WHERE reference = 'arclength_mean_loo' GROUP BY expert_id",
    ),
}
READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA", "RELATION"}


def spatial_extension_path() -> Path:
    """The spatial extension shipped by the `duckdb-extension-spatial` package (no download)."""
    import duckdb_extension_spatial

    version = duckdb.__version__
    path = Path(duckdb_extension_spatial.__file__).parent / f"extensions/v{version}"
    return path / "spatial.duckdb_extension"


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the spatial extension loaded from disk, autoinstall off."""
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute(f"LOAD '{spatial_extension_path()}'")
    return con


def catalog_sql(table_names: Iterable[str], tables_dir: str = "tables") -> str:
    """CREATE VIEW statements over `<tables_dir>/<table>.parquet`, then the derived views."""
    lines = [
        "-- unitylv catalog: one view per table. From this folder (release data/):",
        '--   python -c "import duckdb; c = duckdb.connect(); '
        "c.execute(open('catalog.sql').read()); print(c.sql('SHOW TABLES'))\"",
        "-- (spatial SQL such as ST_Area(geometry) needs the spatial extension loaded first).",
    ]
    view = "CREATE OR REPLACE VIEW {0} AS SELECT * FROM read_parquet('{1}/{0}.parquet');"
    names = sorted(table_names)
    lines += [view.format(name, tables_dir) for name in names]
    lines += [
        f"CREATE OR REPLACE VIEW {name} AS {sql};"
        for name, (needs, sql) in DERIVED_VIEWS.items()
        if needs in names
    ]
    return "\n".join(lines) + "\n"


def open_catalog(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """A locked, read-only connection with a view per table of the release at `data_dir`."""
    tables_dir = (data_dir / "tables").resolve()
    names = sorted(p.stem for p in tables_dir.glob("*.parquet"))
    if not names:
        raise ReleaseError(
            "no tables/*.parquet here: not a release data folder", file=str(data_dir)
        )
    con = connect()
    con.execute(catalog_sql(names, tables_dir.as_posix()))
    con.execute(f"SET allowed_directories = ['{tables_dir.as_posix()}/']")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation | None:
    """Run one read-only statement (SELECT and friends); anything else is refused."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise ReleaseError(f"SQL does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise ReleaseError(f"give one SQL statement, not {len(statements)}")
    kind = statements[0].type.name
    if kind not in READ_ONLY_STATEMENTS:
        raise ReleaseError(f"only read-only queries are allowed, not {kind}")
    try:
        return con.sql(sql)
    except duckdb.Error as exc:
        raise ReleaseError(f"query failed: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
