"""Scoring a model's segmentations against every expert and consensus of a release."""
