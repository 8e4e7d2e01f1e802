"""Seeded generator of sample UnityLV-MultiX data in the published layout (DESIGN.md §1)."""

from pipeline.synth.options import SynthOptions, SynthSummary
from pipeline.synth.writer import synthesize

__all__ = ["SynthOptions", "SynthSummary", "synthesize"]
