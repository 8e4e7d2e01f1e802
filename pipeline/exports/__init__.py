"""Exports of a release payload into the formats of other tools: COCO and nnU-Net v2."""
