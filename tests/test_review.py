"""The review's parts on hand-made inputs: overlay pixels, flags, the page and the plots."""

from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from pipeline.release.info import ReleaseInfo
from pipeline.review import flags as rules
from pipeline.review.data import ImageAgreement, ReviewData
from pipeline.review.flags import Flag, ReviewFlags
from pipeline.review.overlays import ExpertCurve, OverlayInput, write_overlay
from pipeline.review.page import review_page
from pipeline.review.plots import write_plots
from pipeline.source.licence import load_metadata
from pipeline.tables.table_files import TablesInMemory
from tests.cli import unitylv

# Okabe & Ito's orange, sky blue and bluish green; the consensus is white.
EXPECTED = {"E01": (230, 159, 0), "E02": (86, 180, 233), "E03": (0, 158, 115)}
WHITE, FRAME_GREY, MAGENTA = (255, 255, 255), (40, 40, 40), (255, 45, 111)
CENTRE = np.array([300.0, 380.0])


def arch(a: float, b: float, n: int = 200) -> np.ndarray:
    """An open LV-like curve: hinge (left), apex (top), hinge (right), half-axes a and b."""
    t = np.linspace(np.pi + 0.3, -0.3, n)
    return np.column_stack([CENTRE[0] + a * np.cos(t), CENTRE[1] - b * np.sin(t)])


def along(polyline: np.ndarray, step: float = 2.0) -> np.ndarray:
    """Points every `step` pixels along a polyline."""
    lengths = np.r_[0.0, np.cumsum(np.hypot(*np.diff(polyline, axis=0).T))]
    s = np.arange(0.0, lengths[-1], step)
    return np.column_stack([np.interp(s, lengths, polyline[:, i]) for i in (0, 1)])


def best_match(pixels: np.ndarray, point: np.ndarray, colour) -> np.ndarray:
    """Of the 3x3 pixels around `point`, the one nearest in colour to `colour`."""
    x, y = np.round(point).astype(int)
    patch = pixels[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).astype(float)
    return patch[np.argmin(np.linalg.norm(patch - colour, axis=1))]


def nearest_name(colour: np.ndarray, candidates: dict) -> str:
    return min(candidates, key=lambda n: np.linalg.norm(colour - np.array(candidates[n])))


@pytest.fixture(scope="module")
def overlay(tmp_path_factory):
    folder = tmp_path_factory.mktemp("overlay")
    frame = folder / "frame.png"
    Image.new("L", (600, 600), FRAME_GREY[0]).save(frame)
    experts = {"E01": arch(100, 170), "E02": arch(140, 220), "E03": arch(180, 270)}
    item = OverlayInput(
        image_id="frame",
        frame=frame,
        target=folder / "overlay.jpg",
        experts=tuple(
            ExpertCurve(e, c, ("low Dice",) if e == "E02" else ()) for e, c in experts.items()
        ),
        consensus=arch(60, 120),
        legend=(("E01", "#E69F00"), ("E02", "#56B4E9"), ("E03", "#009E73")),
        rejected=("E04",),
    )
    write_overlay(item)
    return item, np.asarray(Image.open(item.target).convert("RGB"))


def test_each_expert_colour_lies_along_its_curve(overlay):
    item, pixels = overlay
    candidates = {**EXPECTED, "consensus": WHITE, "frame": FRAME_GREY, "black": (0, 0, 0)}
    for expert in item.experts:
        samples = along(expert.curve)
        hits = [
            nearest_name(best_match(pixels, p, EXPECTED[expert.expert_id]), candidates)
            == expert.expert_id
            for p in samples
        ]
        assert np.mean(hits) > 0.95, expert.expert_id


def test_consensus_colour_lies_along_the_whole_cavity_boundary(overlay):
    item, pixels = overlay
    closed = np.vstack([item.consensus, item.consensus[:1]])  # the mitral plane included
    samples = along(closed)
    plane = samples[:, 1] > item.consensus[:, 1].max() - 1  # on the closing segment
    assert plane.sum() > 20
    close = [np.linalg.norm(best_match(pixels, p, WHITE) - WHITE) < 40 for p in samples]
    assert np.mean(close) > 0.97


