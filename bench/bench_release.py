"""Benchmark of `unitylv release` on the sample data, stage by stage (run by hand: make bench).

Each stage's pure function is timed with its peak traced memory (tracemalloc sees numpy and
pyarrow buffers allocated through Python's allocator); then the whole Dagster job is timed
end to end, as `unitylv release` runs it.
"""

import os
import platform
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assets.consensus_assets import _consensus_of
from assets.runner import run_job
from pipeline.agreement.stage import image_agreement
from pipeline.consensus.image_curves import image_curves
from pipeline.masks.files import write_all_masks
from pipeline.measurements import stage as measurement_stage
from pipeline.parallel import map_images, worker_count
from pipeline.source.reader import read_source
from pipeline.source.validation import validate_raw
from pipeline.synth import SynthOptions, synthesize
from pipeline.tables import source_tables as tables


def measure(fn: Callable[[], object]) -> tuple[object, float, float]:
    """(result, seconds, peak MiB traced) of one call."""
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def consensus_stage_rows(built: dict, validated, base: Path) -> list[tuple[str, float, float]]:
    """The consensus, masks, agreement and measurement stages (run on every core)."""
    rows = []
    per_image = image_curves(built["points"], built["images"])
    items = [(i, validated.consensus.get(i.image_id)) for i in per_image]
    results, s, m = measure(lambda: map_images(_consensus_of, items))
    rows.append(("consensus (5 methods + 11 leave-one-out)", s, m))
    _, s, m = measure(lambda: write_all_masks(results, base / "masks"))
    rows.append(("masks (3000 PNGs)", s, m))
    _, s, m = measure(lambda: map_images(image_agreement, results))
    rows.append(("agreement (6600 + 11000 pairs)", s, m))
    _, s, m = measure(
        lambda: measurement_stage.study_measurements(
            [r for res in results for r in measurement_stage.image_measurements(res)]
        )
    )
    rows.append(("measurements (3000 disc volumes)", s, m))
    return rows


def main() -> None:
    os.environ.pop("DAGSTER_HOME", None)
    console = Console()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source = base / "source"
        _, s, m = measure(lambda: synthesize(source, SynthOptions()))
        rows.append(("synth (100 studies)", s, m))
        raw, s, m = measure(lambda: read_source(source))
        rows.append(("read source JSON", s, m))
        validated, s, m = measure(lambda: validate_raw(raw))
        rows.append(("validate (decode 200 PNGs)", s, m))
        built = {}
        for name in ("images", "studies", "experts", "points", "contours", "rejects"):
            build = getattr(tables, f"{name}_table")
            built[name], s, m = measure(lambda build=build: build(validated))
            rows.append((f"table {name}", s, m))
        rows += consensus_stage_rows(built, validated, base)
        start = time.perf_counter()
        run_job(
            "release", source, base / "releases", base / "work", version="1.0.0", progress=False
        )
        total = time.perf_counter() - start
    table = Table("stage", "wall s", "peak traced MiB", title="unitylv release on the sample data")
    for stage, seconds, peak in rows:
        table.add_row(stage, f"{seconds:.2f}", f"{peak:.0f}")
    table.add_row("[bold]Dagster release job, end to end", f"{total:.2f}", "")
    console.print(table)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(
        f"process peak RSS {max_rss:.0f} MiB; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {worker_count()} worker processes, "
        f"Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
