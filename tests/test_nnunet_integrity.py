"""nnU-Net integrity rules: the exported dataset passes, and each rule catches a broken copy."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.exports.nnunet import nnunet_integrity_problems
from pipeline.release.info import NNUNET_DATASET_NAME


@pytest.fixture(scope="module")
def dataset_dir(export_payload) -> Path:
    """The exported dataset of the session's export payload; tests copy it to break it."""
    return export_payload[0] / "nnunet" / NNUNET_DATASET_NAME


@pytest.mark.slow
def test_the_export_passes(dataset_dir):
    assert nnunet_integrity_problems(dataset_dir) == []


@pytest.mark.slow
def test_switching_to_an_expert_label_folder(dataset_dir, tmp_path):
    """The documented ways to train on one expert: rename its folder, or list its cases."""
    document = json.loads((dataset_dir / "dataset.json").read_text())
    complete = [
        n for n, f in document["label_folders"].items() if f["cases"] == document["numTraining"]
    ]
    partial = [
        n for n, f in document["label_folders"].items() if f["cases"] < document["numTraining"]
    ]
    renamed = Path(shutil.copytree(dataset_dir, tmp_path / "renamed"))
    shutil.rmtree(renamed / "labelsTr")
    (renamed / complete[1]).rename(renamed / "labelsTr")
    assert nnunet_integrity_problems(renamed) == []
    (renamed / "labelsTr").rename(renamed / "spare")
    (renamed / partial[0]).rename(renamed / "labelsTr")
    assert any("is missing" in p for p in nnunet_integrity_problems(renamed))
    listed = Path(shutil.copytree(dataset_dir, tmp_path / "listed"))
    cases = sorted(p.stem for p in (listed / partial[0]).iterdir())
    document["dataset"] = {
        c: {"images": [f"imagesTr/{c}_0000.png"], "label": f"{partial[0]}/{c}.png"} for c in cases
    }
    document["numTraining"] = len(cases)
    (listed / "dataset.json").write_text(json.dumps(document))
    assert nnunet_integrity_problems(listed) == []
    (listed / partial[0] / f"{cases[0]}.png").unlink()
    assert any("listed file" in p for p in nnunet_integrity_problems(listed))


def first_case(folder: Path) -> str:
    return sorted(p.name for p in (folder / "labelsTr").iterdir())[0].removesuffix(".png")


def edit_json(folder: Path, change) -> None:
    document = json.loads((folder / "dataset.json").read_text())
    change(document)
    (folder / "dataset.json").write_text(json.dumps(document))


def edit_png(path: Path, change) -> None:
    with Image.open(path) as image:
        changed = change(image)
    changed.save(path)


def label_of(folder: Path) -> Path:
    return folder / "labelsTr" / f"{first_case(folder)}.png"


def image_of(folder: Path) -> Path:
    return folder / "imagesTr" / f"{first_case(folder)}_0000.png"


def with_value_two(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image).copy()
    pixels[0, :10] = 2
    return Image.fromarray(pixels)


