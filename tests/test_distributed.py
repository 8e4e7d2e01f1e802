"""A partitioned derive on the PostgreSQL instance (deploy/postgres/dagster.yaml) with the Dask
executor: PostgreSQL and a two-worker Dask cluster started here, on 127.0.0.1."""

import os
import shutil
from pathlib import Path

import pytest

from tests.servers import dask_cluster, postgres

ROOT = Path(__file__).resolve().parents[1]


def step_processes(connection, run_id: str) -> set[int]:
    """The process ids that ran the run's steps, from the event log in PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event FROM event_logs WHERE run_id = %s AND dagster_event_type = 'STEP_START'",
            (run_id,),
        )
        events = [row[0] for row in cursor.fetchall()]
    from dagster._serdes import deserialize_value

    return {deserialize_value(e).dagster_event.pid for e in events}


@pytest.mark.slow
def test_derive_on_dask_and_postgres_gives_the_in_process_tables(
    tiny_source, tiny_release, tmp_path, monkeypatch
):
    import psycopg2
    from distributed import Client

    from assets.runner import run_job

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    with postgres() as database:
        for name, value in {**database, "DAGSTER_HOME": str(home)}.items():
            monkeypatch.setenv(name, value)
        with dask_cluster(workers=2) as address:
            monkeypatch.setenv("UNITYLV_EXECUTOR", "dask")
            monkeypatch.setenv("UNITYLV_DASK_ADDRESS", address)
            with Client(address) as client:
                workers = set(client.run(os.getpid).values())
            work = tmp_path / "work"
            result = run_job("derive", tiny_source, tmp_path / "releases", work, progress=False)
        connection = psycopg2.connect(
            host=database["DAGSTER_PG_HOST"],
            port=database["DAGSTER_PG_PORT"],
            user=database["DAGSTER_PG_USERNAME"],
            dbname=database["DAGSTER_PG_DB"],
        )
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT run_id, status FROM runs")
            runs = cursor.fetchall()
            cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (result.run_id,))
            (events,) = cursor.fetchone()
            ran_in = step_processes(connection, result.run_id)
        connection.close()

    assert runs == [(result.run_id, "SUCCESS")]
    assert events > 100  # steps' starts, materialisations of 16 buckets' assets, checks ...
    assert len(workers) == 2 and ran_in and ran_in <= workers  # only on the Dask workers
    # The same tables, byte for byte, as the in-process run that cut the tiny release.
    in_process = tiny_release.parents[2] / "work" / "tables"
    expected = {p.name: p.read_bytes() for p in sorted(in_process.glob("*.parquet"))}
    made = {p.name: p.read_bytes() for p in sorted((work / "tables").glob("*.parquet"))}
    assert len(expected) >= 15 and made.keys() == expected.keys()
    assert [n for n in expected if made[n] != expected[n]] == []
