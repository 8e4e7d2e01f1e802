"""Expert raters: a persistent personal style each, and how one expert traces one border.

An expert's curve = the true border, moved by the expert's habits (tracing inside or outside
it, a higher or lower apex, hinges placed off the annulus), a smooth per-curve wander and a
little point jitter, sampled at slightly uneven spacing, in the expert's tracing direction.
Pixel amounts are at the 600-px reference height and scale with the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.synth import seeds
from pipeline.synth.anatomy import LVShape
from pipeline.synth.curves import outward_normals
from pipeline.synth.ids import user_ids

HABITUAL_REVERSERS = (2, 3)  # how many experts habitually start at the lateral hinge
HABITUAL_REVERSE_PROBABILITY = 0.95
OCCASIONAL_REVERSE_PROBABILITY = 0.05
HINGE_REACH = 0.15  # fraction of the curve a hinge offset bends, from each end


@dataclass(frozen=True)
class Expert:
    """One rater's account id and persistent tracing style (px at reference scale)."""

    user_id: str
    border_bias: float  # + traces outside the true border, - inside
    apex_bias: float  # + puts the apex further from the mitral plane
    septal_hinge: tuple[float, float]  # (towards the lateral wall, towards the apex)
    lateral_hinge: tuple[float, float]  # (towards the septum, towards the apex)
    wobble: float  # amplitude of the smooth per-curve wander
    jitter: float  # standard deviation of point jitter across the border
    reverse_probability: float  # chance of tracing lateral hinge first


def _expert(seed: int, index: int, user_id: str, habitual_reverser: bool) -> Expert:
    rng = seeds.stream(seed, seeds.EXPERT_PROFILES, index)
    hinge = np.clip(rng.normal(0.0, 4.0, 4), -9.0, 9.0)
    return Expert(
        user_id=user_id,
        border_bias=float(rng.uniform(-4.0, 4.0)),
        apex_bias=float(np.clip(rng.normal(0.0, 6.0), -12.0, 12.0)),
        septal_hinge=(float(hinge[0]), float(hinge[1])),
        lateral_hinge=(float(hinge[2]), float(hinge[3])),
        wobble=float(rng.uniform(0.8, 2.0)),
        jitter=float(rng.uniform(0.5, 0.8)),
        reverse_probability=HABITUAL_REVERSE_PROBABILITY
        if habitual_reverser
        else OCCASIONAL_REVERSE_PROBABILITY,
    )


def make_experts(seed: int, count: int) -> list[Expert]:
    """`count` experts with distinct ids, ordered by user id (as a Firebase export lists them)."""
    rng = seeds.stream(seed, seeds.EXPERT_HABITS)
    n_reversers = min(
        int(rng.integers(HABITUAL_REVERSERS[0], HABITUAL_REVERSERS[1] + 1)), count // 3
    )
    reversers = set(rng.choice(count, size=n_reversers, replace=False).tolist())
    ids = user_ids(seed, count)
    experts = [_expert(seed, i, uid, i in reversers) for i, uid in enumerate(ids)]
    return sorted(experts, key=lambda e: e.user_id)


def _spacing(n_points: int, rng: np.random.Generator) -> np.ndarray:
    """Curve fractions 0..1, slightly uneven but always increasing (ends fixed)."""
    t = np.linspace(0.0, 1.0, n_points)
    for harmonic in (1, 2):
        strength = rng.uniform(-0.15, 0.15)
        t = t + strength * np.sin(2 * np.pi * harmonic * t) / (2 * np.pi * harmonic)
    return t


def _at(values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rows of an evenly spaced dense (M, 2) array interpolated at fractions t."""
    index = np.arange(len(values), dtype=np.float64)
    where = t * (len(values) - 1)
    return np.column_stack(
        [np.interp(where, index, values[:, 0]), np.interp(where, index, values[:, 1])]
    )


def _wander(t: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth low-frequency offset along the curve (three harmonics)."""
    k = np.arange(1, 4)[:, None]
    weights = rng.normal(0.0, amplitude, 3)[:, None] / k
    phases = rng.uniform(0.0, 2 * np.pi, 3)[:, None]
    return (weights * np.sin(np.pi * k * t[None, :] + phases)).sum(axis=0)


def _hinge_shift(
    shape: LVShape,
    t: np.ndarray,
    hinge: tuple[float, float],
    septal: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """Displacement near one end of the curve that moves that hinge (px, unscaled)."""
    inward, up = np.asarray(hinge) + rng.normal(0.0, 1.5, 2)
    towards_other = shape.normal if septal else -shape.normal
    reach = t if septal else 1.0 - t
    weight = np.clip(1.0 - reach / HINGE_REACH, 0.0, 1.0) ** 2
    return weight[:, None] * (inward * towards_other + up * shape.axis)[None, :]


def trace(
    shape: LVShape, expert: Expert, n_points: int, scale: float, rng: np.random.Generator
) -> np.ndarray:
    """One expert's (n_points, 2) curve of `shape`, in their direction, rounded to 0.01 px."""
    t = _spacing(n_points, rng)
    points = _at(shape.curve, t)
    normals = _at(outward_normals(shape.curve), t)
    offset = expert.border_bias + rng.normal(0.0, 0.8) + _wander(t, expert.wobble, rng)
    # A smooth stretch along the long axis, growing towards the apex: moves it without folds.
    height = np.clip((points - shape.base_mid) @ shape.axis / shape.length, 0.0, 1.0)
    apex = (expert.apex_bias + rng.normal(0.0, 1.5)) * height**2
    moved = offset[:, None] * normals + apex[:, None] * shape.axis
    moved += _hinge_shift(shape, t, expert.septal_hinge, True, rng)
    moved += _hinge_shift(shape, t, expert.lateral_hinge, False, rng)
    # Jitter across the border only: along it, points could swap order and cross the curve.
    moved += rng.normal(0.0, expert.jitter, (n_points, 1)) * normals
    curve = points + scale * moved
    if rng.random() < expert.reverse_probability:
        curve = curve[::-1]
    return np.round(curve, 2)
