"""The CLI prints text from data as written: `[...]` in it is never taken for rich markup."""

import bagit
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cli import unitylv
from tests.conftest import read_annotations, write_annotations

CLOSING = "[/x]"  # a closing tag with nothing open: rich raises MarkupError
STYLED = "[bold red]hidden[/]"  # valid markup: rich would print only "hidden", in bold red


@pytest.mark.slow
def test_validate_prints_user_ids_literally(source_copy, tmp_path):
    annotations = read_annotations(source_copy)
    first, second = list(next(iter(annotations.values())))[:2]
    renamed = {first: CLOSING, second: STYLED}  # not 28 characters: a user_id_format warning
    write_annotations(
        source_copy,
        {
            image: {renamed.get(user, user): curve for user, curve in curves.items()}
            for image, curves in annotations.items()
        },
    )
    run = unitylv("validate", "--source", str(source_copy), "--work", "work", cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Traceback" not in output
    assert "user_id_format" in run.stderr
    assert f"/ {CLOSING}" in run.stderr
    assert f"/ {STYLED}" in run.stderr


def test_sql_prints_names_and_cells_literally(tmp_path):
    tables = tmp_path / "release" / "data" / "tables"
    tables.mkdir(parents=True)
    pq.write_table(
        pa.table({"expert_id": ["E01"], "user_id": [STYLED]}), tables / "experts.parquet"
    )
    query = f'SELECT \'{CLOSING}\' AS "[b]c", user_id AS "{STYLED}" FROM experts'
    run = unitylv("sql", "--release", str(tmp_path / "release"), query, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert CLOSING in run.stdout
    assert "[b]c" in run.stdout
    assert run.stdout.count(STYLED) == 2  # the column name and the cell


def test_verify_names_odd_files_literally(tmp_path):
    bag = tmp_path / "bag"
    bag.mkdir()
    (bag / "table.csv").write_text("a\n1\n")
    bagit.make_bag(str(bag), checksums=["sha256"])
    (bag / "data" / "[").mkdir()
    (bag / "data" / "[" / "x].txt").write_text("not in the manifest")
    (bag / "data" / "[bold red]hidden.txt").write_text("not in the manifest")
    run = unitylv("verify", str(bag), cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert f"data/{CLOSING}.txt" in run.stderr
    assert "data/[bold red]hidden.txt" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error:")


def test_error_line_prints_the_path_literally(tmp_path):
    missing = f"/nonexistent/{CLOSING}"
    run = unitylv("sql", "--release", missing, "SELECT 1", cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error:") and missing in lines[0]
