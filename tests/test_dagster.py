"""The asset graph materialised for real on a temporary instance; checks block bad input."""

import dagster as dg
import pytest

from assets.automation import source_or_code_changed
from assets.definitions import ASSETS, CHECKS, build_definitions, defs
from assets.definitions import resources as definition_resources
from assets.partitions import ALL_BUCKETS
from assets.resources import SourceFolder
from pipeline.buckets.layout import BUCKETS
from pipeline.tables.schemas import TABLES


def resources(source, tmp_path) -> dict:
    return definition_resources(str(source), str(tmp_path / "releases"), str(tmp_path / "work"))


def release_config(version: str) -> dg.RunConfig:
    return dg.RunConfig(ops={"release_bag": {"config": {"version": version}}})


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert {j.name for j in defs.jobs} >= {"validate", "derive", "release"}
    assert defs.resolve_job_def("release").executor_def.name == "in_process"


@pytest.mark.slow
def test_materialize_whole_graph(tiny_source, tmp_path):
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*ASSETS, *CHECKS],
            resources=resources(tiny_source, tmp_path),
            instance=instance,
            run_config=release_config("0.1.0"),
            tags=ALL_BUCKETS,
        )
        assert result.success
        materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
        assert materialized >= set(TABLES) | {"source_scan", "release_bag"}
        buckets = [
            e.partition
            for e in result.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey(["buckets", "points"])
        ]
        assert sorted(buckets) == list(BUCKETS)
        assert all(e.passed for e in result.get_asset_check_evaluations())
        contours = instance.get_latest_materialization_event(dg.AssetKey("contours"))
        assert contours.asset_materialization.metadata["dagster/row_count"].value == 4 * 11
    assert (tmp_path / "releases/unitylv-multix/0.1.0/data/tables/contours.parquet").is_file()


@pytest.mark.slow
def test_failed_licence_check_blocks_downstream(source_copy, tmp_path):
    (source_copy / "LICENSE").write_text("Proprietary. All rights reserved.")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*ASSETS, *CHECKS],
            resources=resources(source_copy, tmp_path),
            instance=instance,
            run_config=release_config("0.1.0"),
            raise_on_error=False,
            tags=ALL_BUCKETS,
        )
    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == ["licence"]
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"source_scan"}
    assert not (tmp_path / "releases/unitylv-multix/0.1.0").exists()


def test_sensor_requests_a_run_only_when_the_source_changes(source_copy):
    definitions = build_definitions(source=str(source_copy))
    sensor = definitions.resolve_sensor_def(source_or_code_changed.name)
    with dg.instance_for_test() as instance:
        first = sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance, resources={"source": SourceFolder(path=str(source_copy))}
            )
        )
        assert len(first.run_requests) == 1
        again = sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance,
                cursor=first.cursor,
                resources={"source": SourceFolder(path=str(source_copy))},
            )
        )
        assert again.run_requests == []
        (source_copy / "UnityLV_multiX_annotations.json").write_text("{}")
        changed = sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance,
                cursor=first.cursor,
                resources={"source": SourceFolder(path=str(source_copy))},
            )
        )
        assert len(changed.run_requests) == 1


@pytest.mark.parametrize("name", ["nightly_derive"])
def test_schedule_targets_derive(name):
    schedule = defs.resolve_schedule_def(name)
    assert schedule.job_name == "derive"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
