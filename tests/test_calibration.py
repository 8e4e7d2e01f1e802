"""The sample data against the two real reference frames in ../shared/reference/."""

import json

import numpy as np
import pytest
from PIL import Image

from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGES_DIR
from tests.conftest import SHARED

REFERENCE = SHARED / "reference" / "consensus_curve.png"
pytestmark = [
    pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference is absent"),
    pytest.mark.slow,  # generates the whole 100-study sample
]


def reference_curve_box() -> np.ndarray:
    """x min, x max, y min, y max of the red consensus curve drawn on the real ED frame."""
    rgb = np.asarray(Image.open(REFERENCE).convert("RGB")).astype(int)
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 70) & (rgb[..., 2] < 70)
    ys, xs = np.nonzero(red)
    return np.array([xs.min(), xs.max(), ys.min(), ys.max()], dtype=float)


def test_reference_frame_size_is_the_common_sample_size(sample_source):
    sizes = [Image.open(p).size for p in (sample_source / IMAGES_DIR).iterdir()]
    common = max(set(sizes), key=sizes.count)
    assert common == Image.open(REFERENCE).size == (800, 600)
    assert 0.5 < sizes.count(common) / len(sizes) < 0.9


def test_sample_lv_sits_where_the_real_one_does(sample_source):
    consensus = json.loads((sample_source / CONSENSUS_FILE).read_text())
    ed_frames = list(json.loads((sample_source / ANNOTATIONS_FILE).read_text()))[0::2]
    boxes = [
        [min(xs), max(xs), min(ys), max(ys)]
        for name, (xs, ys) in ((n, consensus[n]) for n in ed_frames)
        if Image.open(sample_source / IMAGES_DIR / name).size == (800, 600)
    ]
    mean_box = np.mean(boxes, axis=0)
    # Within 30 px per edge of the real ED frame's consensus: same place, same size. (The
    # annotations list each study's ED frame first; the sample has no broken records.)
    assert np.abs(mean_box - reference_curve_box()).max() < 30, mean_box


def test_sample_frames_are_as_dark_as_the_real_one(sample_source):
    real = np.asarray(Image.open(REFERENCE).convert("L"), dtype=float).mean()
    ours = [
        np.asarray(Image.open(p).convert("L"), dtype=float).mean()
        for p in sorted((sample_source / IMAGES_DIR).iterdir())[:20]
    ]
    assert 0.5 * real < np.mean(ours) < 2.0 * real