def test_a_flagged_curve_has_a_halo_and_others_do_not(overlay):
    item, pixels = overlay
    for expert, flagged in (("E02", True), ("E03", False)):
        curve = next(e.curve for e in item.experts if e.expert_id == expert)
        samples = along(curve[20:-20], step=6.0)
        # 3 px from the curve along its normal: past a plain 2 px line (and the flagged curve's
        # 4 px), inside the flag's 10 px halo.
        tangent = np.gradient(samples, axis=0)
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
        normal /= np.linalg.norm(normal, axis=1)[:, None]
        near = samples + 3.0 * normal
        colours = pixels[np.round(near[:, 1]).astype(int), np.round(near[:, 0]).astype(int)]
        magenta = np.linalg.norm(colours - MAGENTA, axis=1) < np.linalg.norm(
            colours - FRAME_GREY, axis=1
        )
        assert (np.mean(magenta) > 0.8) if flagged else (np.mean(magenta) < 0.05), expert


def test_overlay_bytes_are_the_same_every_time_and_carry_no_metadata(overlay, tmp_path):
    item, _ = overlay
    again = OverlayInput(**{**item.__dict__, "target": tmp_path / "again.jpg"})
    write_overlay(again)
    assert again.target.read_bytes() == item.target.read_bytes()
    with Image.open(item.target) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
        assert image.size == (600 + 180, 600)  # the frame, then the legend strip


def tables_with_outliers() -> TablesInMemory:
    """One low-Dice curve, one self-crossing curve, one EF outlier, one swapped study."""
    s = pa.string()
    return TablesInMemory(
        {
            "agreement": pa.table(
                {
                    "image_id": ["a-1", "a-1", "a-2"],
                    "expert_id": ["E01", "E02", "E01"],
                    "reference": ["arclength_mean_loo", "arclength_mean_loo", "staple"],
                    "dice": [0.95, 0.62, 0.10],  # the staple row is not a LOO row
                }
            ),
            "contours": pa.table(
                {"image_id": ["a-1", "a-2"], "expert_id": ["E01", "E03"], "is_valid": [True, False]}
            ),
            "study_measurements": pa.table(
                {
                    "study_id": ["a", "a", "b"],
                    "rater": ["E02", "consensus", "consensus"],
                    "method": ["expert", "arclength_mean", "arclength_mean"],
                    "ef_percent": [80.0, 50.0, -10.0],
                    "ef_minus_consensus_pts": [30.0, None, None],
                    "ef_outlier": [True, False, False],
                    "ed_area_smaller_than_es": [False, False, True],
                }
            ),
            "rejects": pa.table(
                {
                    "record": ["a-1.png / USER1", "a-3.png"],
                    "check": ["too_few_points", "png_invalid"],
                    "severity": ["error", "error"],
                    "message": ["2 points", "broken"],
                },
                schema=pa.schema([(n, s) for n in ("record", "check", "severity", "message")]),
            ),
        }
    )


def test_flags_name_the_image_study_and_expert():
    flags = rules.review_flags(tables_with_outliers())
    assert [f.line() for f in flags.curves] == [
        "a-1 / E02: low Dice (Dice 0.620 against the leave-one-out consensus, below 0.85)",
        "a-2 / E03: self-intersecting (the curve crosses itself)",
        "a / E02: EF outlier (EF 80.0%, +30.0 points from the consensus EF)",
    ]
    assert [f.subject for f in flags.studies] == ["b"]
    assert [(f.subject, f.expert_id) for f in flags.rejected] == [("a-1", "USER1")]
    by_curve = flags.by_curve({"a": ["a-1", "a-2"]})
    assert by_curve[("a-1", "E02")] == ["low Dice", "EF outlier"]
    assert by_curve[("a-2", "E02")] == ["EF outlier"]


HOSTILE = "<script>alert('x')</script>"