BREAKAGES = {
    "no dataset.json": (lambda f: (f / "dataset.json").unlink(), "dataset.json is missing"),
    "no labelsTr folder": (lambda f: shutil.rmtree(f / "labelsTr"), "folder labelsTr is missing"),
    "a required key": (
        lambda f: edit_json(f, lambda d: d.pop("file_ending")),
        "required key 'file_ending'",
    ),
    "background not 0": (
        lambda f: edit_json(f, lambda d: d["labels"].update(background=1, left_ventricle=2)),
        "background label must be 0",
    ),
    "no background": (
        lambda f: edit_json(f, lambda d: d["labels"].pop("background")),
        "must declare 'background'",
    ),
    "labels not consecutive": (
        lambda f: edit_json(f, lambda d: d["labels"].update(left_ventricle=2)),
        "consecutive",
    ),
    "ignore label not last": (
        lambda f: edit_json(f, lambda d: d["labels"].update(ignore=5)),
        "ignore label must be 2",
    ),
    "regions without an order": (
        lambda f: edit_json(f, lambda d: d["labels"].update(cavity=[1, 2], wall=2)),
        "regions_class_order",
    ),
    "unsupported file ending": (
        lambda f: edit_json(f, lambda d: d.update(file_ending=".jpg")),
        "file_ending '.jpg'",
    ),
    "another reader": (
        lambda f: edit_json(f, lambda d: d.update(overwrite_image_reader_writer="SimpleITKIO")),
        "overwrite_image_reader_writer",
    ),
    "wrong numTraining": (
        lambda f: edit_json(f, lambda d: d.update(numTraining=d["numTraining"] + 1)),
        "numTraining",
    ),
    "a missing label": (lambda f: label_of(f).unlink(), "is missing"),
    "a label with value 2": (
        lambda f: edit_png(label_of(f), with_value_two),
        "label values [2.0] are not declared",
    ),
    "a label of another size": (
        lambda f: edit_png(label_of(f), lambda i: i.crop((0, 0, i.width - 1, i.height))),
        "differs from label shape",
    ),
    "an RGB image": (
        lambda f: edit_png(image_of(f), lambda i: i.convert("RGB")),
        "3 image channel(s), channel_names declares 1",
    ),
    "a two-valued pixel image": (
        lambda f: edit_png(image_of(f), lambda i: i.convert("LA")),
        "a 3-D image must be RGB or RGBA",
    ),
    "an RGB label": (
        lambda f: edit_png(label_of(f), lambda i: i.convert("RGB")),
        "the label has 3 channels",
    ),
    "an unreadable image": (lambda f: image_of(f).write_bytes(b"not a png"), "cannot be read"),
    "an extra channel": (
        lambda f: shutil.copyfile(image_of(f), str(image_of(f)).replace("_0000", "_0001")),
        "2 image channel(s)",
    ),
    "a channel of another size": (
        lambda f: edit_png(
            Path(shutil.copyfile(image_of(f), str(image_of(f)).replace("_0000", "_0001"))),
            lambda i: i.crop((0, 0, 10, 10)),
        ),
        "channel images differ in shape",
    ),
    "a channel gap": (
        lambda f: image_of(f).rename(str(image_of(f)).replace("_0000", "_0003")),
        "not 0000, 0001",
    ),
    "a stray file in imagesTr": (
        lambda f: (f / "imagesTr" / "notes.txt").write_text("x"),
        "imagesTr/notes.txt: stray file",
    ),
    "a label without an image": (
        lambda f: image_of(f).unlink(),
        "stray file",
    ),
    "a stray png in imagesTr": (
        lambda f: shutil.copyfile(image_of(f), f / "imagesTr" / "extra.png"),
        "numTraining",
    ),
    "a subfolder in labelsTr": (
        lambda f: (f / "labelsTr" / "old").mkdir(),
        "labelsTr/old: unexpected subfolder",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_each_integrity_rule_catches_a_broken_copy(dataset_dir, tmp_path, breakage):
    broken = Path(shutil.copytree(dataset_dir, tmp_path / "broken"))
    breaker, expected = BREAKAGES[breakage]
    breaker(broken)
    problems = nnunet_integrity_problems(broken)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(("value", "expected"), [(np.nan, "NaN"), (np.inf, "infinite")])
def test_float_images_with_nan_or_inf_are_caught(tmp_path, value, expected):
    for folder in ("imagesTr", "labelsTr"):
        (tmp_path / folder).mkdir()
    pixels = np.zeros((4, 5), dtype=np.float32)
    Image.fromarray(pixels).save(tmp_path / "imagesTr" / "case_0000.tif")
    Image.fromarray(np.zeros((4, 5), dtype=np.uint8)).save(tmp_path / "labelsTr" / "case.tif")
    (tmp_path / "dataset.json").write_text(
        json.dumps(
            {
                "channel_names": {"0": "x"},
                "labels": {"background": 0, "thing": 1},
                "numTraining": 1,
                "file_ending": ".tif",
            }
        )
    )
    assert nnunet_integrity_problems(tmp_path) == []
    pixels[1, 2] = value
    Image.fromarray(pixels).save(tmp_path / "imagesTr" / "case_0000.tif")
    assert any(expected in p for p in nnunet_integrity_problems(tmp_path))


# Breakages nnU-Net's own check refuses too (the rest of BREAKAGES are stricter rules of ours,
# or problems nnU-Net only warns about or meets later, in training).
NNUNET_REFUSES = [
    "no dataset.json",
    "no labelsTr folder",
    "a required key",
    "labels not consecutive",
    "wrong numTraining",
    "a missing label",
    "a label with value 2",
    "a label of another size",
]


@pytest.fixture
def verify_dataset_integrity():
    """nnU-Net v2's own check (skipped where nnunetv2 is not installed, as in CI)."""
    pytest.importorskip("nnunetv2")
    from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity

    return verify_dataset_integrity


@pytest.mark.slow
def test_nnunetv2_accepts_the_export(verify_dataset_integrity, dataset_dir):
    verify_dataset_integrity(str(dataset_dir), num_processes=1)  # raises on any problem


@pytest.mark.slow
@pytest.mark.parametrize("breakage", NNUNET_REFUSES)
def test_nnunetv2_refuses_what_our_rules_refuse(
    verify_dataset_integrity, dataset_dir, tmp_path, breakage
):
    broken = Path(shutil.copytree(dataset_dir, tmp_path / "broken"))
    BREAKAGES[breakage][0](broken)
    assert nnunet_integrity_problems(broken)
    with pytest.raises((AssertionError, FileNotFoundError, RuntimeError)):
        verify_dataset_integrity(str(broken), num_processes=1)
