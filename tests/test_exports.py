"""COCO and nnU-Net exports of a real payload: a small generated source, released by the job."""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import shapely
from PIL import Image
from pycocotools.coco import COCO

from pipeline.errors import ReleaseError
from pipeline.exports.coco import KEYPOINT_NAMES, write_coco
from pipeline.exports.nnunet import nnunet_integrity_problems, write_nnunet
from pipeline.masks.raster import read_mask_png
from pipeline.release.info import NNUNET_DATASET_NAME
from tests.export_payload import INFO

pytestmark = pytest.mark.slow  # reads a release cut through the Dagster job

COCO_FILES = ("experts.json", "consensus.json", "keypoints.json")
MIN_DICE = 0.99


@pytest.fixture(scope="module")
def data(export_payload) -> Path:
    return export_payload[0]


@pytest.fixture(scope="module")
def tables(export_payload) -> dict[str, pa.Table]:
    return export_payload[1]


def rows_by(table: pa.Table, *keys: str) -> dict:
    return {tuple(r[k] for k in keys): r for r in table.to_pylist()}


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.logical_and(a, b).sum() / (np.count_nonzero(a) + np.count_nonzero(b))


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- COCO -----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("name", COCO_FILES)
def test_pycocotools_masks_reproduce_ours(data, tables, name):
    coco = COCO(str(data / "coco" / name))
    masks = rows_by(tables["masks"], "image_id", "rater", "method")
    scores = []
    for annotation in coco.dataset["annotations"]:
        image_id = coco.imgs[annotation["image_id"]]["image_id"]
        key = (image_id, annotation.get("expert_id", "consensus"), "arclength_mean")
        if "expert_id" in annotation:
            key = (image_id, annotation["expert_id"], "expert")
        ours = read_mask_png(data / masks[key]["path"])
        theirs = coco.annToMask(annotation)
        assert theirs.shape == ours.shape
        scores.append(dice(ours, theirs))
    # Seen: 0.99870 on this payload, 0.99860 on the 200-image default sample.
    assert len(scores) == len(coco.dataset["annotations"]) > 0
    assert min(scores) >= MIN_DICE, f"min Dice {min(scores):.5f}"


@pytest.mark.parametrize("name", COCO_FILES)
def test_images_info_and_licence(data, tables, name):
    text = (data / "coco" / name).read_text(encoding="ascii")
    document = json.loads(text)
    assert list(document) == ["info", "licenses", "images", "annotations", "categories"]
    info = document["info"]
    assert info["version"] == "1.0.0"
    assert info["date_created"] == "2024-05-01"
    assert info["year"] == 2024
    assert info["url"] == INFO.meta["dataset"]["source_url"]
    assert info["contributor"] == INFO.meta["dataset"]["publisher"]
    assert info["description"].startswith(INFO.meta["dataset"]["title"])
    assert not re.search(r"\d\d:\d\d:\d\d", text), "no wall-clock time in the file"
    assert document["licenses"] == [
        {
            "id": 1,
            "name": "Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International",
            "url": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
        }
    ]
    images = sorted(tables["images"].to_pylist(), key=lambda r: r["image_id"])
    assert [i["id"] for i in document["images"]] == list(range(1, len(images) + 1))
    for entry, row in zip(document["images"], images, strict=True):
        assert entry["image_id"] == row["image_id"]
        assert (entry["width"], entry["height"]) == (row["width"], row["height"])
        assert entry["file_name"] == f"images/{row['file_name']}"
        assert (data / entry["file_name"]).is_file()
        assert (entry["study_id"], entry["phase"], entry["license"]) == (
            row["study_id"],
            row["phase"],
            1,
        )
    assert document["categories"][0]["name"] == "left_ventricle"


