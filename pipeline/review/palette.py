"""The review's colours: one fixed, colour-blind-safe colour per expert, the same everywhere.

Experts take colours in expert_id order (E01 the first). The first seven are Okabe & Ito's
colour-universal palette without its black (invisible on an echo frame); the next four are
from Paul Tol's "light" and "bright" schemes, chosen to stay apart from those seven and bright
enough on a dark frame. A release with more than eleven experts reuses them in turn. The
consensus is white with a black casing: no hue, so it never reads as an expert.
"""

from __future__ import annotations

from collections.abc import Sequence

OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
)
PAUL_TOL_EXTRAS = (
    "#FFAABB",  # pink (light)
    "#BBCC33",  # pear (light)
    "#AA3377",  # purple (bright)
    "#44BB99",  # mint (light)
)
EXPERT_PALETTE = OKABE_ITO + PAUL_TOL_EXTRAS
CONSENSUS_COLOUR = "#FFFFFF"
CASING_COLOUR = "#000000"
# Flags (rejected, self-intersecting, EF outlier, low agreement): a marker colour that is
# none of the experts' (a magenta-red the palette leaves out).
FLAG_COLOUR = "#FF2D6F"

RGB = tuple[int, int, int]


def expert_colours(expert_ids: Sequence[str]) -> dict[str, str]:
    """expert_id -> hex colour, by the experts' sorted order (palette reused past eleven)."""
    return {
        expert_id: EXPERT_PALETTE[i % len(EXPERT_PALETTE)]
        for i, expert_id in enumerate(sorted(expert_ids))
    }


def rgb(colour: str) -> RGB:
    """#RRGGBB as an (r, g, b) tuple of 0-255 ints."""
    value = int(colour.removeprefix("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF
