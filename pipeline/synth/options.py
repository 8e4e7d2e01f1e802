"""What to generate (options) and what was generated (summary)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import UnityLVError

# Dropping one or two experts must still leave a curve to average.
MIN_EXPERTS_FOR_MISSING = 3
# Point counts can only differ between at least two experts.
MIN_EXPERTS_FOR_UNEQUAL = 2


@dataclass(frozen=True)
class SynthOptions:
    """Size, seed and deliberate irregularities of a synthetic UnityLV-MultiX source."""

    studies: int = 100
    experts: int = 11
    seed: int = 0
    missing_expert_fraction: float = 0.0  # fraction of images annotated by 1-2 fewer experts
    unequal_count_fraction: float = 0.0  # fraction of images where experts' point counts differ

    def validate(self) -> None:
        """Raise UnityLVError when an option is out of range."""
        problems = []
        if self.studies < 1:
            problems.append(f"studies must be at least 1 (got {self.studies})")
        if self.experts < 1:
            problems.append(f"experts must be at least 1 (got {self.experts})")
        if self.seed < 0:
            problems.append(f"seed must be a non-negative integer (got {self.seed})")
        for name in ("missing_expert_fraction", "unequal_count_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name} must be between 0 and 1 (got {value})")
        if self.missing_expert_fraction > 0 and self.experts < MIN_EXPERTS_FOR_MISSING:
            problems.append(
                f"missing_expert_fraction needs at least {MIN_EXPERTS_FOR_MISSING} experts"
            )
        if self.unequal_count_fraction > 0 and self.experts < MIN_EXPERTS_FOR_UNEQUAL:
            problems.append(
                f"unequal_count_fraction needs at least {MIN_EXPERTS_FOR_UNEQUAL} experts"
            )
        if problems:
            raise UnityLVError("; ".join(problems), record="synth options")


DEFAULT_OPTIONS = SynthOptions()


@dataclass(frozen=True)
class SynthSummary:
    """What synthesize() wrote: the folder and its counts."""

    out_dir: Path
    images: int
    curves: int
    points: int
