"""The dataset authors' "average" consensus rule, reproduced exactly (DESIGN.md §1).

Each curve is reversed when its point nearest the fixed pixel (0, 511) has an index above 150;
x and y are then averaged index by index over all experts using the first expert's point count.
The rule is undefined when the experts' point counts differ: we refuse rather than truncate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.constants import PUBLISHED_ANCHOR_XY, PUBLISHED_REVERSE_INDEX


class RuleUndefined(ValueError):
    """The published rule cannot be applied to these curves (the reason is the message)."""


def published_orientation_flip(curve_xy: np.ndarray) -> bool:
    """True when the authors' rule reverses this (N, 2) curve."""
    anchor = np.asarray(PUBLISHED_ANCHOR_XY)
    nearest = int(np.argmin(((curve_xy - anchor) ** 2).sum(axis=1)))
    return nearest > PUBLISHED_REVERSE_INDEX


def published_mean(curves_xy: Sequence[np.ndarray]) -> np.ndarray:
    """The authors' consensus of (N, 2) expert curves, given in source order; (N, 2) out."""
    if not curves_xy:
        raise RuleUndefined("no expert curves")
    counts = sorted({len(c) for c in curves_xy})
    if len(counts) != 1:
        raise RuleUndefined(f"experts' point counts differ ({', '.join(map(str, counts))})")
    oriented = [c[::-1] if published_orientation_flip(c) else c for c in curves_xy]
    return np.mean(np.stack(oriented), axis=0)
