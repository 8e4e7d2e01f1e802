"""Make the README's pictures of the review from a release of the sample data.

    .venv/bin/python -m docs.review_images data/releases/unitylv-multix/1.0.0

writes docs/review_page.jpg (headless Chromium's view of the page's gallery) and
docs/review_overlay.jpg (the overlay of the image with the worst agreement). Needs
/usr/bin/chromium (`make chromium`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image

from tests.chromium import Chromium

DOCS = Path(__file__).resolve().parent
PAGE_SHOT, OVERLAY = DOCS / "review_page.jpg", DOCS / "review_overlay.jpg"
WIDTH, HEIGHT = 1280, 860


def main(release: Path) -> None:
    qa = release / "data" / "qa"
    with tempfile.TemporaryDirectory() as tmp, Chromium(Path(tmp), WIDTH, HEIGHT) as browser:
        browser.open((qa / "index.html").as_uri())
        browser.evaluate("document.getElementById('gallery').scrollIntoView()")
        shot = browser.screenshot(Path(tmp) / "page.png")
        worst = browser.evaluate("document.querySelector('#gallery-grid img').getAttribute('src')")
        Image.open(shot).convert("RGB").save(PAGE_SHOT, quality=80, optimize=True)
    OVERLAY.write_bytes((qa / worst).read_bytes())
    print(PAGE_SHOT, OVERLAY)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
