"""The release of the default sample loads in the tools people use: bagit, pycocotools,
nnU-Net's rules and mlcroissant."""

import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import numpy as np
import pytest
from pycocotools.coco import COCO

from pipeline.exports.nnunet import nnunet_integrity_problems
from pipeline.masks.raster import read_mask_png
from pipeline.release.info import NNUNET_DATASET_NAME

pytestmark = pytest.mark.slow  # reads the release of the 100-study sample


def test_bagit_validates_the_sample_release(sample_release):
    assert bagit.Bag(str(sample_release)).validate()


@pytest.mark.parametrize(
    ("name", "n_annotations"), [("experts.json", 2200), ("consensus.json", 200)]
)
def test_pycocotools_reproduces_every_mask(sample_release, name, n_annotations):
    data = sample_release / "data"
    coco = COCO(str(data / "coco" / name))
    assert len(coco.getAnnIds()) == n_annotations and len(coco.getImgIds()) == 200
    worst = 1.0
    for annotation in coco.loadAnns(coco.getAnnIds()):
        image = coco.imgs[annotation["image_id"]]
        assert (data / image["file_name"]).is_file()
        folder = annotation.get("expert_id") or "arclength_mean"
        ours = read_mask_png(data / "masks" / folder / f"{image['image_id']}.png").astype(bool)
        theirs = coco.annToMask(annotation).astype(bool)
        worst = min(worst, 2 * (ours & theirs).sum() / (ours.sum() + theirs.sum()))
    assert worst >= 0.99


def test_nnunet_rules_pass_on_the_sample(sample_release):
    dataset = sample_release / "data" / "nnunet" / NNUNET_DATASET_NAME
    assert nnunet_integrity_problems(dataset) == []
    assert len(list((dataset / "labelsTr").iterdir())) == 200
    label = read_mask_png(next((dataset / "labelsTr").iterdir()))
    assert set(np.unique(label)) == {0, 1}


def test_mlcroissant_validates_the_sample(sample_release):
    tool = Path(sys.executable).with_name("mlcroissant")
    if not tool.exists() and shutil.which("mlcroissant") is None:
        pytest.skip("mlcroissant is not installed")
    run = subprocess.run(
        [
            str(tool if tool.exists() else "mlcroissant"),
            "validate",
            "--jsonld",
            str(sample_release / "data" / "croissant.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
