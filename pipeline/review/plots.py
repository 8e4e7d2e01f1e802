"""The review's plots, written as SVG files (`pipeline.review.svg`): the same numbers give the
same bytes, and the five plots take milliseconds (no plotting library to import)."""

from __future__ import annotations

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
from pipeline.review.svg import TEXT, Panel, Svg, nice_ticks, padded, tick_label, viridis

PLOTS_DIR = "plots"
LOA_SD = 1.96  # Bland-Altman limits of agreement: bias ± 1.96 SD
PANEL_COLUMNS = 4
WHISKER_IQR = 1.5  # box plots: whiskers reach the furthest value within 1.5 IQR of the box


@dataclass(frozen=True)
class Plot:
    """A plot file of the review (relative to the review folder) and what it shows."""

    path: str
    title: str
    caption: str


def write_plots(data: ReviewData, review_dir: Path, progress: Progress = no_progress) -> list[Plot]:
    """Write every plot into `review_dir/plots/`; the plots, in page order."""
    plots = []
    progress("plots", 0, len(PLOTS))
    for done, (name, title, caption, draw) in enumerate(PLOTS, start=1):
        target = review_dir / PLOTS_DIR / f"{name}.svg"
        with writing(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(draw(data, title), encoding="utf-8")
        plots.append(Plot(f"{PLOTS_DIR}/{name}.svg", title, caption))
        progress("plots", done, len(PLOTS))
    return plots


def _no_data(panel: Panel) -> None:
    panel.frame(xticks=False, yticks=False)
    middle = panel.top + panel.height / 2
    panel.svg.text(panel.left + panel.width / 2, middle, "no data", 13, "middle")


def _dice_heatmap(data: ReviewData, title: str) -> str:
    k = len(data.experts)
    cell = 44
    svg = Svg(max(90 + k * cell + 110, 420), max(60 + k * cell + 60, 240), title)
    matrix = data.pairwise_dice
    finite = matrix[np.isfinite(matrix)]
    low = min(float(finite.min()) if finite.size else 0.0, 0.99)
    top, left = 40, 70
    for (i, j), value in np.ndenumerate(matrix):
        x, y = left + j * cell, top + i * cell
        if not np.isfinite(value):
            svg.rect(x, y, cell, cell, "#f0f0f0")
            continue
        share = (value - low) / (1.0 - low)
        svg.rect(x, y, cell, cell, viridis(share))
        ink = "#000000" if share > 0.5 else "#ffffff"
        label = f"{value:.2f}".removeprefix("0")
        svg.text(x + cell / 2, y + cell / 2 + 4, label, 11, "middle", fill=ink)
    for i, expert in enumerate(data.experts):
        svg.text(left - 6, top + i * cell + cell / 2 + 4, expert, 11, "end")
        centre = left + i * cell + cell / 2
        svg.text(centre + 4, top + k * cell + 8, expert, 11, "end", rotate=True)
    _colour_bar(svg, left + k * cell + 24, top, max(k * cell, 120), low)
    return svg.render()


def _colour_bar(svg: Svg, x: float, top: float, height: float, low: float) -> None:
    steps = 32
    for s in range(steps):
        svg.rect(
            x,
            top + height * (1 - (s + 1) / steps),
            14,
            height / steps + 0.5,
            viridis(s / (steps - 1)),
        )
    ticks = nice_ticks(low, 1.0, 4)
    for value in ticks:
        y = top + height * (1 - (value - low) / (1.0 - low))
        svg.line(x + 14, y, x + 18, y)
        svg.text(x + 21, y + 4, tick_label(value, ticks), 11)
    svg.text(x + 66, top + height / 2, "mean Dice over images", 12, "middle", rotate=True)


def _box(panel: Panel, index: int, values: np.ndarray, colour: str) -> None:
    """A box plot at category `index`: quartiles, median, whiskers, outliers."""
    svg = panel.svg
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    reach = WHISKER_IQR * (q3 - q1)
    inside = values[(values >= q1 - reach) & (values <= q3 + reach)]
    low, high = float(inside.min()), float(inside.max())
    x, half = float(panel.x(index)), 0.3 * float(panel.x(1) - panel.x(0))
    svg.line(x, float(panel.y(low)), x, float(panel.y(q1)))
    svg.line(x, float(panel.y(q3)), x, float(panel.y(high)))
    for whisker in (low, high):
        svg.line(x - half / 2, float(panel.y(whisker)), x + half / 2, float(panel.y(whisker)))
    top = float(panel.y(q3))
    svg.rect(x - half, top, 2 * half, float(panel.y(q1)) - top, colour, stroke="#222")
    svg.line(x - half, float(panel.y(median)), x + half, float(panel.y(median)), "#000", 1.5)
    outliers = values[(values < low) | (values > high)]
    if outliers.size:
        svg.dots(np.full(outliers.size, x), panel.y(outliers), "none", 2.5, "#222")


def _boxes(svg: Svg, data: ReviewData, values: dict[str, np.ndarray], box: tuple, label: str):
    experts = list(data.experts)
    everything = np.concatenate([values[e] for e in experts]) if experts else np.array([])
    panel = Panel(svg, *box, (-0.6, len(experts) - 0.4), padded(everything))
    if not everything.size:
        _no_data(panel)
        return panel
    panel.frame(ylabel=label, categories=experts)
    for i, expert in enumerate(experts):
        if values[expert].size:
            _box(panel, i, values[expert], data.colours[expert])
    return panel


def _loo_boxplots(data: ReviewData, title: str) -> str:
    svg = Svg(1000, 400, title)
    _boxes(svg, data, data.loo_dice, (70, 45, 400, 290), "Dice against the LOO consensus")
    _boxes(svg, data, data.loo_hd95, (580, 45, 400, 290), "HD95 against the LOO consensus, px")
    return svg.render()


def _bland_altman(data: ReviewData, title: str) -> str:
    rows = max(1, math.ceil(len(data.experts) / PANEL_COLUMNS))
    width, height, gap_x, gap_y = 220, 170, 20, 36
    svg = Svg(80 + PANEL_COLUMNS * (width + gap_x), 60 + rows * (height + gap_y) + 30, title)
    means = {e: (data.ef_expert[e] + data.ef_consensus[e]) / 2 for e in data.experts}
    differences = {e: data.ef_expert[e] - data.ef_consensus[e] for e in data.experts}
    empty = np.array([])
    xlim = padded(np.concatenate([empty, *means.values()]))
    ylim = padded(np.concatenate([empty, *differences.values(), [0.0]]))
    for k, expert in enumerate(data.experts):
        row, column = divmod(k, PANEL_COLUMNS)
        left, top = 70 + column * (width + gap_x), 60 + row * (height + gap_y)
        panel = Panel(svg, left, top, width, height, xlim, ylim)
        last_row = row == rows - 1 or k + PANEL_COLUMNS >= len(data.experts)
        panel.frame(
            xlabel="mean of expert and consensus EF, %" if last_row else "",
            ylabel="expert − consensus EF, pts" if column == 0 else "",
            xticks=last_row,
            yticks=column == 0,
            title=expert,
        )
        written = _agreement_lines(panel, differences[expert])
        if means[expert].size:
            svg.dots(panel.x(means[expert]), panel.y(differences[expert]), data.colours[expert])
        svg.rect(left + 3, top + 3, 118, 12 * len(written) + 4, "white", opacity=0.85)
        for i, text in enumerate(written):
            svg.text(left + 6, top + 13 + 12 * i, text.replace("-", "−"), 10)
    return svg.render()


def _agreement_lines(panel: Panel, difference: np.ndarray) -> list[str]:
    """Draw zero, the bias and the limits of agreement; the lines of text that say them."""
    svg = panel.svg
    right = panel.left + panel.width

    def across(value: float, colour: str, width: float, dash: str = "") -> None:
        if panel.ylim[0] <= value <= panel.ylim[1]:
            y = float(panel.y(value))
            svg.line(panel.left, y, right, y, colour, width, dash)

    across(0.0, "#999999", 0.8)
    if difference.size < 2:
        return [f"n = {difference.size}"]
    bias, spread = float(difference.mean()), float(difference.std(ddof=1))
    low, high = bias - LOA_SD * spread, bias + LOA_SD * spread
    across(bias, "#000000", 1.2)
    for limit in (low, high):
        across(limit, "#000000", 1.0, "5 3")
    return [f"bias {bias:+.1f}", f"LoA {low:+.1f} to {high:+.1f}", f"n = {difference.size}"]


def _areas(data: ReviewData, title: str) -> str:
    svg = Svg(620, 560, title)
    both = np.concatenate([data.ed_area, data.es_area])
    limits = padded(both)
    panel = Panel(svg, 90, 45, 500, 440, limits, limits)
    if not data.study_ids:
        _no_data(panel)
        return svg.render()
    panel.frame(
        xlabel=f"{DEFAULT_METHOD} consensus area at ED, px²",
        ylabel=f"{DEFAULT_METHOD} consensus area at ES, px²",
    )
    (x0, x1), (y0, y1) = panel.x(limits).tolist(), panel.y(limits).tolist()
    svg.line(x0, y0, x1, y1, "#888888", 1.0, "4 3")
    swapped = data.ed_area < data.es_area
    svg.dots(panel.x(data.ed_area[~swapped]), panel.y(data.es_area[~swapped]), "#0072B2")
    svg.dots(panel.x(data.ed_area[swapped]), panel.y(data.es_area[swapped]), FLAG_COLOUR, 4.0)
    for study_id, x, y in zip(
        np.array(data.study_ids)[swapped].tolist(),
        panel.x(data.ed_area[swapped]).tolist(),
        panel.y(data.es_area[swapped]).tolist(),
        strict=True,
    ):
        svg.text(x + 6, y - 4, study_id[:11], 10, fill=FLAG_COLOUR)
    _legend(svg, 100, 60, [("#0072B2", "ED area > ES area"), (FLAG_COLOUR, "flagged: ED < ES")])
    svg.text(100, 106, "dashed: ED = ES", 11, fill="#666666")
    return svg.render()


def _legend(svg: Svg, x: float, y: float, entries: list[tuple[str, str]]) -> None:
    for i, (colour, label) in enumerate(entries):
        svg.rect(x, y + 16 * i, 12, 12, colour)
        svg.text(x + 18, y + 16 * i + 10, label, 11, fill=TEXT)


def _tracing(data: ReviewData, title: str) -> str:
    svg = Svg(1000, 400, title)
    _boxes(svg, data, data.n_points, (70, 45, 400, 290), "points per curve")
    experts = list(data.experts)
    lateral = np.array([data.lateral_first[e] for e in experts], dtype=float)
    total = np.array([data.curves[e] for e in experts], dtype=float)
    ylim = (0.0, max(float(total.max(initial=0.0)) * 1.15, 1.0))
    panel = Panel(svg, 580, 45, 400, 290, (-0.6, len(experts) - 0.4), ylim)
    panel.frame(ylabel="curves", categories=experts)
    half = 0.35 * float(panel.x(1) - panel.x(0))
    for i, (septal, reversed_) in enumerate(zip(total - lateral, lateral, strict=True)):
        x = float(panel.x(i))
        base, middle, top = (float(panel.y(v)) for v in (0, septal, septal + reversed_))
        svg.rect(x - half, middle, 2 * half, base - middle, "#56B4E9")
        svg.rect(x - half, top, 2 * half, middle - top, "#E69F00")
    _legend(
        svg,
        590,
        52,
        [("#56B4E9", "septal hinge first"), ("#E69F00", "lateral hinge first (reversed)")],
    )
    return svg.render()


Draw = Callable[[ReviewData, str], str]
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
        "experts (one value per image); boxes are the quartiles, whiskers reach 1.5 IQR.",
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
        "study above the dashed line (ES larger than ED) is flagged: phases swapped, or "
        "suspicious.",
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
