"""Which images get the deliberate irregularities asked for in the options."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.synth import seeds
from pipeline.synth.options import SynthOptions

IMAGES_PER_STUDY = 2  # ED then ES


@dataclass(frozen=True)
class ImagePlan:
    """Irregularities of one image: experts left out (by position) and unequal point counts."""

    dropped: frozenset[int] = frozenset()
    unequal_counts: bool = False


def _chosen(fraction: float, total: int, rng: np.random.Generator) -> set[int]:
    """round(fraction * total) image positions (at least one when fraction > 0)."""
    count = min(total, max(1, round(fraction * total))) if fraction > 0 else 0
    return set(rng.choice(total, size=count, replace=False).tolist())


def plan_images(options: SynthOptions) -> list[ImagePlan]:
    """One plan per image, study by study, ED before ES."""
    rng = seeds.stream(options.seed, seeds.IMAGE_PLAN)
    total = IMAGES_PER_STUDY * options.studies
    missing = _chosen(options.missing_expert_fraction, total, rng)
    unequal = _chosen(options.unequal_count_fraction, total, rng)
    plans = []
    for position in range(total):
        dropped: frozenset[int] = frozenset()
        if position in missing:
            how_many = int(rng.integers(1, 3))  # 11 experts -> 10 or 9
            dropped = frozenset(rng.choice(options.experts, size=how_many, replace=False).tolist())
        plans.append(ImagePlan(dropped, position in unequal))
    return plans
