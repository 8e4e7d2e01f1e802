"""`unitylv evaluate` on the tiny release: every prediction format, a messy submission, and
what it may never do (write into the release, replace the predictions, trust a name)."""

import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from pipeline.errors import EvaluationError, ReleaseError
from pipeline.evaluate.catalog import open_catalog
from pipeline.evaluate.run import evaluate_submission
from pipeline.release.catalog import run_read_only
from tests.cli import unitylv
from tests.conftest import writable_copy

pytestmark = pytest.mark.slow


def images_of(release: Path) -> list[dict]:
    table = pq.read_table(release / "data/tables/images.parquet")
    return sorted(
        table.select(["image_id", "width", "height"]).to_pylist(), key=lambda r: r["image_id"]
    )


def release_mask(release: Path, folder: str, image_id: str) -> np.ndarray:
    return np.asarray(Image.open(release / "data/masks" / folder / f"{image_id}.png"))


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every entry under `folder`: sha256 of its bytes (files) and its mode."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir",
            p.stat().st_mode,
        )
        for p in sorted(folder.rglob("*"))
    }


def rows(con, sql: str) -> list[tuple]:
    return run_read_only(con, sql).fetchall()


def test_a_messy_submission_is_scored_with_each_problem_reported(tiny_release, tmp_path):
    before = snapshot(tiny_release)
    images = images_of(tiny_release)
    a, b, c, d = (row["image_id"] for row in images)
    size = {row["image_id"]: (row["height"], row["width"]) for row in images}
    folder = tmp_path / "predictions" / "messy"
    folder.mkdir(parents=True)
    Image.fromarray(release_mask(tiny_release, "E02", a) * 255).save(folder / f"{a}.png")
    Image.fromarray(np.zeros((size[b][0], size[b][1] + 3), np.uint8)).save(folder / f"{b}.png")
    # c: no file at all
    Image.fromarray(np.zeros((*size[d], 3), np.uint8)).save(folder / f"{d}.png")
    unknown = "01-" + "0" * 64 + "-0001.png"
    Image.fromarray(np.zeros(size[a], np.uint8)).save(folder / unknown)
    (folder / "notes.txt").write_text("trained for 1000 epochs")
    for side_file in ("dataset.json", "plans.json", "predict_from_raw_data_args.json"):
        (folder / side_file).write_text("{}")  # nnUNetv2_predict writes these: not rejects

    run = unitylv(
        "evaluate", "--release", str(tiny_release), "--predictions", str(folder), cwd=tmp_path
    )

    assert run.returncode == 0, run.stderr
    out = tmp_path / "data/evaluations/messy"
    assert run.stdout.strip().splitlines()[-1] == "data/evaluations/messy"
    assert "1 predicted, 1 missing and 2 rejected" in run.stderr
    con = open_catalog(evaluations_root=tmp_path / "data/evaluations")
    rejects = rows(con, 'SELECT entry, image_id, "check", scored_as FROM prediction_rejects')
    assert sorted(rejects) == sorted(
        [
            (f"{b}.png", b, "wrong_size", "empty mask"),
            (c, c, "missing", "empty mask"),
            (f"{d}.png", d, "not_single_channel", "empty mask"),
            (unknown, None, "unknown_image", "not scored"),
            ("notes.txt", None, "not_png", "not scored"),
        ]
    )
    statuses = dict(rows(con, "SELECT DISTINCT image_id, prediction FROM evaluation"))
    assert statuses == {a: "predicted", b: "rejected", c: "missing", d: "rejected"}
    # The 0/255 mask is E02's own: a perfect overlap with E02; the others overlap nothing.
    assert rows(
        con, f"SELECT dice, iou FROM evaluation WHERE image_id = '{a}' AND reference = 'E02'"
    ) == [(1.0, 1.0)]
    empty = rows(
        con,
        f"SELECT max(dice), count(hausdorff_px), count(*) FROM evaluation WHERE image_id <> '{a}'",
    )
    assert empty == [(0.0, 0, 3 * 15)]
    summary = rows(
        con,
        "SELECT images, images_predicted, images_missing, images_rejected, rejected_entries "
        "FROM evaluation_summary WHERE metric = 'dice'",
    )
    assert summary == [(4, 1, 1, 2, 5)]
    assert snapshot(tiny_release) == before  # the release was only read
    assert sorted(p.name for p in out.iterdir()) == [
        "evaluation.parquet",
        "evaluation_summary.parquet",
        "prediction_rejects.parquet",
    ]


