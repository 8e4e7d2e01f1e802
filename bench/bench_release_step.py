"""The release step alone, from a work folder a derive already filled (run by hand).

    .venv/bin/python bench/bench_release_step.py WORK SOURCE

Cuts version 1.0.0 into a temporary releases folder beside WORK, calling the release functions
directly (no Dagster, so a changed code fingerprint does not derive again), and prints the
wall time and this process's peak resident memory in each phase (sampled every 0.1 s). At
100x the work folder of `bench/bench_release.py 100 --release-only` is the input: copy it
(`cp -al`) before that run deletes it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow

from pipeline.release import cut, payload, publish
from pipeline.release.info import ReleaseInfo
from pipeline.source.licence import load_metadata
from pipeline.tables.table_files import TableFiles

SAMPLE_SECONDS = 0.1
PHASES = [
    (payload, "write_tables"),
    (payload, "copy_masks"),
    (payload, "copy_images"),
    (payload, "write_review"),
    (payload, "write_coco"),
    (payload, "write_nnunet"),
    (payload, "nnunet_integrity_problems"),
    (cut, "make_bag"),
    (publish, "_build_archive"),
    (publish, "make_read_only"),
]


def resident_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


class PhasePeaks:
    """The peak resident memory and the time spent in each named phase."""

    def __init__(self) -> None:
        self.current = "other"
        self.peaks: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def sample_forever(self) -> None:
        while True:
            self.peaks[self.current] = max(self.peaks.get(self.current, 0), resident_mb())
            time.sleep(SAMPLE_SECONDS)

    def timed(self, name: str, fn: Callable) -> Callable:
        def run(*args, **kwargs):
            outer, self.current = self.current, name
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
                self.current = outer

        return run


def main() -> None:
    work, source = Path(sys.argv[1]), Path(sys.argv[2])
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())  # as the CLI does
    phases = PhasePeaks()
    for module, name in PHASES:
        setattr(module, name, phases.timed(name, getattr(module, name)))
    threading.Thread(target=phases.sample_forever, daemon=True).start()
    info = ReleaseInfo("1.0.0", "2024-01-01", load_metadata())
    tables = TableFiles(work / "tables")
    releases = Path(tempfile.mkdtemp(dir=work.parent, prefix="release_step_"))
    start = time.perf_counter()
    try:
        cut.cut_release(
            releases,
            info,
            lambda folder: payload.write_payload(folder, tables, info, source, work, releases),
        )
    finally:
        total = time.perf_counter() - start
        publish.remove_tree(releases)
        shutil.rmtree(releases, ignore_errors=True)
    print(f"release step: {total:.1f} s, peak {max(phases.peaks.values())} MB")
    for name, peak in sorted(phases.peaks.items(), key=lambda item: -item[1]):
        print(f"  {name:<28} peak {peak:>6} MB  {phases.seconds.get(name, 0.0):8.1f} s")


if __name__ == "__main__":
    main()
