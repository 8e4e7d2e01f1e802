"""The per-image stages on sources with irregular data, and their known answers."""

import math

import numpy as np
import pytest

from pipeline.agreement.metrics import (
    QUERY_SPACING_PX,
    SampledBoundary,
    boundary_distances,
    sampled_boundary_distances,
)
from pipeline.agreement.stage import image_agreement
from pipeline.consensus.image_curves import image_curves
from pipeline.consensus.stage import image_consensus
from pipeline.errors import SourceError
from pipeline.masks.outline import mask_outline
from pipeline.measurements.calibration import read_calibration
from pipeline.measurements.stage import calibrate, study_measurements
from pipeline.names import Method
from pipeline.source.validation import validate_source
from pipeline.synth import SynthOptions, synthesize
from pipeline.tables import source_tables as tables


@pytest.fixture(scope="module")
def irregular(tmp_path_factory):
    """Some images with 9 or 10 experts, some with unequal point counts."""
    out = tmp_path_factory.mktemp("irregular") / "source"
    synthesize(
        out,
        SynthOptions(studies=6, seed=11, missing_expert_fraction=0.4, unequal_count_fraction=0.4),
    )
    validated = validate_source(out)
    per_image = image_curves(tables.points_table(validated), tables.images_table(validated))
    return validated, per_image


def test_unequal_counts_give_no_published_mean_and_say_why(irregular):
    validated, per_image = irregular
    results = [image_consensus(i, validated.consensus.get(i.image_id)) for i in per_image]
    unequal = [r for r in results if len({len(c) for c in r.image.curves}) > 1]
    equal = [r for r in results if len({len(c) for c in r.image.curves}) == 1]
    assert unequal and equal
    for r in unequal:
        assert Method.PUBLISHED_MEAN not in r.curves
        assert any(
            m == Method.PUBLISHED_MEAN and "point counts differ" in msg for m, _, msg in r.notes
        )
        assert "arclength_mean" in r.curves and len(r.leave_one_out) == len(r.image.curves)
    for r in equal:
        assert r.published_file_deviation_px < 0.01
    assert {9, 10} & {len(i.curves) for i in per_image}, "some images should lack an expert"


def test_agreement_rows_per_image(irregular):
    _, per_image = irregular
    image = per_image[0]
    agreement, pairwise = image_agreement(image_consensus(image))
    k = len(image.curves)
    assert len(agreement) == 3 * k
    assert len(pairwise) == k * (k - 1) // 2
    assert all(0 <= r["dice"] <= 1 and r["iou"] <= r["dice"] for r in agreement + pairwise)


@pytest.mark.parametrize("angle", [0, 37, 90, 200, 315])
def test_sampled_distances_of_a_shifted_contour(angle):
    t = np.linspace(np.pi, 2 * np.pi, 180)
    curve = np.c_[400 + 70 * np.cos(t), 380 + 260 * np.sin(t)]
    shift = 10 * np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
    result = sampled_boundary_distances(SampledBoundary(curve), SampledBoundary(curve + shift))
    assert result.hausdorff == pytest.approx(10, abs=1e-9)
    # The R-tree search over the same samples finds the same nearest segments.
    exact = boundary_distances(curve, curve + shift, spacing_px=QUERY_SPACING_PX)
    np.testing.assert_allclose(result, exact, rtol=0, atol=1e-9)


def test_mask_outline_of_a_square():
    mask = np.zeros((50, 60), dtype=np.uint8)
    mask[10:30, 20:45] = 1
    ring = mask_outline(mask, np.array([100.0, 200.0]))
    xs, ys = ring[:, 0], ring[:, 1]
    # The ring passes halfway between inside and outside pixel centres.
    assert xs.min() == pytest.approx(100 + 20) and xs.max() == pytest.approx(100 + 45)
    assert ys.min() == pytest.approx(200 + 10) and ys.max() == pytest.approx(200 + 30)


def test_calibration_gives_mm_and_ml(tmp_path):
    csv = tmp_path / "spacing.csv"
    csv.write_text("image_id,mm_per_pixel\na,0.5\nb.png,0.5\n")
    spacing = read_calibration(csv)
    assert spacing == {"a": 0.5, "b": 0.5}
    rows = [
        {
            "image_id": "a",
            "study_id": "s",
            "phase": "ED",
            "rater": "E01",
            "method": "expert",
            "area_px": 400.0,
            "long_axis_px": 40.0,
            "volume_px3": 8000.0,
        },
        {
            "image_id": "b",
            "study_id": "s",
            "phase": "ES",
            "rater": "E01",
            "method": "expert",
            "area_px": 200.0,
            "long_axis_px": 30.0,
            "volume_px3": 4000.0,
        },
    ]
    calibrated = calibrate(rows, spacing)
    assert calibrated[0]["area_mm2"] == 100.0 and calibrated[0]["volume_ml"] == 1.0
    [study] = study_measurements(calibrated)
    assert study["ef_percent"] == 50.0 and study["stroke_volume_ml"] == 0.5
    assert calibrate(rows, {})[0]["volume_ml"] is None


@pytest.mark.parametrize(
    "text",
    [
        "image_id,mm\na,1\n",
        "image_id,mm_per_pixel\na,-1\n",
        "image_id,mm_per_pixel\na,x\n",
        "image_id,mm_per_pixel\na,1\na,1\n",
    ],
)
def test_bad_calibration_names_file_and_line(tmp_path, text):
    csv = tmp_path / "spacing.csv"
    csv.write_text(text)
    with pytest.raises(SourceError) as info:
        read_calibration(csv)
    assert "spacing.csv" in info.value.one_line()


def test_ef_outliers_and_suspicious_studies():
    def row(rater, method, phase, area, volume):
        return {
            "image_id": f"{rater}{phase}",
            "study_id": "s",
            "phase": phase,
            "rater": rater,
            "method": method,
            "area_px": area,
            "long_axis_px": 1.0,
            "volume_px3": volume,
        }

    rows = [
        row("consensus", "arclength_mean", "ED", 100.0, 100.0),
        row("consensus", "arclength_mean", "ES", 60.0, 40.0),  # EF 60
        row("E01", "expert", "ED", 100.0, 100.0),
        row("E01", "expert", "ES", 60.0, 50.0),  # EF 50: 10 points off
        row("E02", "expert", "ED", 50.0, 100.0),
        row("E02", "expert", "ES", 60.0, 70.0),  # EF 30: outlier; ED area < ES area
    ]
    by_rater = {s["rater"]: s for s in study_measurements(rows)}
    assert by_rater["E01"]["ef_minus_consensus_pts"] == pytest.approx(-10)
    assert not by_rater["E01"]["ef_outlier"]
    assert by_rater["E02"]["ef_outlier"] and by_rater["E02"]["ed_area_smaller_than_es"]
    assert by_rater["consensus"]["ef_minus_consensus_pts"] is None
    assert by_rater["consensus"]["edv_ml"] is None
