"""Every record-level check, each with a record that fails it; counts always add up."""

import math
import os
from pathlib import Path

import pytest

from pipeline.source.validation import ValidatedSource, validate_source
from tests import corrupt
from tests.conftest import read_annotations


def validated(source: Path) -> ValidatedSource:
    result = validate_source(source)
    for counts in (result.image_counts, result.curve_counts):
        assert counts.accepted + counts.rejected == counts.total
    assert result.image_counts.accepted == len(result.images)
    assert result.curve_counts.accepted == len(result.curves)
    return result


def reject_of(result: ValidatedSource, record: str) -> tuple[str, str]:
    found = [(r.check, r.severity) for r in result.rejects if r.record == record]
    assert found, f"{record} not in rejects: {[r.record for r in result.rejects]}"
    return found[0]


def test_clean_source_has_no_rejects(small_source):
    result = validated(small_source)
    assert result.rejects == []
    assert result.image_counts.total == 12
    assert result.curve_counts.total == 12 * 11
    assert [i.phase for i in result.images[:2]] == ["ED", "ES"]


@pytest.mark.parametrize(
    ("edit", "check"),
    [
        (lambda c: [c[0][:-1], c[1]], "curve_length_mismatch"),
        (lambda c: [c[0][:2], c[1][:2]], "too_few_points"),
        (lambda c: [[*c[0][:5], "12.5", *c[0][6:]], c[1]], "non_numeric_coordinate"),
        (lambda c: [[*c[0][:5], True, *c[0][6:]], c[1]], "non_numeric_coordinate"),
        (lambda c: [[*c[0][:5], math.inf, *c[0][6:]], c[1]], "non_finite_coordinate"),
        (lambda c: [[*c[0][:5], 5000.0, *c[0][6:]], c[1]], "point_outside_image"),
        (lambda c: {"x": c[0], "y": c[1]}, "curve_shape"),
        (lambda c: [c[0]], "curve_shape"),
    ],
)
def test_broken_curve_is_quarantined_alone(source_copy, edit, check):
    record = corrupt.edit_curve(source_copy, edit)
    result = validated(source_copy)
    assert reject_of(result, record) == (check, "error")
    assert result.curve_counts.rejected == 1
    assert result.image_counts.rejected == 0
    assert len(result.curves) == 12 * 11 - 1


def test_self_intersecting_curve_is_kept_and_flagged(source_copy):
    def bow_tie(curve):
        xs, ys = curve
        n = len(xs)
        i, j = n // 5, 4 * n // 5
        xs[i], xs[j], ys[i], ys[j] = xs[j], xs[i], ys[j], ys[i]
        return [xs, ys]

    record = corrupt.edit_curve(source_copy, bow_tie)
    result = validated(source_copy)
    assert reject_of(result, record) == ("self_intersecting", "warning")
    assert result.curve_counts.rejected == 0


def test_same_image_named_twice(source_copy):
    name = corrupt.duplicate_image_key(source_copy)
    result = validated(source_copy)
    assert reject_of(result, name) == ("duplicate_image", "error")
    assert result.image_counts.total == 13
    assert len(result.images) == 12  # the first occurrence is kept


def test_missing_image_rejects_it_and_its_study(source_copy):
    names = list(read_annotations(source_copy))
    corrupt.image_path(source_copy, names[0]).unlink()
    result = validated(source_copy)
    assert reject_of(result, names[0]) == ("image_missing", "error")
    assert reject_of(result, names[1]) == ("study_image_count", "error")
    assert result.curve_counts.rejected == 22
    assert len(result.images) == 10


def test_unannotated_image(source_copy):
    names = list(read_annotations(source_copy))
    extra = names[0].replace(names[0][-8:-4], "9999")
    corrupt.copy_image_as(source_copy, names[0], extra)
    result = validated(source_copy)
    assert reject_of(result, extra) == ("image_unannotated", "error")
    assert result.image_counts.total == 13


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "decode"),
        (lambda p: p.write_text("not an image at all"), "not a PNG"),
        (corrupt.write_big_png, "decompression bomb"),
    ],
)
def test_bad_png_is_quarantined(source_copy, damage, expected):
    names = list(read_annotations(source_copy))
    damage(corrupt.image_path(source_copy, names[2]))
    result = validated(source_copy)
    assert reject_of(result, names[2]) == ("png_invalid", "error")
    assert expected in next(r.message for r in result.rejects if r.record == names[2])
    assert reject_of(result, names[3]) == ("study_image_count", "error")


def test_study_with_three_images(source_copy):
    annotations = read_annotations(source_copy)
    names = list(annotations)
    third = names[0][:-8] + "0999.png"
    corrupt.copy_image_as(source_copy, names[0], third)
    corrupt.add_image_record(source_copy, third, annotations[names[0]])
    result = validated(source_copy)
    for name in (names[0], names[1], third):
        assert reject_of(result, name) == ("study_image_count", "error")


@pytest.mark.parametrize(
    ("key", "check"),
    [
        ("../../outside.png", "unsafe_image_name"),
        ("/etc/passwd.png", "unsafe_image_name"),
        ("Images/../x.png", "unsafe_image_name"),
        ("not-a-published-name.png", "image_name_pattern"),
    ],
)
def test_hostile_or_wrong_image_names(source_copy, key, check):
    first = next(iter(read_annotations(source_copy).values()))
    corrupt.add_image_record(source_copy, key, first)
    result = validated(source_copy)
    assert reject_of(result, key) == (check, "error")
    assert result.curve_counts.rejected == 11


def test_symlink_out_of_source_is_refused(source_copy, tmp_path):
    names = list(read_annotations(source_copy))
    outside = tmp_path / "outside.png"
    corrupt.image_path(source_copy, names[4]).rename(outside)
    os.symlink(outside, corrupt.image_path(source_copy, names[4]))
    result = validated(source_copy)
    assert reject_of(result, names[4])[1] == "error"
    assert any(r.check == "unsafe_image_file" for r in result.rejects)


def test_image_record_not_an_object(source_copy):
    names = list(read_annotations(source_copy))
    corrupt.add_image_record(source_copy, names[0], [[1, 2, 3], [4, 5, 6]])  # replaces it
    result = validated(source_copy)
    assert reject_of(result, names[0]) == ("image_record_shape", "error")
