"""Names and numbers fixed by the published dataset layout and this project's conventions."""

from __future__ import annotations

import re

DATASET_SLUG = "unitylv-multix"
IMAGES_DIR = "Images"
ANNOTATIONS_FILE = "UnityLV_multiX_annotations.json"
CONSENSUS_FILE = "UnityLV_multiX_consensus_curves.json"
SOURCE_LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENCE", "LICENSE.md", "licence.txt")

# <site>-<64 hex study hash>-<frame>.png, e.g. 02-008c...29d3-0003.png. Use with `fullmatch`:
# `$` would let a trailing newline through. ASCII digits only (`\d` takes Arabic-Indic and
# full-width digits too).
IMAGE_NAME_PATTERN = re.compile(
    r"(?P<site>[0-9]{2})-(?P<hash>[0-9a-f]{64})-(?P<frame>[0-9]{4})\.png"
)
USER_ID_LENGTH = 28
# An anonymised account id: 28 ASCII letters and digits (use with `fullmatch`).
USER_ID_PATTERN = re.compile(rf"[A-Za-z0-9]{{{USER_ID_LENGTH}}}")

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

# Abuse guards for hostile JSON. The published files nest 4 levels deep. Files nesting deeper
# than JSON_MAX_DEPTH are refused whole; up to it they parse (json's C parser recurses once
# per level, so it runs in a thread with a JSON_PARSER_STACK_BYTES stack and this recursion
# limit). Values nested below the published shape are then replaced by a small description,
# so that no deep value reaches pickle between steps.
JSON_MAX_DEPTH = 20_000
JSON_PARSER_STACK_BYTES = 64 * 1024 * 1024
# An integer literal longer than this is kept as its digit count, never converted: no
# coordinate needs it, int() refuses over 4300 digits and float() over ~309.
MAX_INT_DIGITS = 20
# A reject message is at most this long; values are quoted shortened, never whole.
MAX_MESSAGE_CHARS = 300

PHASES = ("ED", "ES")
