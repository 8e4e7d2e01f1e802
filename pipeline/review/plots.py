"""The review's plots, drawn with matplotlib's Agg renderer into deterministic PNG files.

matplotlib is imported here only, when the plots are drawn. Each plot starts from matplotlib's
default style (a user's matplotlibrc changes nothing), and its PNG carries no software version
or time: the same numbers give the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import writing
from pipeline.names import DEFAULT_METHOD
from pipeline.progress import Progress, no_progress
from pipeline.review.data import ReviewData
from pipeline.review.palette import FLAG_COLOUR

PLOTS_DIR = "plots"
DPI = 80
LOA_SD = 1.96  # Bland-Altman limits of agreement: bias ± 1.96 SD
PANEL_COLUMNS = 4


@dataclass(frozen=True)
class Plot:
    """A plot file of the review (relative to the review folder) and what it shows."""

    path: str
    title: str
    caption: str


def write_plots(data: ReviewData, review_dir: Path, progress: Progress = no_progress) -> list[Plot]:
    """Draw every plot into `review_dir/plots/`; the plots, in page order."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    plots = []
    progress("plots", 0, len(PLOTS))
    with matplotlib.style.context("default"):
        for done, (name, title, caption, draw) in enumerate(PLOTS, start=1):
            # Fixed margins, not a layout engine: constrained layout costs a third of the time.
            figure = Figure()
            FigureCanvasAgg(figure)
            draw(figure, data)
            figure.suptitle(title, fontsize=12, y=0.985)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
            target = review_dir / PLOTS_DIR / f"{name}.png"
            with writing(target):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(buffer.getvalue())
            plots.append(Plot(f"{PLOTS_DIR}/{name}.png", title, caption))
            progress("plots", done, len(PLOTS))
    return plots


def _no_data(axes, text: str = "no data") -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def _dice_heatmap(figure, data: ReviewData) -> None:
    figure.set_size_inches(7.5, 6.2)
    figure.subplots_adjust(left=0.09, right=0.98, bottom=0.1, top=0.93)
    axes = figure.add_subplot()
    matrix, n = data.pairwise_dice, len(data.experts)
    if n == 0:
        _no_data(axes)
        return
    finite = matrix[np.isfinite(matrix)]
    low = float(finite.min()) if finite.size else 0.0
    image = axes.imshow(matrix, cmap="viridis", vmin=min(low, 0.99), vmax=1.0)
    figure.colorbar(image, ax=axes, label="mean Dice over images")
    axes.set_xticks(range(n), data.experts, rotation=90)
    axes.set_yticks(range(n), data.experts)
    middle = (min(low, 0.99) + 1.0) / 2
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            colour = "black" if value > middle else "white"
            label = f"{value:.2f}".removeprefix("0")
            axes.text(j, i, label, ha="center", va="center", fontsize=7, color=colour)


def _boxes(axes, data: ReviewData, values: dict[str, np.ndarray], label: str) -> None:
    experts = [e for e in data.experts if values[e].size]
    if not experts:
        _no_data(axes)
        return
    boxes = axes.boxplot(
        [values[e] for e in experts], tick_labels=experts, patch_artist=True, widths=0.6
    )
    for patch, expert in zip(boxes["boxes"], experts, strict=True):
        patch.set_facecolor(data.colours[expert])
    for median in boxes["medians"]:
        median.set_color("black")
    axes.set_ylabel(label)
    axes.tick_params(axis="x", labelrotation=90)
    axes.grid(axis="y", alpha=0.3)


def _loo_boxplots(figure, data: ReviewData) -> None:
    figure.set_size_inches(11, 4.4)
    figure.subplots_adjust(left=0.07, right=0.99, bottom=0.14, top=0.9, wspace=0.22)
    dice_axes, hd95_axes = figure.subplots(1, 2)
    _boxes(dice_axes, data, data.loo_dice, "Dice against the leave-one-out consensus")
    _boxes(hd95_axes, data, data.loo_hd95, "HD95 against the leave-one-out consensus, px")


