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

# Abuse guards for hostile JSON. The source files are streamed record by record (one image's
# curves, or one consensus curve), so memory follows the biggest record, not the file.
# MAX_JSON_BYTES only refuses absurd files: it is far above any real dataset (the published
# annotations are ~6 MB). One record over MAX_RECORD_BYTES stops the run naming the record
# (a real record is ~60 KB).
MAX_JSON_BYTES = 64 * 1024**3
MAX_RECORD_BYTES = 64 * 1024**2
STREAM_CHUNK_BYTES = 1024**2
# json's C parser recurses once per nesting level; it is never handed text nested deeper than
# this. A deeper record is checked in bands of this many levels (each band parsed alone with
# its deeper arrays stood in for), and its values below the published shape are replaced by
# a small description (a NestedValue), so no deep value reaches pickle between steps. There is
# no nesting limit: a curve nested 100,000 levels deep is one `curve_shape` reject.
JSON_RECORD_DEPTH = 64
# An integer literal longer than this is kept as its digit count, never converted: no
# coordinate needs it, int() refuses over 4300 digits and float() over ~309.
MAX_INT_DIGITS = 20
# A reject message is at most this long; values are quoted shortened, never whole.
MAX_MESSAGE_CHARS = 300

PHASES = ("ED", "ES")

# Per-study work is split into partitions by the first hex digit of the study hash: stable
# (a study never moves), and even (the hash is uniform).
STUDY_BUCKETS = tuple("0123456789abcdef")
