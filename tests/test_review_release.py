"""The review of the default sample's release: in the bag, and opened in headless Chromium."""

import re

import pytest

from pipeline.release.bag import bag_manifest
from pipeline.tables.table_files import TableFiles
from tests.chromium import CHROMIUM, Chromium
from tests.cli import unitylv

pytestmark = pytest.mark.slow  # reads the sample's release
MAX_OVERLAY_BYTES = 100_000


def test_every_review_file_is_in_the_manifest_and_overlays_stay_small(sample_release):
    data = sample_release / "data"
    manifest = bag_manifest(sample_release)
    image_ids = TableFiles(data / "tables").columns("images", ["image_id"])["image_id"]
    overlays = {f"data/qa/overlays/{i}.jpg" for i in image_ids.to_pylist()}
    assert len(overlays) == 200
    in_qa = {p for p in manifest if p.startswith("data/qa/")}
    plots = {p for p in in_qa if p.startswith("data/qa/plots/") and p.endswith(".svg")}
    assert in_qa == overlays | plots | {"data/qa/index.html"}
    assert len(plots) == 5
    sizes = [(data.parent / p).stat().st_size for p in overlays]
    assert max(sizes) <= MAX_OVERLAY_BYTES, max(sizes)
    card = (data / "README.md").read_text()
    assert "[qa/index.html](qa/index.html)" in card


def test_review_command_prints_the_page(sample_release, tmp_path):
    run = unitylv("review", str(sample_release), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(sample_release / "data" / "qa" / "index.html")


def test_the_page_opens_from_disk_in_headless_chromium(sample_release, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    page = sample_release / "data" / "qa" / "index.html"
    with Chromium(tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        images = browser.evaluate(
            "Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])"
        )
        gallery = browser.evaluate("document.querySelectorAll('#gallery-grid > figure').length")
        shot = browser.screenshot(tmp_path / "review.png")
        events = browser.page_events()
    assert events.console_errors == []
    assert events.failed == []
    assert events.requests and all(url.startswith("file://") for url in events.requests), [
        url for url in events.requests if not url.startswith("file://")
    ]
    assert len(images) == 200 + 5
    assert [src for src, width in images if width <= 0] == []
    assert gallery == 200
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # One request per file the page shows, and every one of them from the release's qa/.
    qa = page.parent.as_uri()
    shown = {re.sub(r"^\./", "", src) for src, _ in images}
    assert {url.removeprefix(qa + "/") for url in events.requests[1:]} == shown
