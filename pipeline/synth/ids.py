"""Names as the published source spells them: sites, study hashes, frame numbers, user ids."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass

import numpy as np

from pipeline.constants import USER_ID_LENGTH
from pipeline.synth import seeds

SITES = ("01", "02", "03", "04", "05", "06")
SITE_WEIGHTS = (0.28, 0.24, 0.16, 0.14, 0.10, 0.08)
USER_ID_ALPHABET = string.ascii_letters + string.digits
# ED is usually the first frame of the clip; sometimes the loop starts after ES.
ES_BEFORE_ED_PROBABILITY = 0.3


@dataclass(frozen=True)
class StudyIds:
    """One study's site, hash and ED/ES frame numbers."""

    site: str
    study_hash: str
    ed_frame: int
    es_frame: int

    def image_name(self, frame: int) -> str:
        """The image file name `<site>-<hash>-<frame:04d>.png`."""
        return f"{self.site}-{self.study_hash}-{frame:04d}.png"

    @property
    def ed_name(self) -> str:
        """File name of the end-diastolic frame."""
        return self.image_name(self.ed_frame)

    @property
    def es_name(self) -> str:
        """File name of the end-systolic frame."""
        return self.image_name(self.es_frame)


def study_ids(seed: int, index: int) -> StudyIds:
    """Site, 64-hex study hash and two distinct frame numbers of study `index`."""
    rng = seeds.stream(seed, seeds.STUDY_IDS, index)
    site = SITES[int(rng.choice(len(SITES), p=SITE_WEIGHTS))]
    token = int(rng.integers(0, 2**63))
    study_hash = hashlib.sha256(f"unitylv-synth:{seed}:{index}:{token}".encode()).hexdigest()
    systole_frames = int(rng.integers(8, 21))
    if rng.random() < ES_BEFORE_ED_PROBABILITY:
        es_frame = int(rng.integers(0, 40))
        ed_frame = es_frame + int(rng.integers(25, 45))
    else:
        ed_frame = int(rng.integers(0, 40))
        es_frame = ed_frame + systole_frames
    return StudyIds(site, study_hash, ed_frame, es_frame)


def user_id(seed: int, expert_index: int) -> str:
    """A 28-character alphanumeric account id, like a Firebase uid; stable per seed and index."""
    rng = seeds.stream(seed, seeds.USER_IDS, expert_index)
    letters = rng.choice(np.array(list(USER_ID_ALPHABET)), size=USER_ID_LENGTH)
    return "".join(letters.tolist())


def user_ids(seed: int, count: int) -> list[str]:
    """`count` distinct user ids (a repeat, vanishingly unlikely, is redrawn further on)."""
    ids: list[str] = []
    index = 0
    while len(ids) < count:
        candidate = user_id(seed, index)
        if candidate not in ids:
            ids.append(candidate)
        index += 1
    return ids
