"""Consensus, masks, agreement and measurements of the default sample, read back as a user would."""

import numpy as np
import pytest
import shapely
from pycocotools import mask as coco_mask

from pipeline.masks.raster import read_mask_png
from pipeline.release.catalog import open_catalog, run_read_only

pytestmark = pytest.mark.slow  # reads the release of the 100-study sample


@pytest.fixture(scope="module")
def catalog(sample_release):
    return open_catalog(sample_release / "data")


def rows(con, sql):
    return run_read_only(con, sql).fetchall()


def test_published_mean_reproduces_the_source_file(catalog):
    [(n, worst)] = rows(
        catalog,
        "SELECT count(*), max(published_file_max_deviation_px) FROM consensus "
        "WHERE method = 'published_mean'",
    )
    assert n == 200
    assert worst < 0.01


def test_every_image_has_every_consensus(catalog):
    counts = dict(rows(catalog, "SELECT method, count(*) FROM consensus GROUP BY method"))
    assert counts == {
        "published_mean": 200,
        "arclength_mean": 200,
        "arclength_mean_loo": 2200,
        "majority": 200,
        "staple": 200,
    }
    assert rows(catalog, "SELECT count(*) FROM consensus_notes") == [(0,)]


def test_mask_files_exist_with_their_checksums(catalog, sample_release):
    by_rater = dict(rows(catalog, "SELECT rater = 'consensus', count(*) FROM masks GROUP BY 1"))
    assert by_rater == {False: 2200, True: 800}
    paths = [p for (p,) in rows(catalog, "SELECT path FROM masks")]
    assert all((sample_release / "data" / p).is_file() for p in paths)


def test_expert_masks_agree_with_pycocotools_within_one_percent(catalog, sample_release):
    records = rows(
        catalog,
        "SELECT m.path, m.area_px, i.width, i.height, ST_AsWKB(c.geometry) FROM masks m "
        "JOIN contours c ON c.image_id = m.image_id AND c.expert_id = m.rater "
        "JOIN images i ON i.image_id = m.image_id",
    )
    assert len(records) == 2200
    worst = 0.0
    for path, area_px, width, height, wkb in records:
        mask = read_mask_png(sample_release / "data" / path)
        assert mask.shape == (height, width) and set(np.unique(mask)) <= {0, 1}
        assert int(mask.sum()) == area_px
        ring = shapely.get_coordinates(shapely.from_wkb(bytes(wkb)).exterior)[:-1]
        rle = coco_mask.merge(coco_mask.frPyObjects([ring.ravel().tolist()], height, width))
        worst = max(worst, abs(float(coco_mask.area(rle)) - area_px) / area_px)
    assert worst < 0.01


def test_leave_one_out_dice_is_lower_for_every_expert(catalog):
    per_expert = rows(
        catalog,
        "SELECT expert_id, avg(dice) FILTER (reference = 'arclength_mean') AS all_in, "
        "avg(dice) FILTER (reference = 'arclength_mean_loo') AS loo "
        "FROM agreement GROUP BY expert_id ORDER BY expert_id",
    )
    assert len(per_expert) == 11
    assert all(loo < all_in for _, all_in, loo in per_expert)


def test_agreement_tables_are_complete_and_in_range(catalog):
    assert rows(catalog, "SELECT count(*) FROM agreement") == [(2200 * 3,)]
    assert rows(catalog, "SELECT count(*) FROM pairwise_agreement") == [(200 * 55,)]
    [(lo, hi, hd)] = rows(
        catalog, "SELECT min(dice), max(dice), min(hausdorff_px) FROM pairwise_agreement"
    )
    assert 0.5 < lo <= hi < 1.0 and hd > 0


def test_expert_ranking_view(catalog):
    ranking = rows(
        catalog, "SELECT expert_id, rank, median_dice_loo FROM expert_ranking ORDER BY rank"
    )
    assert [r[1] for r in ranking] == list(range(1, 12))
    assert ranking[0][2] >= ranking[-1][2]


def test_measurements_and_ejection_fraction(catalog):
    assert rows(catalog, "SELECT count(*) FROM measurements") == [(200 * (11 + 4),)]
    [(ef_lo, ef_hi, n)] = rows(
        catalog,
        "SELECT min(ef_percent), max(ef_percent), count(*) FROM study_measurements "
        "WHERE rater = 'consensus' AND method = 'arclength_mean'",
    )
    assert n == 100 and 10 < ef_lo < ef_hi < 80
    assert rows(catalog, "SELECT count(*) FROM measurements WHERE volume_ml IS NOT NULL") == [(0,)]
    assert rows(
        catalog,
        "SELECT count(*) FROM study_measurements "
        "WHERE rater = 'consensus' AND ed_area_smaller_than_es",
    ) == [(0,)]


def test_staple_performance(catalog):
    [(n, lo, hi)] = rows(
        catalog, "SELECT count(*), min(sensitivity), max(specificity) FROM staple_performance"
    )
    assert n == 2200 and lo > 0.5 and hi <= 1.0
