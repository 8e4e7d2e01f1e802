"""LV measurements per image and rater, and volumes and ejection fraction per study."""

from __future__ import annotations

import math

import shapely

from pipeline.consensus.stage import ImageConsensus
from pipeline.geometry import cavity
from pipeline.masks.files import CONSENSUS_RATER, EXPERT
from pipeline.measurements.lv import ejection_fraction, measure_curve
from pipeline.names import CURVE_METHODS, DEFAULT_METHOD, MASK_METHODS

EF_OUTLIER_POINTS = 15.0


def _curve_row(curve) -> dict:
    return measure_curve(curve)._asdict()


def image_measurements(result: ImageConsensus) -> list[dict]:
    """Rows of `measurements` for every expert and consensus of one image (pixel units)."""
    image = result.image
    base = {"image_id": image.image_id, "study_id": image.study_id, "phase": image.phase}
    rows = [
        base | {"rater": e, "method": EXPERT} | _curve_row(c)
        for e, c in zip(image.expert_ids, image.curves, strict=True)
    ]
    rows += [
        base | {"rater": CONSENSUS_RATER, "method": m} | _curve_row(result.curves[m])
        for m in CURVE_METHODS
        if m in result.curves
    ]
    # A mask does not mark the mitral plane, so no long axis and no discs for mask methods.
    rows += [
        base
        | {"rater": CONSENSUS_RATER, "method": m, "long_axis_px": None, "volume_px3": None}
        | {"area_px": float(shapely.area(cavity(result.outlines[m])))}
        for m in MASK_METHODS
        if m in result.outlines
    ]
    return rows


def calibrate(rows: list[dict], mm_per_pixel: dict[str, float]) -> list[dict]:
    """Add mm_per_pixel, area_mm2, long_axis_mm and volume_ml (null where not calibrated)."""
    out = []
    for row in rows:
        mm = mm_per_pixel.get(row["image_id"])
        out.append(
            row
            | {
                "mm_per_pixel": mm,
                "area_mm2": _scaled(row["area_px"], mm, 2),
                "long_axis_mm": _scaled(row["long_axis_px"], mm, 1),
                "volume_ml": _scaled(row["volume_px3"], mm, 3, 1e-3),
            }
        )
    return out


def _scaled(value, mm, power: int, factor: float = 1.0):
    return None if value is None or mm is None else value * mm**power * factor


def study_measurements(rows: list[dict]) -> list[dict]:
    """EDV, ESV, stroke volume and EF per study and rater, with the suspicious-study flags."""
    by_key: dict[tuple[str, str, str], dict[str, dict]] = {}
    for row in rows:
        by_key.setdefault((row["study_id"], row["rater"], row["method"]), {})[row["phase"]] = row
    studies = []
    for (study_id, rater, method), phases in sorted(by_key.items()):
        if set(phases) != {"ED", "ES"}:
            continue
        ed, es = phases["ED"], phases["ES"]
        studies.append(
            {"study_id": study_id, "rater": rater, "method": method}
            | _volumes(ed, es)
            | {"ed_area_smaller_than_es": ed["area_px"] < es["area_px"]}
        )
    return _with_ef_deviation(studies)


def _volumes(ed: dict, es: dict) -> dict:
    edv, esv = ed["volume_px3"], es["volume_px3"]
    ml = (ed.get("volume_ml"), es.get("volume_ml"))
    ef = None if edv is None or esv is None else ejection_fraction(edv, esv)
    return {
        "edv_px3": edv,
        "esv_px3": esv,
        "stroke_volume_px3": None if ef is None else edv - esv,
        "ef_percent": None if ef is None or math.isnan(ef) else ef,
        "edv_ml": ml[0],
        "esv_ml": ml[1],
        "stroke_volume_ml": None if None in ml else ml[0] - ml[1],
    }


def _with_ef_deviation(studies: list[dict]) -> list[dict]:
    consensus_ef = {
        s["study_id"]: s["ef_percent"]
        for s in studies
        if s["rater"] == CONSENSUS_RATER and s["method"] == DEFAULT_METHOD
    }
    for s in studies:
        reference = consensus_ef.get(s["study_id"])
        deviation = None
        if s["rater"] != CONSENSUS_RATER and reference is not None and s["ef_percent"] is not None:
            deviation = s["ef_percent"] - reference
        s["ef_minus_consensus_pts"] = deviation
        s["ef_outlier"] = deviation is not None and abs(deviation) > EF_OUTLIER_POINTS
    return studies
