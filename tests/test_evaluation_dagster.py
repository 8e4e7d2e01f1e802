"""The `evaluation` asset on its dynamic partitions, and the sensor that adds them."""

import os

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from assets.definitions import defs
from assets.definitions import resources as definition_resources
from assets.evaluation_assets import PREDICTIONS, evaluation, predictions_changed
from assets.resources import PredictionsFolder, ReleasesRoot

pytestmark = pytest.mark.slow


def submit(release, predictions_root, name: str, folder: str) -> None:
    """<predictions>/<name>/: the release's `folder` masks as a submission."""
    target = predictions_root / name
    target.mkdir(parents=True)
    for path in sorted((release / "data/masks" / folder).iterdir()):
        Image.open(path).save(target / path.name)


def test_evaluate_job_is_apart_from_the_dataset_jobs():
    assert defs.resolve_job_def("evaluate").partitions_def == PREDICTIONS
    for job in ("validate", "derive", "release"):
        keys = defs.resolve_job_def(job).asset_layer.executable_asset_keys
        assert dg.AssetKey("evaluation") not in keys
    assert predictions_changed.default_status == dg.DefaultSensorStatus.RUNNING


def test_materialize_a_submission_partition(tiny_release, tmp_path):
    releases = tiny_release.parents[1]
    submit(tiny_release, tmp_path / "predictions", "majority-model", "majority")
    resources = definition_resources(
        "unused-source",
        str(releases),
        str(tmp_path / "work"),
        predictions=str(tmp_path / "predictions"),
        evaluations=str(tmp_path / "evaluations"),
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(PREDICTIONS.name, ["majority-model"])
        result = dg.materialize(
            [evaluation], partition_key="majority-model", resources=resources, instance=instance
        )
        assert result.success
        event = instance.get_latest_materialization_event(dg.AssetKey("evaluation"))
        metadata = event.asset_materialization.metadata
    assert event.asset_materialization.partition == "majority-model"
    assert metadata["release_version"].value == "1.0.0"
    assert metadata["images_predicted"].value == 4
    assert metadata["williams_index_dice"].value > 1.0  # a consensus beats the experts
    assert (tmp_path / "evaluations/majority-model/evaluation_summary.parquet").is_file()
    assert not (tmp_path / "work").exists()  # an evaluation needs no work folder


def test_sensor_adds_a_partition_and_runs_when_a_folder_appears_or_changes(tiny_release, tmp_path):
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    folders = {
        "predictions": PredictionsFolder(path=str(predictions)),
        "releases": ReleasesRoot(path=str(tiny_release.parents[1])),
    }

    def tick(instance, cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=folders)
        return predictions_changed(context)

    with dg.instance_for_test() as instance:
        empty = tick(instance, None)
        assert isinstance(empty, dg.SkipReason)
        submit(tiny_release, predictions, "model-a", "E07")
        (predictions / ".hidden").mkdir()  # not a submission name: passed over
        first = tick(instance, None)
        assert [r.partition_key for r in first.run_requests] == ["model-a"]
        assert [r.partition_keys for r in first.dynamic_partitions_requests] == [["model-a"]]
        instance.add_dynamic_partitions(PREDICTIONS.name, ["model-a"])
        assert isinstance(tick(instance, first.cursor), dg.SkipReason)
        # A file rewritten (new size and time) and a second submission: both run, one is new.
        mask = next(iter(sorted((predictions / "model-a").iterdir())))
        Image.fromarray(np.zeros((3, 3), np.uint8)).save(mask)
        os.utime(mask, ns=(1, 1))
        submit(tiny_release, predictions, "model-b", "E08")
        changed = tick(instance, first.cursor)
        assert sorted(r.partition_key for r in changed.run_requests) == ["model-a", "model-b"]
        assert [r.partition_keys for r in changed.dynamic_partitions_requests] == [["model-b"]]
        assert len({r.run_key for r in changed.run_requests}) == 2
