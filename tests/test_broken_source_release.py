"""A source with irregular experts and one broken record of every kind, run end to end."""

import json

import pytest

from assets.runner import check_warnings, run_job
from pipeline.buckets.layout import read_counts
from pipeline.release.catalog import open_catalog, run_read_only
from pipeline.synth import SynthOptions, synthesize
from tests import corrupt
from tests.conftest import read_annotations

pytestmark = pytest.mark.slow  # cuts a release of a broken source


def scalar(con, sql):
    return run_read_only(con, sql).fetchone()[0]


def shrunk(curve: list, factor: float = 0.6) -> list:
    """A curve scaled towards its centroid: a valid curve that agrees badly with the others."""
    xs, ys = curve
    cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
    return [[cx + factor * (x - cx) for x in xs], [cy + factor * (y - cy) for y in ys]]


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """(run result, base folder, expected rejects, source, the shrunk curve's record)."""
    base = tmp_path_factory.mktemp("broken")
    source = base / "source"
    synthesize(
        source,
        SynthOptions(studies=8, seed=5, missing_expert_fraction=0.3, unequal_count_fraction=0.3),
    )
    names = list(read_annotations(source))
    expected = {}  # record -> check
    for expert, (edit, check) in enumerate(
        [
            (lambda c: [c[0][:-1], c[1]], "curve_length_mismatch"),
            (lambda c: [c[0][:2], c[1][:2]], "too_few_points"),
            (lambda c: [["x", *c[0][1:]], c[1]], "non_numeric_coordinate"),
            (lambda c: [[*c[0][:3], float("nan"), *c[0][4:]], c[1]], "non_finite_coordinate"),
            (lambda c: [[*c[0][:3], -900.0, *c[0][4:]], c[1]], "point_outside_image"),
        ]
    ):
        expected[corrupt.edit_curve(source, edit, image=0, expert=expert)] = check
    corrupt.image_path(source, names[2]).unlink()
    expected[names[2]] = "image_missing"
    expected[names[3]] = "study_image_count"
    corrupt.image_path(source, names[4]).write_bytes(b"\x89PNG\r\n\x1a\n broken")
    expected[names[4]] = "png_invalid"
    expected[names[5]] = "study_image_count"
    extra = names[6][:-8] + "0999.png"
    corrupt.copy_image_as(source, names[6], extra)
    corrupt.add_image_record(source, extra, read_annotations(source)[names[6]])
    for name in (names[6], names[7], extra):
        expected[name] = "study_image_count"
    corrupt.add_image_record(source, "../escape.png", {"u": [[1, 2, 3], [1, 2, 3]]})
    expected["../escape.png"] = "unsafe_image_name"
    outlier = corrupt.edit_curve(source, shrunk, image=13, expert=2)  # accepted, but an outlier
    corrupt.duplicate_image_key(source, image=8)  # last: rewriting the JSON would drop it
    unannotated = names[10][:-8] + "0998.png"
    corrupt.copy_image_as(source, names[10], unannotated)
    expected[unannotated] = "image_unannotated"
    result = run_job(
        "release", source, base / "releases", base / "work", version="0.1.0", progress=False
    )
    assert result.success
    return result, base, expected, source, outlier


@pytest.fixture(scope="module")
def broken(broken_run):
    _, base, expected, source, _ = broken_run
    validated = read_counts(base / "work")
    return open_catalog(base / "releases/unitylv-multix/0.1.0/data"), validated, expected, source


def test_every_broken_record_is_rejected_with_its_reason(broken):
    catalog, _, expected, _ = broken
    rejects = dict(
        run_read_only(
            catalog,
            "SELECT record, \"check\" FROM rejects WHERE severity = 'error' "
            "AND \"check\" != 'duplicate_image'",
        ).fetchall()
    )
    assert rejects == expected
    assert scalar(catalog, "SELECT count(*) FROM rejects WHERE \"check\" = 'duplicate_image'") == 1


def test_every_good_record_is_in_the_tables_and_counts_add_up(broken):
    catalog, validated, _, source = broken
    images, curves = validated.images, validated.curves
    assert images.accepted + images.rejected == images.total
    assert curves.accepted + curves.rejected == curves.total
    assert scalar(catalog, "SELECT count(*) FROM images") == images.accepted == 16 - 6
    assert scalar(catalog, "SELECT count(*) FROM contours") == curves.accepted
    annotations = json.loads((source / "UnityLV_multiX_annotations.json").read_text())
    names = list(annotations)
    good = [n for n in names[8:16]]
    n_good_curves = sum(len(annotations[n]) for n in good) + len(annotations[names[0]]) - 5
    n_good_curves += len(annotations[names[1]])
    assert curves.accepted == n_good_curves
    experts = {len(annotations[n]) for n in good}
    assert experts & {9, 10}, "the source should have images with 9 or 10 experts"


def test_derived_tables_cover_irregular_images(broken):
    catalog, _, _, _ = broken
    n_images = scalar(catalog, "SELECT count(*) FROM images")
    assert (
        scalar(
            catalog,
            "SELECT count(DISTINCT image_id) FROM consensus WHERE method = 'arclength_mean'",
        )
        == n_images
    )
    missing_published = scalar(
        catalog, "SELECT count(*) FROM consensus_notes WHERE method = 'published_mean'"
    )
    with_published = scalar(
        catalog, "SELECT count(*) FROM consensus WHERE method = 'published_mean'"
    )
    assert missing_published > 0 and with_published + missing_published == n_images


def test_review_names_the_outlier_and_the_quarantined_curves(broken_run, broken):
    result, base, expected, _, outlier = broken_run
    catalog = broken[0]
    image_name, user_id = outlier.split(" / ")
    image_id = image_name.removesuffix(".png")
    expert_id = scalar(catalog, f"SELECT expert_id FROM experts WHERE user_id = '{user_id}'")
    warnings = check_warnings(result)
    low = [w for w in warnings if w.startswith("check expert_agreement_outliers on agreement")]
    assert len(low) == 1 and f"{image_id} / {expert_id}: low Dice" in low[0], warnings
    ef = [w for w in warnings if w.startswith("check ef_outliers")]
    assert len(ef) == 1 and f"{image_id.rsplit('-', 1)[0]} / {expert_id}: EF outlier" in ef[0]

    metadata = result.asset_materializations_for_node("release_bag")[0].metadata
    digest = metadata["review"].value
    worst = digest.split("**Worst agreement**")[1].split("\n| `")[1]
    assert worst.startswith(f"{image_id}`") and f"{expert_id} (0." in worst
    assert "data:image/svg+xml;base64," in digest
    data = base / "releases/unitylv-multix/0.1.0/data"
    assert metadata["review_page"].value == str(data / "qa/index.html")
    n_images = scalar(catalog, "SELECT count(*) FROM images")
    assert metadata["overlays"].value == n_images == len(list((data / "qa/overlays").iterdir()))

    page = (data / "qa/index.html").read_text()
    rejected_users = [r.split(" / ")[1] for r, c in expected.items() if " / " in r]
    assert len(rejected_users) == 5
    for user in rejected_users:  # the flags table names each quarantined curve's userId
        assert f"<td>{user}</td>" in page
    first_card = page.split("<figure data-phase=")[1]
    assert f"overlays/{image_id}.jpg" in first_card and "flagged" in first_card
