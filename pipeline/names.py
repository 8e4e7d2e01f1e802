"""The names of consensus methods and raters, as they appear in every table and folder."""

from __future__ import annotations

from enum import StrEnum


class Method(StrEnum):
    """How a contour or mask was made: by an expert, or by a consensus method."""

    EXPERT = "expert"  # an expert's own curve (the rater column names which expert)
    PUBLISHED_MEAN = "published_mean"  # the dataset authors' rule (DESIGN.md §1)
    ARCLENGTH_MEAN = "arclength_mean"
    ARCLENGTH_MEAN_LOO = "arclength_mean_loo"  # leave-one-out: the others' arc-length mean
    MAJORITY = "majority"
    STAPLE = "staple"


class Rater(StrEnum):
    """Who drew a row: an expert (by expert_id, E01...) or the consensus."""

    CONSENSUS = "consensus"


DEFAULT_METHOD = Method.ARCLENGTH_MEAN
CURVE_METHODS = (Method.PUBLISHED_MEAN, Method.ARCLENGTH_MEAN)
MASK_METHODS = (Method.MAJORITY, Method.STAPLE)
CONSENSUS_METHODS = (*CURVE_METHODS, Method.ARCLENGTH_MEAN_LOO, *MASK_METHODS)
