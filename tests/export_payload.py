"""A small real release payload for the export tests, made by the project's own machinery."""

import shutil
from pathlib import Path

import pyarrow as pa

from assets.runner import run_job
from pipeline.constants import IMAGES_DIR
from pipeline.exports.coco import write_coco
from pipeline.exports.nnunet import write_nnunet
from pipeline.release.info import ReleaseInfo
from pipeline.source.licence import load_metadata
from pipeline.synth import SynthOptions, synthesize
from pipeline.tables.parquet_io import read_table
from tests.conftest import writable_copy

INFO = ReleaseInfo("1.0.0", "2024-05-01", load_metadata())


def make_payload(base: Path) -> tuple[Path, dict[str, pa.Table]]:
    """A released data/ folder (3 studies; RGB and L frames; some experts missing), exported.

    The release job writes tables, masks (and images); the exports are then written into a
    private copy of its data/ folder, so the release itself stays untouched.
    """
    source = base / "source"
    options = SynthOptions(
        studies=3, seed=2, missing_expert_fraction=0.5, unequal_count_fraction=0.5
    )
    synthesize(source, options)
    release = run_job(
        "release", source, base / "releases", base / "work", version="1.0.0", progress=False
    )
    released = Path(release.output_for_node("release_bag")) / "data"
    data = writable_copy(released, base / "data")
    shutil.copytree(source / IMAGES_DIR, data / "images", dirs_exist_ok=True)
    tables = {p.stem: read_table(p) for p in sorted((data / "tables").glob("*.parquet"))}
    write_coco(data, tables, INFO)
    write_nnunet(data, tables, INFO)
    return data, tables
