"""The review in a few numbers: one row per expert, the worst images, and a markdown digest.

The page shows the same rows as the digest (for Dagster's asset metadata), so both say the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.review.data import ImageAgreement, ReviewData

WORST_SHOWN = 10


@dataclass(frozen=True)
class ExpertSummary:
    """One expert's agreement with the leave-one-out consensus, EF bias and tracing habits."""

    expert_id: str
    colour: str
    curves: int
    median_dice: float | None
    median_hd95_px: float | None
    ef_bias_pts: float | None  # mean of expert EF minus consensus EF
    lateral_first: int
    flags: int


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None


def expert_summaries(data: ReviewData) -> list[ExpertSummary]:
    """One row per expert, in expert_id order."""
    flags: dict[str, int] = {}
    for flag in data.flags.curves:
        flags[flag.expert_id] = flags.get(flag.expert_id, 0) + 1
    rows = []
    for expert in data.experts:
        differences = data.ef_expert[expert] - data.ef_consensus[expert]
        rows.append(
            ExpertSummary(
                expert_id=expert,
                colour=data.colours[expert],
                curves=data.curves[expert],
                median_dice=_median(data.loo_dice[expert]),
                median_hd95_px=_median(data.loo_hd95[expert]),
                ef_bias_pts=float(differences.mean()) if differences.size else None,
                lateral_first=data.lateral_first[expert],
                flags=flags.get(expert, 0),
            )
        )
    return rows


def worst_images(data: ReviewData, n: int = WORST_SHOWN) -> list[ImageAgreement]:
    """The `n` images with the lowest mean Dice against the leave-one-out consensus."""
    return [image for image in data.images if image.mean_dice is not None][:n]


def lowest_expert(image: ImageAgreement) -> tuple[str, float] | None:
    """The expert with the lowest Dice on an image, and that Dice."""
    if not image.dice:
        return None
    expert = min(image.dice, key=lambda e: (image.dice[e], e))
    return expert, image.dice[expert]


def _number(value: float | None, digits: int, sign: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def review_markdown(data: ReviewData, page: str, plots_dir: str) -> str:
    """A digest of the review for Dagster: counts, experts, worst images, where the page is."""
    lines = ["| what | count | of which |", "|---|---|---|"]
    lines += [f"| {what} | {n} | {parts} |" for what, n, parts in data.counts]
    lines += [
        f"| flags | {len(data.flags.all)} | {len(data.flags.curves)} curves, "
        f"{len(data.flags.studies)} studies, {len(data.flags.rejected)} rejected curves |",
        "",
        "| expert | curves | median Dice vs LOO | median HD95 vs LOO, px | EF bias, points "
        "| flags |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.expert_id} | {row.curves} | {_number(row.median_dice, 3)} | "
        f"{_number(row.median_hd95_px, 1)} | {_number(row.ef_bias_pts, 1, sign=True)} | "
        f"{row.flags} |"
        for row in expert_summaries(data)
    ]
    lines += ["", "**Worst agreement** (lowest mean Dice against the leave-one-out consensus):", ""]
    lines += ["| image | phase | mean Dice | lowest expert |", "|---|---|---|---|"]
    for image in worst_images(data):
        lowest = lowest_expert(image)
        who = f"{lowest[0]} ({lowest[1]:.3f})" if lowest else "–"
        lines.append(f"| `{image.image_id}` | {image.phase} | {image.mean_dice:.3f} | {who} |")
    lines += ["", f"Review page: `{page}`", "", f"Plots: `{plots_dir}`"]
    return "\n".join(lines) + "\n"
