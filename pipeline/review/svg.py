"""A small SVG writer for the review's plots: panels with linear or categorical axes and marks.

SVG is text the page shows as it is (sharp at any zoom, no renderer, no font files): written
here directly, with every coordinate rounded to 0.1 px, the same numbers give the same bytes.
Drawing the five plots takes milliseconds; a plotting library would cost a second of imports
and figure set-up in every release.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
TEXT, AXIS, GRID = "#222222", "#444444", "#e4e4e4"
# viridis (perceptually uniform, colour-blind safe), sampled at nine stops.
VIRIDIS = (
    "#440154",
    "#472d7b",
    "#3b528b",
    "#2c728e",
    "#21918c",
    "#28ae80",
    "#5ec962",
    "#addc30",
    "#fde725",
)


def n(value: float) -> str:
    """A coordinate as written: 0.1 px, no trailing zeros."""
    return f"{value:.1f}".removesuffix(".0")


def nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return np.array([low]) if math.isfinite(low) else np.array([0.0])
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return np.round(np.arange(first, high + step * 1e-9, step), 10)


def tick_label(value: float, ticks: np.ndarray) -> str:
    """A tick's label with as many decimals as its step needs."""
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:.{decimals}f}".replace("-", "−")


def padded(values: np.ndarray, fraction: float = 0.05) -> tuple[float, float]:
    """The range of the finite values, widened by `fraction` each side ((0, 1) when none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    margin = (high - low) * fraction or max(abs(low) * fraction, 0.5)
    return low - margin, high + margin


def viridis(value: float) -> str:
    """The viridis colour of a value in [0, 1]."""
    position = min(max(value, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(position), len(VIRIDIS) - 2)
    t = position - i
    a, b = (bytes.fromhex(VIRIDIS[k][1:]) for k in (i, i + 1))
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


class Svg:
    """An SVG document built element by element."""

    def __init__(self, width: float, height: float, title: str):
        self.width, self.height = width, height
        self.parts = [
            f'<rect width="{n(width)}" height="{n(height)}" fill="white"/>',
            f"<title>{escape(title)}</title>",
        ]
        self.text(width / 2, 22, title, size=15, anchor="middle", weight="bold")

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(
        self,
        x: float,
        y: float,
        content: str,
        size: float = 12,
        anchor: str = "start",
        weight: str = "normal",
        fill: str = TEXT,
        rotate: bool = False,
    ) -> None:
        turn = f' transform="rotate(-90 {n(x)} {n(y)})"' if rotate else ""
        bold = ' font-weight="bold"' if weight != "normal" else ""
        self.add(
            f'<text x="{n(x)}" y="{n(y)}" font-size="{n(size)}" text-anchor="{anchor}" '
            f'fill="{fill}"{bold}{turn}>{escape(content)}</text>'
        )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        stroke: str = AXIS,
        width: float = 1.0,
        dash: str = "",
    ) -> None:
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(
            f'<line x1="{n(x1)}" y1="{n(y1)}" x2="{n(x2)}" y2="{n(y2)}" stroke="{stroke}" '
            f'stroke-width="{n(width)}"{dashes}/>'
        )

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str,
        stroke: str = "none",
        opacity: float = 1.0,
    ) -> None:
        see_through = f' fill-opacity="{opacity:g}"' if opacity < 1.0 else ""
        self.add(
            f'<rect x="{n(x)}" y="{n(y)}" width="{n(max(w, 0))}" height="{n(max(h, 0))}" '
            f'fill="{fill}" stroke="{stroke}"{see_through}/>'
        )

    def dots(
        self, xs: np.ndarray, ys: np.ndarray, fill: str, radius: float = 2.5, stroke: str = "#000"
    ) -> None:
        """Circles at (xs, ys), one group sharing their style."""
        circles = "".join(
            f'<circle cx="{n(x)}" cy="{n(y)}" r="{n(radius)}"/>'
            for x, y in zip(xs.tolist(), ys.tolist(), strict=True)
        )
        self.add(f'<g fill="{fill}" stroke="{stroke}" stroke-width="0.4">{circles}</g>')

    def render(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{n(self.width)}" '
            f'height="{n(self.height)}" viewBox="0 0 {n(self.width)} {n(self.height)}" '
            f'font-family="{FONT}">' + "".join(self.parts) + "</svg>\n"
        )


@dataclass
class Panel:
    """A plotting area of an Svg: data limits mapped onto a pixel box."""

    svg: Svg
    left: float
    top: float
    width: float
    height: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def x(self, value):
        low, high = self.xlim
        return self.left + (np.asarray(value, dtype=float) - low) / (high - low) * self.width

    def y(self, value):
        low, high = self.ylim
        bottom = self.top + self.height
        return bottom - (np.asarray(value, dtype=float) - low) / (high - low) * self.height

    def frame(
        self,
        xlabel: str = "",
        ylabel: str = "",
        categories: Sequence[str] = (),
        xticks: bool = True,
        yticks: bool = True,
        title: str = "",
    ) -> None:
        """Grid, axes, ticks and labels; `categories` label x at 0, 1, ... instead of numbers."""
        svg, bottom = self.svg, self.top + self.height
        y_ticks = nice_ticks(*self.ylim)
        for value in y_ticks:
            if self.ylim[0] <= value <= self.ylim[1]:
                y = float(self.y(value))
                svg.line(self.left, y, self.left + self.width, y, GRID)
                if yticks:
                    svg.text(self.left - 5, y + 4, tick_label(value, y_ticks), 11, "end")
        if categories:
            for i, label in enumerate(categories):
                x = float(self.x(i))
                svg.line(x, bottom, x, bottom + 4)
                if xticks:
                    svg.text(x + 4, bottom + 8, label, 11, "end", rotate=True)
        else:
            x_ticks = nice_ticks(*self.xlim)
            for value in x_ticks:
                if self.xlim[0] <= value <= self.xlim[1]:
                    x = float(self.x(value))
                    svg.line(x, bottom, x, bottom + 4)
                    if xticks:
                        svg.text(x, bottom + 16, tick_label(value, x_ticks), 11, "middle")
        svg.add(
            f'<rect x="{n(self.left)}" y="{n(self.top)}" width="{n(self.width)}" '
            f'height="{n(self.height)}" fill="none" stroke="{AXIS}"/>'
        )
        if xlabel:
            below = 44 if categories else 34
            svg.text(self.left + self.width / 2, bottom + below, xlabel, 12, "middle")
        if ylabel:
            svg.text(self.left - 44, self.top + self.height / 2, ylabel, 12, "middle", rotate=True)
        if title:
            svg.text(self.left + self.width / 2, self.top - 6, title, 12, "middle", "bold")
