"""Time the per-image geometry work on a release-sized synthetic set (run by hand, not a test).

    .venv/bin/python bench/bench_geometry.py [--images 200] [--experts 11]

Curves are noisy half-ellipse LV borders of ~200 points in an 800x600 frame, a third of them
traced lateral-first. Prints one row per step: total seconds, and milliseconds per item.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from pipeline.agreement.metrics import boundary_distances, dice_many, iou_many
from pipeline.consensus.methods import (
    arclength_mean,
    leave_one_out_means,
    majority_mask,
    staple,
    staple_simpleitk,
)
from pipeline.geometry import traced_polygon
from pipeline.masks.raster import mask_png_bytes, rasterise
from pipeline.measurements.lv import disc_volume

WIDTH, HEIGHT = 800, 600
SIMPLEITK_SAMPLE = 10  # the reference STAPLE is slow: time it on a few images only


def synthetic_image_curves(rng: np.random.Generator, n_experts: int) -> list[np.ndarray]:
    """One image's expert curves: a shared LV shape, per-expert scale, offset, noise, count."""
    width, depth = rng.uniform(80, 140), rng.uniform(180, 300)
    centre = np.array([rng.uniform(330, 470), rng.uniform(400, 480)])
    tilt = rng.uniform(-0.3, 0.3)
    curves = []
    for _ in range(n_experts):
        t = np.linspace(np.pi, 2 * np.pi, int(rng.integers(180, 221)))
        scale = 1 + 0.05 * rng.standard_normal()
        x = width * scale * np.cos(t) * (1 + 0.02 * rng.standard_normal(t.size))
        y = depth * scale * np.sin(t)
        curve = (
            centre
            + rng.normal(0, 3, 2)
            + np.column_stack(
                [x * np.cos(tilt) - y * np.sin(tilt), x * np.sin(tilt) + y * np.cos(tilt)]
            )
        )
        curves.append(curve[::-1] if rng.random() < 1 / 3 else curve)
    return curves


class Timings:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, int]] = []

    @contextmanager
    def step(self, name: str, n_items: int):
        start = time.perf_counter()
        yield
        self.rows.append((name, time.perf_counter() - start, n_items))

    def print(self) -> None:
        print(f"{'step':<44}{'total s':>9}{'items':>8}{'ms/item':>10}")
        for name, seconds, n_items in self.rows:
            print(f"{name:<44}{seconds:>9.2f}{n_items:>8}{1000 * seconds / n_items:>10.2f}")


def run_each(items: list, function: Callable) -> list:
    return [function(item) for item in items]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--experts", type=int, default=11)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = [synthetic_image_curves(rng, args.experts) for _ in range(args.images)]
    n_curves = args.images * args.experts
    timings = Timings()

    with timings.step("rasterise expert masks", n_curves):
        masks = [np.stack([rasterise(c, WIDTH, HEIGHT) for c in curves]) for curves in images]
    with timings.step("mask_png_bytes", n_curves):
        png_bytes = sum(len(mask_png_bytes(m)) for stack in masks for m in stack)
    with timings.step("arclength_mean", args.images):
        means = run_each(images, arclength_mean)
    with timings.step("leave_one_out_means", args.images):
        run_each(images, leave_one_out_means)
    with timings.step("rasterise consensus curve", args.images):
        mean_masks = [rasterise(m, WIDTH, HEIGHT) for m in means]
    with timings.step("majority_mask", args.images):
        run_each(masks, majority_mask)
    with timings.step("staple (pattern-count EM)", args.images):
        run_each(masks, staple)
    with timings.step("staple_simpleitk (reference filter)", SIMPLEITK_SAMPLE):
        run_each(masks[:SIMPLEITK_SAMPLE], staple_simpleitk)
    with timings.step("dice_many + iou_many (experts vs mean)", args.images):
        for stack, reference in zip(masks, mean_masks, strict=True):
            dice_many(stack, reference), iou_many(stack, reference)
    with timings.step("boundary_distances (expert vs mean)", n_curves):
        for curves, mean in zip(images, means, strict=True):
            reference = traced_polygon(mean)
            for curve in curves:
                boundary_distances(curve, reference)
    with timings.step("disc_volume", n_curves):
        for curves in images:
            run_each(curves, disc_volume)

    print(f"{args.images} images x {args.experts} experts, {WIDTH}x{HEIGHT}")
    timings.print()
    print(f"mask PNGs: {png_bytes / n_curves / 1024:.1f} KiB each on average")


if __name__ == "__main__":
    main()