def test_coco_rle_and_polygons_and_curves_score_their_source_perfectly(tiny_release, tmp_path):
    images = images_of(tiny_release)
    coco_ids = {row["image_id"]: i for i, row in enumerate(images, start=1)}
    # COCO RLE of E03's released masks (pycocotools' own encoding), ids as coco/consensus.json.
    consensus = json.loads((tiny_release / "data/coco/consensus.json").read_text())
    assert {i["image_id"]: i["id"] for i in consensus["images"]} == coco_ids
    rle = []
    for row in images:
        encoded = coco_mask.encode(
            np.asfortranarray(release_mask(tiny_release, "E03", row["image_id"]))
        )
        segmentation = {"size": encoded["size"], "counts": encoded["counts"].decode()}
        rle.append(
            {
                "image_id": coco_ids[row["image_id"]],
                "category_id": 1,
                "segmentation": segmentation,
                "score": 0.9,
            }
        )
    (tmp_path / "rle.json").write_text(json.dumps(rle))
    # COCO polygons: E04's annotations in the release's coco/experts.json, as results.
    experts = json.loads((tiny_release / "data/coco/experts.json").read_text())
    polygons = [
        {
            "image_id": a["image_id"],
            "category_id": 1,
            "segmentation": a["segmentation"],
            "score": 1.0,
        }
        for a in experts["annotations"]
        if a["attributes"]["expert_id"] == "E04"
    ]
    (tmp_path / "polygons.json").write_text(json.dumps(polygons))
    # Curves: E05's points, in the source's layout.
    points = pq.read_table(tiny_release / "data/tables/points.parquet").to_pylist()
    curves: dict[str, list[list[float]]] = {}
    for p in sorted(points, key=lambda p: (p["image_id"], p["point_index"])):
        if p["expert_id"] == "E05":
            xs, ys = curves.setdefault(f"{p['image_id']}.png", [[], []])
            xs.append(p["x"])
            ys.append(p["y"])
    (tmp_path / "curves.json").write_text(json.dumps(curves))

    out = tmp_path / "evaluations"
    for name in ("rle", "polygons", "curves"):
        outcome = evaluate_submission(tiny_release, tmp_path / f"{name}.json", name, out)
        assert outcome.coverage.count("predicted") == 4
    con = open_catalog(evaluations_root=out)
    by_source = rows(
        con,
        "SELECT submission, min(dice), max(hausdorff_px), max(abs(volume_error_px3)), "
        "max(abs(ef_error_pts)), count(*) FROM evaluation "
        "WHERE (submission, reference) IN (('rle', 'E03'), ('polygons', 'E04'), ('curves', 'E05')) "
        "GROUP BY submission ORDER BY submission",
    )
    assert by_source == [
        ("curves", 1.0, 0.0, 0.0, 0.0, 4),
        ("polygons", 1.0, 0.0, None, None, 4),
        # A mask's contour is traced between pixel centres: within a pixel of the polygon.
        ("rle", 1.0, pytest.approx(0.5, abs=0.25), None, None, 4),
    ]
    formats = rows(con, "SELECT submission, count(*) FROM prediction_rejects GROUP BY 1")
    assert formats == []


def test_same_inputs_give_the_same_bytes_and_a_rerun_replaces_whole(tiny_release, tmp_path):
    predictions = tmp_path / "masks"
    predictions.mkdir()
    for row in images_of(tiny_release)[:3]:
        mask = release_mask(tiny_release, "staple", row["image_id"])
        Image.fromarray(mask).save(predictions / f"{row['image_id']}.png")
    first = evaluate_submission(tiny_release, predictions, "run", tmp_path / "one").path
    second = evaluate_submission(tiny_release, predictions, "run", tmp_path / "two").path
    again = evaluate_submission(tiny_release, predictions, "run", tmp_path / "one").path
    assert snapshot(first) == snapshot(second) == snapshot(again)
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [".evaluate.lock", "run"]