def check_region(annotation: dict, geometry: bytes, area_px: int) -> None:
    polygon = shapely.from_wkb(geometry)
    ring = np.asarray(polygon.exterior.coords)[:-1]
    assert annotation["segmentation"] == [ring.ravel().tolist()]
    x0, y0, x1, y1 = polygon.bounds
    assert annotation["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=1e-9)
    assert all(isinstance(v, float) for v in annotation["bbox"])
    assert annotation["area"] == area_px
    assert (annotation["category_id"], annotation["iscrowd"]) == (1, 0)


def test_expert_annotations(data, tables):
    document = json.loads((data / "coco" / "experts.json").read_text())
    coco_image = {i["id"]: i["image_id"] for i in document["images"]}
    contours = rows_by(tables["contours"], "image_id", "expert_id")
    masks = rows_by(tables["masks"], "image_id", "rater", "method")
    annotations = document["annotations"]
    assert [a["id"] for a in annotations] == list(range(1, len(contours) + 1))
    keys = [(coco_image[a["image_id"]], a["expert_id"]) for a in annotations]
    assert keys == sorted(contours), "one annotation per expert curve, in (image, expert) order"
    for annotation, key in zip(annotations, keys, strict=True):
        assert annotation["attributes"] == {"expert_id": key[1]}
        check_region(annotation, contours[key]["geometry"], masks[(*key, "expert")]["area_px"])
        assert len(annotation["segmentation"][0]) == 2 * contours[key]["n_points"]


def test_consensus_annotations(data, tables):
    document = json.loads((data / "coco" / "consensus.json").read_text())
    coco_image = {i["id"]: i["image_id"] for i in document["images"]}
    consensus = rows_by(tables["consensus"], "image_id", "method", "left_out_expert_id")
    masks = rows_by(tables["masks"], "image_id", "rater", "method")
    annotations = document["annotations"]
    assert [coco_image[a["image_id"]] for a in annotations] == sorted(coco_image.values())
    for annotation in annotations:
        image_id = coco_image[annotation["image_id"]]
        row = consensus[(image_id, "arclength_mean", None)]
        assert annotation["attributes"] == {
            "method": "arclength_mean",
            "n_experts": row["n_experts"],
        }
        area = masks[(image_id, "consensus", "arclength_mean")]["area_px"]
        check_region(annotation, row["geometry"], area)


def test_keypoints(data, tables):
    document = json.loads((data / "coco" / "keypoints.json").read_text())
    experts = json.loads((data / "coco" / "experts.json").read_text())
    category = document["categories"][0]
    assert category["keypoints"] == KEYPOINT_NAMES == ["septal_hinge", "lateral_hinge", "apex"]
    assert category["skeleton"] == [[1, 2], [1, 3], [2, 3]]
    coco_image = {i["id"]: i["image_id"] for i in document["images"]}
    points = tables["points"].to_pylist()
    reversed_by = rows_by(tables["contours"], "image_id", "expert_id")
    n_reversed = 0
    for annotation, plain in zip(document["annotations"], experts["annotations"], strict=True):
        assert {
            k: v for k, v in annotation.items() if k not in ("keypoints", "num_keypoints")
        } == plain
        key = (coco_image[annotation["image_id"]], annotation["expert_id"])
        curve = np.array(
            [(p["x"], p["y"]) for p in points if (p["image_id"], p["expert_id"]) == key]
        )
        values = np.array(annotation["keypoints"]).reshape(3, 3)
        assert annotation["num_keypoints"] == 3 and (values[:, 2] == 2).all()
        septal, lateral, apex = values[:, :2]
        assert septal[0] < lateral[0]
        traced_lateral_first = reversed_by[key]["reversed"]
        n_reversed += traced_lateral_first
        first, last = (curve[-1], curve[0]) if traced_lateral_first else (curve[0], curve[-1])
        assert septal.tolist() == first.tolist() and lateral.tolist() == last.tolist()
        reach = np.hypot(*(curve - (septal + lateral) / 2).T)
        assert np.hypot(*(apex - (septal + lateral) / 2)) == reach.max()
        assert apex.tolist() in curve.tolist()
        assert apex[1] < min(septal[1], lateral[1]), "the apex is above the mitral plane"
    assert n_reversed > 0, "the payload must include curves traced lateral hinge first"


def test_coco_bytes_are_deterministic(data, tables, tmp_path):
    before = {n: (data / "coco" / n).read_bytes() for n in COCO_FILES}
    write_coco(data, tables, INFO)
    assert {n: (data / "coco" / n).read_bytes() for n in COCO_FILES} == before
    rng = np.random.default_rng(0)
    shuffled = {k: t.take(rng.permutation(t.num_rows)) for k, t in tables.items()}
    write_coco(tmp_path, shuffled, INFO)
    assert {n: (tmp_path / "coco" / n).read_bytes() for n in COCO_FILES} == before


# --- nnU-Net --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset_dir(data) -> Path:
    return data / "nnunet" / NNUNET_DATASET_NAME


def test_nnunet_dataset_passes_the_integrity_rules(dataset_dir, tables):
    assert nnunet_integrity_problems(dataset_dir) == []
    document = json.loads((dataset_dir / "dataset.json").read_text())
    n_images = tables["images"].num_rows
    assert document["channel_names"] == {"0": "echo"}
    assert document["labels"] == {"background": 0, "left_ventricle": 1}
    assert (document["numTraining"], document["file_ending"]) == (n_images, ".png")
    assert document["licence"] == "CC-BY-NC-SA-4.0"
    assert document["release"] == "1.0.0"
    assert document["reference"] == INFO.meta["attribution"]["citation"]
    assert document["name"] == "UnityLV-MultiX"
    assert document["overwrite_image_reader_writer"] == "NaturalImage2DIO"
    assert document["label_folders"]["labelsTr"]["cases"] == n_images


def test_nnunet_images_and_labels(data, dataset_dir, tables):
    masks = rows_by(tables["masks"], "image_id", "rater", "method")
    modes = set()
    for row in tables["images"].to_pylist():
        image_id = row["image_id"]
        with Image.open(dataset_dir / "imagesTr" / f"{image_id}_0000.png") as frame:
            assert frame.mode == "L" and frame.size == (row["width"], row["height"])
            pixels = np.asarray(frame)
        with Image.open(data / "images" / row["file_name"]) as source:
            modes.add(source.mode)
            assert (pixels == np.asarray(source.convert("L"))).all()
        with Image.open(dataset_dir / "labelsTr" / f"{image_id}.png") as label:
            assert label.mode == "L"
            values = np.asarray(label)
        assert values.dtype == np.uint8 and set(np.unique(values).tolist()) == {0, 1}
        consensus = read_mask_png(data / masks[(image_id, "consensus", "arclength_mean")]["path"])
        assert (values == consensus).all()
    assert modes == {"RGB", "L"}, "the payload must include both RGB and grayscale frames"


def test_nnunet_expert_folders_hold_only_annotated_images(dataset_dir, tables):
    document = json.loads((dataset_dir / "dataset.json").read_text())
    by_expert: dict[str, set[str]] = {}
    for row in tables["contours"].to_pylist():
        by_expert.setdefault(row["expert_id"], set()).add(row["image_id"])
    for expert_id, image_ids in by_expert.items():
        folder = dataset_dir / f"labelsTr_{expert_id}"
        assert {p.stem for p in folder.iterdir()} == image_ids
        assert document["label_folders"][folder.name]["cases"] == len(image_ids)
    assert any(len(ids) < tables["images"].num_rows for ids in by_expert.values())
    assert {"labelsTr_majority", "labelsTr_staple", "labelsTr_published_mean"} <= {
        p.name for p in dataset_dir.iterdir()
    }


def test_nnunet_bytes_are_deterministic(data, dataset_dir, tables):
    before = tree_digest(dataset_dir)
    assert write_nnunet(data, tables, INFO) == dataset_dir
    assert tree_digest(dataset_dir) == before


def test_a_missing_frame_is_a_release_error(data, tables, tmp_path):
    partial = tmp_path / "data"
    (partial / "images").mkdir(parents=True)
    with pytest.raises(ReleaseError, match="image file is missing"):
        write_nnunet(partial, tables, INFO)


def test_an_image_without_default_consensus_is_a_release_error(data, tables, tmp_path):
    masks = tables["masks"]
    dropped = masks.filter(
        pc.invert(
            pc.and_(
                pc.equal(masks["method"], "arclength_mean"),
                pc.equal(masks["image_id"], masks["image_id"][0]),
            )
        )
    )
    assert dropped.num_rows == masks.num_rows - 1
    with pytest.raises(ReleaseError, match="no arclength_mean mask"):
        write_nnunet(tmp_path, {**tables, "masks": dropped}, INFO)
    assert not (tmp_path / "nnunet").exists(), "nothing is written"
