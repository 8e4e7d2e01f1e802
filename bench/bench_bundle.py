"""Time writing a release bundle from a derived work folder, step by step (run by hand).

    .venv/bin/python bench/bench_bundle.py [--source S --work W]

Without --source and --work, the default sample is generated and derived first (not timed).
Each step of the payload runs on its own into a scratch folder, then the bag, the archive, a
whole cut and an identical re-cut (a no-op); CPU seconds beside wall seconds show how much
of a step's time was another process's. Last, the peak memory traced while writing the COCO
files (Python objects and numpy arrays; Arrow's own buffers are not traced).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assets.runner import run_job
from pipeline.exports.coco import write_coco
from pipeline.exports.croissant import write_croissant
from pipeline.exports.dataset_card import write_dataset_card
from pipeline.exports.layout import NNUNET_DIR
from pipeline.exports.nnunet import nnunet_integrity_problems, write_nnunet
from pipeline.release.bag import bag_info, make_bag, write_archive
from pipeline.release.cut import cut_release
from pipeline.release.info import ReleaseInfo, source_date
from pipeline.release.payload import copy_images, copy_masks, write_payload, write_tables
from pipeline.release.publish import remove_tree
from pipeline.review.report import write_review
from pipeline.source.licence import load_metadata
from pipeline.synth import SynthOptions, synthesize
from pipeline.tables.table_files import TableFiles


def timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def derived_sample(base: Path) -> tuple[Path, Path]:
    source, work = base / "source", base / "work"
    synthesize(source, SynthOptions())
    run_job("derive", source, base / "releases", work, progress=False)
    return source, work


def bench(source: Path, work: Path, scratch: Path) -> list[tuple[str, float, float]]:
    info = ReleaseInfo("1.0.0", source_date(source), load_metadata())
    tables = TableFiles(work / "tables")
    bag = scratch / "bag"
    bag.mkdir(parents=True)

    def copies() -> None:
        for batch in tables.batches("masks", ["path", "sha256"]):
            copy_masks(batch, work, bag)
        for batch in tables.batches("images", ["file_name", "sha256"]):
            copy_images(batch, source, bag)

    checksums: dict[str, str] = {}
    steps: list[tuple[str, Callable[[], object]]] = [
        (
            "tables (restamped copies)",
            lambda: checksums.update(write_tables(bag, tables, info.meta, info.version)),
        ),
        ("masks and images (hash-checked copies)", copies),
        ("review (overlays, plots, page)", lambda: write_review(bag, tables, info)),
        ("COCO", lambda: write_coco(bag, tables, info)),
        ("nnU-Net", lambda: write_nnunet(bag, tables, info)),
        ("nnU-Net integrity check", lambda: nnunet_integrity_problems(bag / NNUNET_DIR)),
        (
            "dataset card and Croissant",
            lambda: (
                write_dataset_card(bag, tables, info),
                write_croissant(bag, tables, info, checksums),
            ),
        ),
        ("bag (bagit hashes the payload)", lambda: make_bag(bag, bag_info(info, "bench"))),
        (
            "archive (tar + igzip, hashed as written)",
            lambda: write_archive(bag, scratch / "a.tar.gz", "bench", 0),
        ),
    ]
    rows = []
    for name, step in steps:
        _, wall, cpu = timed(step)
        rows.append((name, wall, cpu))
    releases = scratch / "releases"
    for name in ("whole cut", "identical re-cut (no-op)"):
        cut = lambda: cut_release(  # noqa: E731
            releases,
            info,
            lambda folder: write_payload(folder, tables, info, source, work, releases),
        )
        _, wall, cpu = timed(cut)
        rows.append((name, wall, cpu))
    coco = scratch / "coco"
    coco.mkdir()
    tracemalloc.start()
    write_coco(coco, tables, info)
    rows.append(("COCO peak traced MiB", tracemalloc.get_traced_memory()[1] / 2**20, float("nan")))
    tracemalloc.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="unitylv-bench-bundle-") as tmp:
        base = Path(tmp)
        source, work = (args.source, args.work) if args.work else derived_sample(base)
        rows = bench(source, work, base / "scratch")
        remove_tree(base / "scratch")  # a read-only release inside
    table = Table("step", "wall s", "CPU s", show_edge=False)
    for name, wall, cpu in rows:
        table.add_row(name, f"{wall:.2f}", "" if cpu != cpu else f"{cpu:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
