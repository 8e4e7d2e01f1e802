"""One synthetic study: its two named frames and every expert's curve on each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipeline.synth import seeds
from pipeline.synth.anatomy import LVShape, study_anatomy
from pipeline.synth.experts import Expert, trace
from pipeline.synth.frames import fan_grid, render_frame
from pipeline.synth.ids import study_ids
from pipeline.synth.overlay import finish_frame
from pipeline.synth.plan import ImagePlan
from pipeline.synth.scanner import draw_scanner

POINTS_PER_CURVE = (180, 220)  # inclusive range, drawn per image
UNEQUAL_SPREAD = 15  # +- points per expert when counts differ


@dataclass(frozen=True)
class SynthImage:
    """One frame, its file name and its curves by user id, in annotation order."""

    name: str
    frame: Image.Image
    curves: dict[str, np.ndarray]  # user id -> (N, 2), rounded to 0.01 px


def _point_counts(n_experts: int, plan: ImagePlan, rng: np.random.Generator) -> np.ndarray:
    """Points per expert: one shared count, or counts that differ when the plan says so."""
    shared = int(rng.integers(POINTS_PER_CURVE[0], POINTS_PER_CURVE[1] + 1))
    # Drawn whatever the plan, so images without irregularities match the default run.
    spread = rng.integers(-UNEQUAL_SPREAD, UNEQUAL_SPREAD + 1, n_experts)
    if not plan.unequal_counts:
        return np.full(n_experts, shared)
    counts = shared + spread
    kept = [i for i in range(n_experts) if i not in plan.dropped]
    if len(set(counts[kept].tolist())) == 1:  # make sure the kept experts really differ
        counts[kept[0]] += 1 if counts[kept[0]] < shared else -1
    return counts


def _expert_curves(
    shape: LVShape,
    experts: Sequence[Expert],
    plan: ImagePlan,
    scale: float,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Every expert traces the image; the plan's dropped experts are then left out."""
    counts = _point_counts(len(experts), plan, rng)
    curves = {
        e.user_id: trace(shape, e, int(n), scale, rng) for e, n in zip(experts, counts, strict=True)
    }
    return {e.user_id: curves[e.user_id] for i, e in enumerate(experts) if i not in plan.dropped}


def make_study(
    seed: int, index: int, experts: Sequence[Expert], plans: tuple[ImagePlan, ImagePlan]
) -> tuple[SynthImage, SynthImage]:
    """The ED and ES images of study `index` (in that order) with their expert curves."""
    ids = study_ids(seed, index)
    scanner = draw_scanner(seed, index)
    anatomy = study_anatomy(seed, index, scanner)
    grid = fan_grid(scanner)
    texture_rng = seeds.stream(seed, seeds.FRAME_TEXTURE, index)
    images = []
    phases = (("ED", anatomy.ed, ids.ed_name), ("ES", anatomy.es, ids.es_name))
    for position, ((phase, shape, name), plan) in enumerate(zip(phases, plans, strict=True)):
        frame = finish_frame(render_frame(grid, scanner, shape, phase, texture_rng), scanner)
        trace_rng = seeds.stream(seed, seeds.EXPERT_TRACES, index, position)
        images.append(
            SynthImage(name, frame, _expert_curves(shape, experts, plan, scanner.scale, trace_rng))
        )
    return images[0], images[1]