def test_the_release_and_the_predictions_are_never_written(tiny_release, tmp_path):
    predictions = tmp_path / "predictions" / "model"
    predictions.mkdir(parents=True)
    with pytest.raises(EvaluationError, match="inside the release"):
        evaluate_submission(tiny_release, predictions, "model", tiny_release / "data")
    with pytest.raises(EvaluationError, match="replace the predictions"):
        evaluate_submission(tiny_release, predictions, "model", tmp_path / "predictions")
    for name in ("../up", ".hidden", "a b", "x" * 65, ""):
        with pytest.raises(EvaluationError, match="submission name"):
            evaluate_submission(tiny_release, predictions, name, tmp_path / "out")
    with pytest.raises(EvaluationError, match=r"no <image_id>\.png masks"):
        evaluate_submission(tiny_release, predictions, "model", tmp_path / "out")
    (tmp_path / "junk.json").write_text("[1, 2")
    with pytest.raises(EvaluationError, match="line 1, column"):
        evaluate_submission(tiny_release, tmp_path / "junk.json", "junk", tmp_path / "out")
    with pytest.raises(ReleaseError, match="not a release data folder"):
        evaluate_submission(tmp_path, predictions, "model", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # A folder of the same name that is not an evaluation is never replaced, and a release's
    # staging folder beside it is not taken for a left-over of an evaluation.
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(predictions / "x.png")
    (tmp_path / "out/model").mkdir(parents=True)
    (tmp_path / "out/model/precious.txt").write_text("keep me")
    (tmp_path / "out/.staging-1.0.0").mkdir()
    with pytest.raises(EvaluationError, match="not an evaluation's"):
        evaluate_submission(tiny_release, predictions, "model", tmp_path / "out")
    assert (tmp_path / "out/model/precious.txt").read_text() == "keep me"
    evaluate_submission(tiny_release, predictions, "other", tmp_path / "out")
    assert (tmp_path / "out/.staging-1.0.0").is_dir()


def test_the_cli_refuses_in_one_line(tiny_release, tmp_path):
    predictions = tmp_path / "model"
    predictions.mkdir()
    run = unitylv(
        "evaluate",
        "--release",
        str(tiny_release),
        "--predictions",
        str(predictions),
        "--out",
        str(tiny_release / "data"),
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("error:")
    assert "inside the release" in run.stderr and "Traceback" not in run.stderr


def test_leaderboard_ranks_submissions_with_the_experts_range(tiny_release, tmp_path):
    out = tmp_path / "evaluations"
    for name, folder in (("staple", "staple"), ("e06", "E06")):
        predictions = tmp_path / name
        predictions.mkdir()
        for row in images_of(tiny_release):
            mask = release_mask(tiny_release, folder, row["image_id"])
            Image.fromarray(mask).save(predictions / f"{row['image_id']}.png")
        evaluate_submission(tiny_release, predictions, name, out)
    run = unitylv("leaderboard", "--evaluations", str(out), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    con = open_catalog(evaluations_root=out)
    board = rows(
        con,
        "SELECT submission, rank, williams_index, expert_williams_min, expert_williams_max "
        "FROM leaderboard WHERE metric = 'dice' ORDER BY rank",
    )
    assert [r[0] for r in board] == ["staple", "e06"]  # the consensus beats one expert
    assert board[0][2] > board[1][2] and all(r[3] <= r[4] for r in board)
    lines = run.stdout.splitlines()
    assert any("staple" in line for line in lines) and any("e06" in line for line in lines)
    # The evaluations hold only evaluation folders: anything else refuses, names unread.
    (out / "stray; DROP TABLE x").mkdir()
    with pytest.raises(EvaluationError, match="not a submission folder"):
        open_catalog(evaluations_root=out)
    assert duckdb.__version__  # (the catalog is DuckDB's)


def test_a_tampered_release_is_refused_naming_the_record(tiny_release, tmp_path):
    release = writable_copy(tiny_release, tmp_path / "release")
    predictions = tmp_path / "model"
    predictions.mkdir()
    images = release / "data/tables/images.parquet"
    table = pq.read_table(images)
    hostile = table.set_column(
        0, table.schema.field(0), pa.array(["../../etc/passwd"] + table["image_id"].to_pylist()[1:])
    )
    pq.write_table(hostile.replace_schema_metadata(table.schema.metadata), images)
    with pytest.raises(ReleaseError, match="not a published image name") as refused:
        evaluate_submission(release, predictions, "model", tmp_path / "out")
    assert "images.parquet" in str(refused.value) and "etc/passwd" in str(refused.value)
    pq.write_table(table.drop_columns(["sha256"]), images)
    with pytest.raises(ReleaseError, match="columns differ"):
        evaluate_submission(release, predictions, "model", tmp_path / "out")
