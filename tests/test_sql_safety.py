"""`unitylv sql` on a hostile release: its file names never become SQL, queries only read."""

import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import ReleaseError
from pipeline.release.catalog import catalog_sql, fetch, open_catalog, run_read_only
from pipeline.tables.schemas import TABLES
from tests.cli import unitylv

# Pasted into SQL, this name reads a file of the current folder and writes it out as x.csv.
HOSTILE = (
    "zz AS SELECT 1; CREATE TABLE leaked AS SELECT content FROM read_text('secret.txt'); "
    "COPY leaked TO 'x.csv'; --.parquet"
)
EXPERTS = pa.table({"expert_id": ["E01", "E02"], "user_id": ["a" * 28, "b" * 28]})
IMAGES = pa.table({"image_id": ["i1", "i2", "i3"], "phase": ["ED", "ES", "ED"]})


def make_release(root: Path, *, hostile: bool = False) -> Path:
    """A release-like folder: data/tables/ with two schema tables and, when `hostile`, a stray
    table and the HOSTILE file name; a Parquet file outside tables/ either way."""
    assert {"experts", "images"} <= set(TABLES) and "not_a_table" not in TABLES
    tables = root / "data" / "tables"
    tables.mkdir(parents=True)
    pq.write_table(EXPERTS, tables / "experts.parquet")
    pq.write_table(IMAGES, tables / "images.parquet")
    pq.write_table(pa.table({"secret": ["s3cret"]}), root / "data" / "not_a_table.parquet")
    if hostile:
        pq.write_table(pa.table({"secret": ["s3cret"]}), tables / "not_a_table.parquet")
        (tables / HOSTILE).write_bytes(b"")
    return root


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` with the sha256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        )
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def release(tmp_path) -> Path:
    return make_release(tmp_path / "release")


@pytest.fixture
def cwd(tmp_path) -> Path:
    """The user's current folder, holding a file the hostile name tries to read."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    (folder / "secret.txt").write_text("the user's secret")
    return folder


def sql_quoted(path: Path) -> str:
    return "'" + path.as_posix().replace("'", "''") + "'"


def test_hostile_table_file_name_runs_no_sql(tmp_path, cwd):
    release = make_release(tmp_path / "crafted", hostile=True)
    before_release, before_cwd = snapshot(release), snapshot(cwd)
    for query in ("SELECT count(*) FROM experts", "SHOW TABLES"):
        run = unitylv("sql", "--release", str(release), query, cwd=cwd)
        assert run.returncode == 1
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "not a table file of a release" in run.stderr and "Traceback" not in run.stderr
        assert snapshot(cwd) == before_cwd
        assert snapshot(release) == before_release


def test_a_clean_release_shows_only_its_tables(release, cwd):
    shown = unitylv("sql", "--release", str(release), "SHOW TABLES", cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split()[-2:] == ["experts", "images"]


def test_explain_analyze_copy_is_refused_in_one_line(release, cwd):
    before_release, before_cwd = snapshot(release), snapshot(cwd)
    target = release / "data" / "tables" / "experts.parquet"
    query = f"EXPLAIN ANALYZE COPY (SELECT 1 AS expert_id) TO {sql_quoted(target)}"
    run = unitylv("sql", "--release", str(release), query, cwd=cwd)
    assert run.returncode != 0
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stderr.startswith("error:") and "Traceback" not in run.stderr
    assert snapshot(release) == before_release
    assert snapshot(cwd) == before_cwd


REFUSED = [
    "COPY experts TO 'x.csv'",
    "COPY (SELECT 1) TO '{tables}/experts.parquet' (FORMAT parquet, USE_TMP_FILE false)",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{tables}/experts.parquet' (USE_TMP_FILE false)",
    "EXPLAIN (ANALYZE) SELECT 1",
    "EXPLAIN COPY experts TO 'x.csv'",
    "EXPORT DATABASE 'exported'",
    "ATTACH 'x.duckdb' AS x",
    "DETACH memory",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "SET VARIABLE v = 1",
    "USE memory",
    "PRAGMA enable_profiling",
    "PRAGMA profiling_output = 'profile.txt'",
    "PRAGMA threads = 1",
    "CREATE TABLE t AS SELECT 1",
    "CREATE OR REPLACE VIEW experts AS SELECT 1",
    "DROP VIEW experts",
    "INSERT INTO experts VALUES ('E03', 'c')",
    "CALL checkpoint()",
    "CHECKPOINT",
    "SELECT 1; SELECT 2",
    "SELECT 1; COPY experts TO 'x.csv'",
    "",
]


def test_only_read_only_statements_are_accepted(release, cwd, monkeypatch):
    monkeypatch.chdir(cwd)
    before_release, before_cwd = snapshot(release), snapshot(cwd)
    con = open_catalog(release / "data")
    tables = (release / "data" / "tables").resolve().as_posix()
    accepted = []
    for statement in REFUSED:
        try:
            run_read_only(con, statement.format(tables=tables))
        except ReleaseError as exc:
            assert len(str(exc).splitlines()) == 1
        else:
            accepted.append(statement)
    assert accepted == []
    assert snapshot(release) == before_release
    assert snapshot(cwd) == before_cwd
    assert fetch(run_read_only(con, "SELECT count(*) FROM experts"), 1) == [(2,)]


def test_the_engine_refuses_writes_and_settings_too(release, cwd, monkeypatch):
    """Defence in depth: past the statement check, the locked connection still refuses."""
    monkeypatch.chdir(cwd)
    con = open_catalog(release / "data")
    settings = dict(
        con.sql(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'lock_configuration', 'temp_directory', 'allowed_directories', 'allowed_paths')"
        ).fetchall()
    )
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["temp_directory"] == ""  # no spilling into the user's folder
    assert settings["allowed_directories"] == "[]"
    assert "not_a_table" not in settings["allowed_paths"]
    for statement in (
        "COPY experts TO 'x.csv'",
        "SET enable_external_access = true",
        "SET temp_directory = '.tmp'",
        "ATTACH 'x.duckdb'",
    ):
        with pytest.raises(duckdb.Error):
            con.execute(statement)
    assert sorted(p.name for p in cwd.iterdir()) == ["secret.txt"]


def test_files_outside_the_tables_cannot_be_read(release, tmp_path):
    outside = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"a": [1]}), outside)
    con = open_catalog(release / "data")
    stray = release / "data" / "not_a_table.parquet"
    for query in (
        "SELECT * FROM read_text('/etc/hostname')",
        f"SELECT * FROM read_parquet({sql_quoted(outside)})",
        f"SELECT * FROM read_parquet({sql_quoted(stray)})",
        "SELECT * FROM not_a_table",
        f"SELECT * FROM glob({sql_quoted(release)} || '/*')",
    ):
        with pytest.raises(ReleaseError, match="query failed"):
            fetch(run_read_only(con, query), 5)


ACCEPTED = {
    "SELECT count(*) FROM experts": [(2,)],
    "WITH e AS (SELECT * FROM experts) SELECT max(expert_id) FROM e": [("E02",)],
    "FROM images SELECT count(*) WHERE phase = 'ED'": [(2,)],
    "DESCRIBE experts": None,
    "SUMMARIZE experts": None,
    "SHOW TABLES": [("experts",), ("images",)],
    "EXPLAIN SELECT * FROM experts": None,
    "PRAGMA version": None,  # a pragma DuckDB itself rewrites into a plain query
}


def test_read_only_kinds_work_on_an_odd_release_path(tmp_path):
    release = make_release(tmp_path / "it's a relé")
    con = open_catalog(release / "data")
    for query, expected in ACCEPTED.items():
        rows = fetch(run_read_only(con, query), 10)
        assert rows, query
        if expected is not None:
            assert rows == expected, query
    describe = fetch(run_read_only(con, "DESCRIBE experts"), 10)
    assert [row[0] for row in describe] == ["expert_id", "user_id"]


def test_cli_sql_on_an_odd_release_path(tmp_path, cwd):
    release = make_release(tmp_path / "it's a relé")
    before = snapshot(release)
    run = unitylv(
        "sql", "--release", str(release), "SELECT expert_id FROM experts ORDER BY 1", cwd=cwd
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-2:] == ["E01", "E02"]
    assert snapshot(release) == before
    assert sorted(p.name for p in cwd.iterdir()) == ["secret.txt"]


def test_catalog_sql_quotes_names_and_paths(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "it's tables").mkdir(parents=True)
    pq.write_table(EXPERTS, data / "it's tables" / "experts.parquet")
    pq.write_table(IMAGES, data / "it's tables" / 'im"ages.parquet')
    monkeypatch.chdir(data)
    con = duckdb.connect()
    con.execute(catalog_sql(["experts", 'im"ages'], "it's tables"))
    assert con.sql("SELECT count(*) FROM experts").fetchone() == (2,)
    assert con.sql('SELECT count(*) FROM "im""ages"').fetchone() == (3,)
    assert "CREATE OR REPLACE VIEW \"experts\" AS SELECT * FROM read_parquet('it''s tables/" in (
        catalog_sql(["experts"], "it's tables")
    )
