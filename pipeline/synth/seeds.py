"""Independent, reproducible random streams derived from the run seed.

Every random draw in the generator comes from a stream named by (seed, stream, *indices), so a
study's content depends only on the seed and its index, never on how many studies are made or
in what order they are drawn.
"""

from __future__ import annotations

import numpy as np

# Stream tags: one per kind of draw (the values only need to be distinct and stable).
USER_IDS = 1
EXPERT_PROFILES = 2
IMAGE_PLAN = 3
EXPERT_HABITS = 4
STUDY_IDS = 10
STUDY_SCANNER = 11
STUDY_ANATOMY = 12
FRAME_TEXTURE = 13
EXPERT_TRACES = 14


def stream(seed: int, tag: int, *indices: int) -> np.random.Generator:
    """A generator seeded from (seed, tag, *indices) through a SeedSequence."""
    return np.random.default_rng(np.random.SeedSequence([seed, tag, *indices]))
