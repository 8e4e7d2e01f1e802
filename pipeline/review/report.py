"""Writing the review of a release into its `qa/` folder: overlays, plots, then the page.

qa/index.html                    the review page (opens from disk, no network)
qa/overlays/<image_id>.jpg       one overlay per image
qa/plots/<plot>.svg              agreement, EF, area and tracing plots

Overlays are rendered on a few threads, a bounded chunk of images at a time: Pillow releases
the GIL while it decodes the frame and encodes the JPEG (most of the work), and threads need no
worker processes to start. Every file depends only on the tables, the frames and the release
info, so two releases of the same inputs are byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from pipeline.errors import writing
from pipeline.exports.layout import QA_DIR
from pipeline.parallel import worker_count
from pipeline.progress import Progress, no_progress
from pipeline.release.info import ReleaseInfo
from pipeline.review.curves import OVERLAYS_DIR, overlay_inputs
from pipeline.review.data import ReviewData, read_review_data
from pipeline.review.overlays import OverlayInput, write_overlay
from pipeline.review.page import PAGE_FILE, review_page
from pipeline.review.plots import PLOTS_DIR, Plot, write_plots
from pipeline.tables.table_files import TableReader

OVERLAY_CHUNK = 64  # images whose curves are held at once


@dataclass(frozen=True)
class Review:
    """What a review holds: its numbers, its plots, and how many overlays of how many bytes."""

    data: ReviewData
    plots: list[Plot]
    overlays: int
    overlay_bytes: int

    @property
    def page(self) -> str:
        """The page, relative to the release's data/."""
        return f"{QA_DIR}/{PAGE_FILE}"

    @property
    def plots_dir(self) -> str:
        return f"{QA_DIR}/{PLOTS_DIR}"


def write_review(
    data_dir: Path, tables: TableReader, info: ReleaseInfo, progress: Progress = no_progress
) -> Review:
    """Write `data_dir/qa/` from the release's tables and its frames (`data_dir/images/`)."""
    review_dir = data_dir / QA_DIR
    data = read_review_data(tables)
    inputs = overlay_inputs(tables, data_dir, review_dir, data.flags, data.colours)
    sizes = render_overlays(inputs, len(data.images), progress)
    plots = write_plots(data, review_dir, progress)
    page = review_page(data, info, plots, data.flagged_images())
    target = review_dir / PAGE_FILE
    with writing(target):
        target.write_text(page, encoding="utf-8")
    return Review(data, plots, len(sizes), sum(sizes))


def render_overlays(
    inputs: Iterator[OverlayInput], total: int, progress: Progress = no_progress
) -> list[int]:
    """Write every overlay; the size of each in bytes, in input order."""
    sizes: list[int] = []
    progress(OVERLAYS_DIR, 0, total)
    with ThreadPoolExecutor(max_workers=worker_count()) as threads:
        while chunk := list(islice(inputs, OVERLAY_CHUNK)):
            for size in threads.map(write_overlay, chunk):
                sizes.append(size)
                progress(OVERLAYS_DIR, len(sizes), max(total, len(sizes)))
    return sizes
