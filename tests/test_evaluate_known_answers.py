"""Known answers on the default sample: an expert's own masks score like an expert, a
consensus better than the experts, an expert's masks shrunk by a few pixels worse.

Twenty-four images keep it affordable (each evaluation scores 24 x 15 references); the
intervals there are already far narrower than the effects asserted.
"""

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from scipy import ndimage
from skimage.morphology import disk

from pipeline.evaluate.names import Kind
from pipeline.evaluate.run import evaluate_submission
from pipeline.evaluate.williams import williams_index
from pipeline.release.catalog import open_catalog, run_read_only

pytestmark = pytest.mark.slow
N_IMAGES = 24
EROSION_PX = 6


def least_biased_expert(sample_release: Path) -> str:
    """The expert whose masks are, on average, closest in area to the arclength_mean consensus
    (an expert who draws large would only be corrected by shrinking)."""
    con = open_catalog(sample_release / "data")
    sql = (
        "SELECT e.rater FROM masks e JOIN masks c ON c.image_id = e.image_id "
        "AND c.method = 'arclength_mean' WHERE e.method = 'expert' "
        "GROUP BY e.rater ORDER BY abs(avg(e.area_px / c.area_px) - 1), e.rater LIMIT 1"
    )
    return run_read_only(con, sql).fetchone()[0]


@pytest.fixture(scope="module")
def known_answers(sample_release, tmp_path_factory) -> dict:
    """Evaluations of three submissions on the first images: submission -> summary by metric."""
    base = tmp_path_factory.mktemp("known_answers")
    images = pq.read_table(sample_release / "data/tables/images.parquet", columns=["image_id"])
    chosen = sorted(images["image_id"].to_pylist())[:N_IMAGES]
    (base / "images.txt").write_text("\n".join(chosen) + "\n")
    shrunk = least_biased_expert(sample_release)
    submissions = {
        "expert-copy": ("E01", 0),
        "staple": ("staple", 0),
        "eroded": (shrunk, EROSION_PX),
    }
    summaries = {}
    for name, (folder, erosion) in submissions.items():
        target = base / "predictions" / name
        target.mkdir(parents=True)
        for image_id in chosen:
            mask = np.asarray(Image.open(sample_release / f"data/masks/{folder}/{image_id}.png"))
            if erosion:
                mask = ndimage.binary_erosion(mask, structure=disk(erosion)).astype(np.uint8)
            Image.fromarray(mask * 255).save(target / f"{image_id}.png")
        outcome = evaluate_submission(
            sample_release, target, name, base / "evaluations", base / "images.txt"
        )
        summaries[name] = {row["metric"]: row for row in outcome.summary}
    summaries["paths"] = base / "evaluations"
    return summaries


def test_an_experts_own_masks_score_like_an_expert(known_answers):
    for metric in ("dice", "iou"):
        row = known_answers["expert-copy"][metric]
        assert row["images"] == N_IMAGES and row["images_predicted"] == N_IMAGES
        assert abs(row["williams_index"] - 1.0) < 0.01
        assert row["expert_williams_min"] < row["williams_index"] < row["expert_williams_max"]


def test_the_staple_consensus_agrees_better_than_the_experts(known_answers):
    for metric in ("dice", "iou", "mean_contour_distance_px", "hd95_px"):
        row = known_answers["staple"][metric]
        assert row["williams_index"] > 1.0 and row["williams_ci_low"] > 1.0, metric
        assert row["rank_among_experts"] == 1 and row["percentile"] == 100.0, metric


def test_an_experts_masks_eroded_by_a_few_pixels_score_clearly_below_one(known_answers):
    for metric in ("dice", "iou", "mean_contour_distance_px"):
        row = known_answers["eroded"][metric]
        assert row["williams_ci_high"] < 1.0, metric
        # Below every expert scored the same way: last of the twelve.
        assert row["williams_index"] < row["expert_williams_min"], metric
        assert row["rank_among_experts"] == 12 and row["percentile"] == 0.0, metric


def test_the_jackknife_interval_shrinks_as_images_are_added(known_answers, sample_release):
    evaluation = pq.read_table(known_answers["paths"] / "staple/evaluation.parquet").to_pylist()
    experts = sorted({r["reference"] for r in evaluation if r["reference_kind"] == "expert"})
    images = sorted({r["image_id"] for r in evaluation})
    model = np.full((len(images), len(experts)), np.nan)
    for r in evaluation:
        if r["reference_kind"] == "expert":
            model[images.index(r["image_id"]), experts.index(r["reference"])] = r["dice"]
    pairs_table = pq.read_table(sample_release / "data/tables/pairwise_agreement.parquet")
    pair_names = [(a, b) for i, a in enumerate(experts) for b in experts[i + 1 :]]
    pairs = np.full((len(images), len(pair_names)), np.nan)
    for r in pairs_table.select(["image_id", "expert_a", "expert_b", "dice"]).to_pylist():
        if r["image_id"] in images:
            pairs[images.index(r["image_id"]), pair_names.index((r["expert_a"], r["expert_b"]))] = (
                r["dice"]
            )
    widths = []
    for n in (6, 12, N_IMAGES):
        result = williams_index(model[:n], pairs[:n], Kind.SIMILARITY)
        widths.append(result.ci_high - result.ci_low)
    assert widths[0] > widths[1] > widths[2] > 0
    # The whole set reproduces the evaluation's own figure.
    full = williams_index(model, pairs, Kind.SIMILARITY)
    assert full.index == pytest.approx(known_answers["staple"]["dice"]["williams_index"], rel=1e-12)
