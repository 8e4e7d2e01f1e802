"""Names and numbers fixed by the published dataset layout and this project's conventions."""

from __future__ import annotations

import re

DATASET_SLUG = "unitylv-multix"
IMAGES_DIR = "Images"
ANNOTATIONS_FILE = "UnityLV_multiX_annotations.json"
CONSENSUS_FILE = "UnityLV_multiX_consensus_curves.json"
SOURCE_LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENCE", "LICENSE.md", "licence.txt")

# <site>-<64 hex study hash>-<frame>.png, e.g. 02-008c...29d3-0003.png
IMAGE_NAME_PATTERN = re.compile(r"^(?P<site>\d{2})-(?P<hash>[0-9a-f]{64})-(?P<frame>\d{4})\.png$")
USER_ID_LENGTH = 28

# The authors' consensus rule (DESIGN.md §1): the fixed pixel and the index threshold.
PUBLISHED_ANCHOR_XY = (0.0, 511.0)
PUBLISHED_REVERSE_INDEX = 150

# Validation thresholds.
MIN_CURVE_POINTS = 3
# A point may lie this far outside the image (pixels) before it counts as "far outside":
# experts sometimes click just past the frame edge.
OUTSIDE_IMAGE_TOLERANCE_PX = 20.0
# Pillow refuses images above this many pixels (decompression bombs); real frames are ~0.5 MP.
MAX_IMAGE_PIXELS = 16_000_000
MAX_JSON_BYTES = 512 * 1024 * 1024

PHASES = ("ED", "ES")