def review_data() -> ReviewData:
    experts = ("E01", "E02")
    rng = np.random.default_rng(1)
    return ReviewData(
        experts=experts,
        colours={"E01": "#E69F00", "E02": "#56B4E9"},
        counts=[("images", 2, "1 ED, 1 ES")],
        images=[
            ImageAgreement("s-1", "s", "ES", 800, 600, {"E01": 0.8, "E02": 0.9}),
            ImageAgreement("s-0", "s", "ED", 800, 600, {"E01": 0.95, "E02": 0.97}),
        ],
        loo_dice={e: rng.uniform(0.8, 1.0, 10) for e in experts},
        loo_hd95={e: rng.uniform(2, 9, 10) for e in experts},
        pairwise_dice=np.array([[1.0, 0.9], [0.9, 1.0]]),
        ef_expert={e: rng.uniform(40, 60, 10) for e in experts},
        ef_consensus={e: rng.uniform(40, 60, 10) for e in experts},
        study_ids=["s", "t"],
        ed_area=np.array([30000.0, 20000.0]),
        es_area=np.array([20000.0, 25000.0]),
        n_points={e: rng.integers(180, 220, 10).astype(float) for e in experts},
        lateral_first={"E01": 9, "E02": 1},
        curves={"E01": 10, "E02": 10},
        flags=ReviewFlags(
            curves=(Flag("low Dice", "s-1", "E01", "Dice 0.800"),),
            studies=(),
            rejected=(Flag("rejected", "s-1", "U" * 28, f"too_few_points: {HOSTILE}"),),
        ),
        rejects=[
            {
                "severity": "error",
                "check": "too_few_points",
                "source_file": "annotations.json",
                "record": f"s-1.png / {HOSTILE}",
                "message": HOSTILE,
            }
        ],
        n_rejects=1,
    )


def test_page_escapes_text_from_the_data_and_links_only_inside_the_release():
    data = review_data()
    html = review_page(data, ReleaseInfo("1.2.3", "2024-01-01", load_metadata()), [], {"s-1"})
    assert HOSTILE not in html and "&lt;script&gt;alert(" in html
    assert html.count("<figure data-phase=") == 2
    assert html.index("overlays/s-1.jpg") < html.index("overlays/s-0.jpg")  # worst first
    for attribute in ("src=", "href="):
        targets = [part.split()[0] for part in html.split(attribute)[1:]]
        assert all(
            t.strip("'\"").split("/")[0] in ("overlays", "plots", "#counts", "..")
            or t.strip("'\"").startswith("#")
            for t in targets
        ), targets
    assert "http" not in html.split("<body>")[0]  # no stylesheet, font or script from a host


def test_plots_are_the_same_bytes_every_time_and_state_bias_and_limits(tmp_path):
    data = review_data()
    first = write_plots(data, tmp_path / "a")
    write_plots(data, tmp_path / "b")
    assert [p.path for p in first] == [
        "plots/dice_heatmap.svg",
        "plots/loo_agreement.svg",
        "plots/ef_bland_altman.svg",
        "plots/consensus_area_ed_es.svg",
        "plots/tracing.svg",
    ]
    for plot in first:
        svg = (tmp_path / "a" / plot.path).read_bytes()
        assert svg == (tmp_path / "b" / plot.path).read_bytes()
        root = ElementTree.fromstring(svg)  # well-formed, with a size the page can lay out
        assert float(root.get("width")) > 300 and float(root.get("height")) > 200
        assert b"http://" not in svg.replace(b'xmlns="http://www.w3.org/2000/svg"', b"")
    bland_altman = (tmp_path / "a" / "plots/ef_bland_altman.svg").read_text()
    for expert in data.experts:
        difference = data.ef_expert[expert] - data.ef_consensus[expert]
        bias, sd = difference.mean(), difference.std(ddof=1)
        low, high = bias - 1.96 * sd, bias + 1.96 * sd
        written = f"bias {bias:+.1f}</text>", f"LoA {low:+.1f} to {high:+.1f}</text>"
        for text in written:
            assert text.replace("-", "−") in bland_altman, (expert, text)


def test_review_refuses_a_folder_without_a_review_page(tmp_path):
    run = unitylv("review", str(tmp_path), cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "no review page (qa/index.html)" in lines[0], run.stderr
    assert str(tmp_path) in lines[0]


def test_review_prints_the_page_of_a_release_folder(tmp_path):
    page = tmp_path / "release" / "data" / "qa" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text("<!DOCTYPE html><title>x</title>")
    run = unitylv("review", str(tmp_path / "release"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip()) == page