def _bland_altman(figure, data: ReviewData) -> None:
    rows = max(1, math.ceil(len(data.experts) / PANEL_COLUMNS))
    height = 2.9 * rows + 0.9
    figure.set_size_inches(12, height)
    figure.subplots_adjust(
        left=0.07,
        right=0.99,
        bottom=0.55 / height,
        top=1 - 0.75 / height,
        wspace=0.08,
        hspace=0.25,
    )
    grid = figure.subplots(rows, PANEL_COLUMNS, sharex=True, sharey=True, squeeze=False)
    for axes in grid.flat[len(data.experts) :]:
        axes.set_axis_off()
    for axes, expert in zip(grid.flat, data.experts, strict=False):
        expert_ef, consensus_ef = data.ef_expert[expert], data.ef_consensus[expert]
        mean, difference = (expert_ef + consensus_ef) / 2, expert_ef - consensus_ef
        axes.scatter(
            mean, difference, s=12, color=data.colours[expert], edgecolors="black", linewidths=0.3
        )
        axes.axhline(0.0, color="grey", linewidth=0.6)
        axes.set_title(expert, fontsize=10)
        axes.grid(alpha=0.3)
        if difference.size < 2:
            axes.text(0.03, 0.95, f"n = {difference.size}", transform=axes.transAxes, va="top")
            continue
        bias, spread = float(difference.mean()), float(difference.std(ddof=1))
        low, high = bias - LOA_SD * spread, bias + LOA_SD * spread
        axes.axhline(bias, color="black", linewidth=1.0)
        for limit in (low, high):
            axes.axhline(limit, color="black", linewidth=0.8, linestyle="--")
        axes.text(
            0.03,
            0.95,
            f"bias {bias:+.1f}\nLoA {low:+.1f} to {high:+.1f}\nn = {difference.size}",
            transform=axes.transAxes,
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
    for axes in grid[-1, :]:
        axes.set_xlabel("mean of expert and consensus EF, %")
    for axes in grid[:, 0]:
        axes.set_ylabel("expert − consensus EF, points")


def _areas(figure, data: ReviewData) -> None:
    figure.set_size_inches(6.8, 6.2)
    figure.subplots_adjust(left=0.14, right=0.97, bottom=0.1, top=0.93)
    axes = figure.add_subplot()
    if not data.study_ids:
        _no_data(axes)
        return
    swapped = data.ed_area < data.es_area
    axes.scatter(
        data.ed_area[~swapped],
        data.es_area[~swapped],
        s=14,
        color="#0072B2",
        label="ED area > ES area",
    )
    axes.scatter(
        data.ed_area[swapped],
        data.es_area[swapped],
        s=30,
        color=FLAG_COLOUR,
        marker="X",
        label="flagged: ED area < ES area",
    )
    for study_id, x, y in zip(
        np.array(data.study_ids)[swapped],
        data.ed_area[swapped],
        data.es_area[swapped],
        strict=True,
    ):
        axes.annotate(study_id[:11], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    both = np.concatenate([data.ed_area, data.es_area])
    span = [float(both.min()) * 0.95, float(both.max()) * 1.05]
    axes.plot(span, span, color="grey", linewidth=0.8, label="ED = ES")
    axes.set_xlabel(f"{DEFAULT_METHOD} consensus area at ED, px²")
    axes.set_ylabel(f"{DEFAULT_METHOD} consensus area at ES, px²")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)


def _tracing(figure, data: ReviewData) -> None:
    figure.set_size_inches(11, 4.4)
    figure.subplots_adjust(left=0.07, right=0.99, bottom=0.14, top=0.9, wspace=0.18)
    count_axes, direction_axes = figure.subplots(1, 2)
    _boxes(count_axes, data, {e: v for e, v in data.n_points.items()}, "points per curve")
    experts = list(data.experts)
    lateral = np.array([data.lateral_first[e] for e in experts])
    septal = np.array([data.curves[e] for e in experts]) - lateral
    direction_axes.bar(experts, septal, color="#56B4E9", label="septal hinge first")
    direction_axes.bar(
        experts, lateral, bottom=septal, color="#E69F00", label="lateral hinge first (reversed)"
    )
    direction_axes.set_ylabel("curves")
    direction_axes.tick_params(axis="x", labelrotation=90)
    direction_axes.legend(loc="lower right")


Draw = Callable[[object, ReviewData], None]
PLOTS: tuple[tuple[str, str, str, Draw], ...] = (
    (
        "dice_heatmap",
        "Dice between experts",
        "Mean Dice of every pair of experts over the images both traced.",
        _dice_heatmap,
    ),
    (
        "loo_agreement",
        "Each expert against the leave-one-out consensus",
        "Dice and HD95 of each expert's curves against the arc-length mean of the other "
        "experts (one value per image).",
        _loo_boxplots,
    ),
    (
        "ef_bland_altman",
        "Ejection fraction: each expert against the consensus (Bland-Altman)",
        f"Per study: the expert's EF minus the {DEFAULT_METHOD} consensus EF against their "
        "mean; solid line the bias, dashed lines the limits of agreement (bias ± 1.96 SD).",
        _bland_altman,
    ),
    (
        "consensus_area_ed_es",
        "Consensus area at ED against ES, per study",
        "Each study's default-consensus cavity area at end-diastole against end-systole; a "
        "study above the line (ES larger than ED) is flagged: phases swapped, or suspicious.",
        _areas,
    ),
    (
        "tracing",
        "Point counts and tracing direction per expert",
        "Points per curve, and how many curves each expert traced from the septal or the "
        "lateral hinge.",
        _tracing,
    ),
)
