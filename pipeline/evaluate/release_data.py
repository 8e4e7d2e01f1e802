"""A release opened read-only for evaluation: its tables checked, its images and experts.

A release is data from elsewhere. Only the tables the schema defines are opened (the
catalog's rule: anything else in `tables/` refuses the release), each is checked to have its
schema, and every image id to be a published file name; a fault is one ReleaseError naming
the file and record. Nothing is ever written below the release. Each image's references are
read by `pipeline.evaluate.references`, the experts' agreement with each other by
`pipeline.evaluate.expert_pairs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.constants import IMAGE_NAME_PATTERN, MAX_IMAGE_PIXELS, PHASES
from pipeline.errors import ReleaseError
from pipeline.exports.layout import table_path
from pipeline.release.catalog import release_tables
from pipeline.release.cut import SEMVER
from pipeline.tables.schemas import TABLES
from pipeline.tables.table_files import TableFiles

NEEDED_TABLES = (
    "images",
    "experts",
    "points",
    "consensus",
    "consensus_points",
    "pairwise_agreement",
)


@dataclass(frozen=True)
class ReleaseImage:
    """One image of the release, as its `images` row gives it."""

    image_id: str
    study_id: str
    phase: str
    width: int
    height: int

    @property
    def diagonal_px(self) -> float:
        """The largest distance within the frame: what an empty mask's distances count as."""
        return math.hypot(self.width, self.height)


class EvaluationRelease:
    """A release folder (or its data/) opened for evaluation."""

    def __init__(self, path: Path):
        self.path = path
        self.data_dir = path / "data" if (path / "data").is_dir() else path
        found = release_tables(self.data_dir)
        missing = [name for name in NEEDED_TABLES if name not in found]
        if missing:
            raise ReleaseError(
                f"the release has no {', '.join(missing)} table: not a release of this version",
                file=str(self.data_dir),
            )
        for name in NEEDED_TABLES:
            self._check_schema(name, found[name])
        self.tables = TableFiles(self.data_dir / "tables", tuple(sorted(found)))
        self.version = self._version(found["images"])
        self.images = self._images()
        with self.reading("experts"):
            experts = self.tables.columns("experts", ["expert_id"])["expert_id"]
        self.expert_ids = tuple(sorted(experts.to_pylist()))
        if len(self.expert_ids) < 2:
            raise ReleaseError(
                "has fewer than two experts: no agreement between experts to compare a model with",
                file=self.shown(table_path("experts")),
            )

    # -- checks -------------------------------------------------------------------------------

    @contextmanager
    def reading(self, name: str) -> Iterator[None]:
        """An Arrow or OS error while reading a table becomes a ReleaseError naming it."""
        try:
            yield
        except (pa.ArrowException, OSError) as exc:
            cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ReleaseError(
                f"cannot be read ({cause}): run `unitylv verify` on the release",
                file=self.shown(table_path(name)),
            ) from None

    def shown(self, relative: str) -> str:
        return str(self.data_dir / relative)

    def _check_schema(self, name: str, path: Path) -> None:
        with self.reading(name):
            schema = pq.read_schema(path)
        if not schema.remove_metadata().equals(TABLES[name].schema.remove_metadata()):
            raise ReleaseError(
                f"not a {name} table of this version (its columns differ)",
                file=self.shown(table_path(name)),
            )

    def _version(self, images_file: Path) -> str:
        with self.reading("images"):
            metadata = pq.read_schema(images_file).metadata or {}
        version = metadata.get(b"unitylv.release_version", b"").decode("utf-8", "replace")
        if not SEMVER.fullmatch(version):
            raise ReleaseError(
                "not stamped with a release version X.Y.Z: not a published release",
                file=self.shown(table_path("images")),
            )
        return version

    def _images(self) -> list[ReleaseImage]:
        columns = ["image_id", "study_id", "phase", "width", "height"]
        with self.reading("images"):
            rows = self.tables.columns("images", columns).sort_by("image_id").to_pylist()
        images, seen = [], set()
        for row in rows:
            image_id = row["image_id"]
            problem = None
            if not IMAGE_NAME_PATTERN.fullmatch(f"{image_id}.png"):
                problem = "is not a published image name"
            elif image_id in seen:
                problem = "appears twice"
            elif row["phase"] not in PHASES:
                problem = f"has phase {row['phase']!r}, not ED or ES"
            elif not (row["width"] > 0 and row["height"] > 0) or (
                row["width"] * row["height"] > MAX_IMAGE_PIXELS
            ):
                problem = f"has an impossible size {row['width']}x{row['height']}"
            if problem:
                raise ReleaseError(
                    problem, file=self.shown(table_path("images")), record=repr(image_id)[:90]
                )
            seen.add(image_id)
            images.append(ReleaseImage(**row))
        if not images:
            raise ReleaseError("has no images", file=self.shown(table_path("images")))
        return images


def positions(values: pa.ChunkedArray | pa.Array, value_set: pa.Array) -> np.ndarray:
    """Each value's position in `value_set`, -1 where it is not there."""
    index = pc.index_in(values, value_set=value_set)
    return pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int64)
