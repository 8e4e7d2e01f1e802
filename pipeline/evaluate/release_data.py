"""A release opened read-only for evaluation: its images and each image's references.

A release is data from elsewhere. Only the tables the schema defines are opened (the
catalog's rule: anything else in `tables/` refuses the release), each is checked to have its
schema, every image id to be a published file name, every curve to be finite and on its image,
and every mask file to be a regular file of its image's size; a fault is one ReleaseError
naming the file and record. Nothing is ever written below the release.

The references of an image are its experts and its consensus methods, each as a full-frame
mask and a contour: expert and curve-method masks are rasterised from the release's curves
(`points`, `consensus_points`) exactly as the pipeline made the published masks; the mask
methods (majority, STAPLE) are read from their mask files, with the outlines in `consensus`.
"""

from __future__ import annotations

import io
import math
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from PIL import Image

from pipeline.agreement.metrics import SampledBoundary
from pipeline.constants import (
    IMAGE_NAME_PATTERN,
    MAX_IMAGE_PIXELS,
    OUTSIDE_IMAGE_TOLERANCE_PX,
    PHASES,
)
from pipeline.errors import ReleaseError
from pipeline.exports.layout import MASKS_DIR, table_path
from pipeline.exports.payload_tables import curves_in_order
from pipeline.masks.files import mask_path
from pipeline.masks.raster import rasterise
from pipeline.names import CURVE_METHODS, MASK_METHODS
from pipeline.release.catalog import release_tables
from pipeline.release.cut import SEMVER
from pipeline.source.curves import CurveProblem, check_inside_image
from pipeline.tables.schemas import TABLES
from pipeline.tables.table_files import TableFiles, sorted_batches

NEEDED_TABLES = (
    "images",
    "experts",
    "points",
    "consensus",
    "consensus_points",
    "masks",
    "pairwise_agreement",
)
PAIR_METRICS = ("dice", "iou", "hausdorff_px", "hd95_px", "mean_contour_distance_px")
# A released mask PNG is ~5-50 KB; a file far bigger is not one.
MAX_MASK_FILE_BYTES = 64 * 1024**2
EXPERT_KIND, CONSENSUS_KIND = "expert", "consensus"
REFERENCE_METHODS = (*CURVE_METHODS, *MASK_METHODS)


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


@dataclass(frozen=True)
class Reference:
    """An expert or a consensus of one image: its full-frame mask and its contour."""

    name: str  # expert_id, or the consensus method
    kind: str  # expert or consensus
    mask: np.ndarray  # (H, W) uint8, 0/1
    boundary: SampledBoundary  # the cavity's contour (a mask method's: its outline)
    curve: np.ndarray | None  # the open curve (experts and curve methods), for volumes


@dataclass(frozen=True)
class ExpertPairs:
    """Every pair of experts' agreement per image, from the release's own tables.

    `values[metric]` is (images, pairs), NaN where a pair did not both trace an image;
    pair p joins experts `pairs[p]` (indices into `expert_ids`).
    """

    expert_ids: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]
    values: dict[str, np.ndarray]


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
        with self._reading("experts"):
            experts = self.tables.columns("experts", ["expert_id"])["expert_id"]
        self.expert_ids = tuple(sorted(experts.to_pylist()))
        if len(self.expert_ids) < 2:
            raise ReleaseError(
                "has fewer than two experts: no agreement between experts to compare a model with",
                file=self._shown(table_path("experts")),
            )

    # -- checks -------------------------------------------------------------------------------

    @contextmanager
    def _reading(self, name: str) -> Iterator[None]:
        """An Arrow or OS error while reading a table becomes a ReleaseError naming it."""
        try:
            yield
        except (pa.ArrowException, OSError) as exc:
            cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ReleaseError(
                f"cannot be read ({cause}): run `unitylv verify` on the release",
                file=self._shown(table_path(name)),
            ) from None

    def _shown(self, relative: str) -> str:
        return str(self.data_dir / relative)

    def _check_schema(self, name: str, path: Path) -> None:
        with self._reading(name):
            schema = pq.read_schema(path)
        if not schema.remove_metadata().equals(TABLES[name].schema.remove_metadata()):
            raise ReleaseError(
                f"not a {name} table of this version (its columns differ)",
                file=self._shown(table_path(name)),
            )

    def _version(self, images_file: Path) -> str:
        with self._reading("images"):
            metadata = pq.read_schema(images_file).metadata or {}
        version = metadata.get(b"unitylv.release_version", b"").decode("utf-8", "replace")
        if not SEMVER.fullmatch(version):
            raise ReleaseError(
                "not stamped with a release version X.Y.Z: not a published release",
                file=self._shown(table_path("images")),
            )
        return version

    def _images(self) -> list[ReleaseImage]:
        columns = ["image_id", "study_id", "phase", "width", "height"]
        with self._reading("images"):
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
                    problem, file=self._shown(table_path("images")), record=repr(image_id)[:90]
                )
            seen.add(image_id)
            images.append(ReleaseImage(**row))
        if not images:
            raise ReleaseError("has no images", file=self._shown(table_path("images")))
        return images

    # -- references ---------------------------------------------------------------------------

    def references(
        self, images: Iterable[ReleaseImage]
    ) -> Iterator[tuple[ReleaseImage, list[Reference]]]:
        """Each image's references, experts (by expert_id) first, then the consensus methods.

        The tables are streamed in image_id order alongside the images (which must come in that
        order), so memory follows one image.
        """
        experts = _ByImage(self._expert_curves())
        curves = _ByImage(self._consensus_curves())
        outlines = _ByImage(self._mask_outlines())
        for image in images:
            references = [
                self._curve_reference(image, expert_id, EXPERT_KIND, curve)
                for expert_id, curve in sorted(experts.pop(image.image_id).items())
            ]
            image_curves = curves.pop(image.image_id)
            references += [
                self._curve_reference(image, method, CONSENSUS_KIND, image_curves[method])
                for method in CURVE_METHODS
                if method in image_curves
            ]
            image_outlines = outlines.pop(image.image_id)
            references += [
                Reference(
                    method,
                    CONSENSUS_KIND,
                    self._mask_file(image, method),
                    self._boundary(image_outlines[method], "consensus", image, method),
                    None,
                )
                for method in MASK_METHODS
                if method in image_outlines
            ]
            yield image, references

    def _curve_reference(
        self, image: ReleaseImage, name: str, kind: str, curve: np.ndarray
    ) -> Reference:
        table = "points" if kind == EXPERT_KIND else "consensus_points"
        problem = None
        if len(curve) < 3 or not np.isfinite(curve).all():
            problem = "is not a curve of at least 3 finite points"
        else:
            try:
                check_inside_image(curve, image.width, image.height)
            except CurveProblem as exc:
                problem = str(exc)
        if problem:
            raise ReleaseError(
                problem, file=self._shown(table_path(table)), record=f"{image.image_id}/{name}"
            )
        mask = rasterise(curve, image.width, image.height)
        return Reference(name, kind, mask, self._boundary(curve, table, image, name), curve)

    def _boundary(
        self, shape: np.ndarray | shapely.Geometry, table: str, image: ReleaseImage, name: str
    ) -> SampledBoundary:
        if isinstance(shape, shapely.Geometry):
            x0, y0, x1, y1 = shapely.bounds(shape)
            tol = OUTSIDE_IMAGE_TOLERANCE_PX
            if not (
                -tol <= x0 and -tol <= y0 and x1 <= image.width + tol and y1 <= image.height + tol
            ):
                raise ReleaseError(
                    "outline lies outside its image",
                    file=self._shown(table_path(table)),
                    record=f"{image.image_id}/{name}",
                )
        try:
            return SampledBoundary(shape)
        except ValueError as exc:  # a curve that encloses nothing
            raise ReleaseError(
                f"has no contour to measure ({exc})",
                file=self._shown(table_path(table)),
                record=f"{image.image_id}/{name}",
            ) from None

    def _expert_curves(self) -> Iterator[tuple[tuple[str, str], np.ndarray]]:
        keys = ("image_id", "expert_id", "point_index")
        with self._reading("points"):
            yield from curves_in_order(
                sorted_batches(self.tables, "points", ["x", "y"], keys), "expert_id"
            )

    def _consensus_curves(self) -> Iterator[tuple[tuple[str, str], np.ndarray]]:
        keys = ("image_id", "method", "left_out_expert_id", "point_index")
        wanted = pa.array(CURVE_METHODS, pa.string())
        with self._reading("consensus_points"):
            batches = sorted_batches(self.tables, "consensus_points", ["x", "y"], keys)
            kept = (
                b.filter(
                    pc.and_(pc.is_in(b["method"], wanted), pc.is_null(b["left_out_expert_id"]))
                )
                for b in batches
            )
            yield from curves_in_order(kept, "method")

    def _mask_outlines(self) -> Iterator[tuple[tuple[str, str], shapely.Geometry]]:
        keys = ("image_id", "method", "left_out_expert_id")
        wanted = pa.array(MASK_METHODS, pa.string())
        with self._reading("consensus"):
            for batch in sorted_batches(self.tables, "consensus", ["geometry"], keys):
                batch = batch.filter(pc.is_in(batch["method"], wanted))
                image_ids, methods = batch["image_id"].to_pylist(), batch["method"].to_pylist()
                geometries = self._geometries(batch["geometry"], image_ids, methods)
                yield from zip(zip(image_ids, methods, strict=True), geometries, strict=True)

    def _geometries(self, wkb: pa.Array, image_ids: list[str], methods: list[str]) -> list:
        try:
            geometries = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
        except shapely.errors.ShapelyError:
            geometries = None
        bad = (
            range(len(image_ids))
            if geometries is None
            else np.flatnonzero(
                ~np.isin(shapely.get_type_id(geometries), (3, 6)) | shapely.is_empty(geometries)
            )
        )
        if len(bad):
            i = bad[0]
            raise ReleaseError(
                "geometry is not a polygon",
                file=self._shown(table_path("consensus")),
                record=f"{image_ids[i]}/{methods[i]}",
            )
        return list(geometries)

    def _mask_file(self, image: ReleaseImage, method: str) -> np.ndarray:
        """A mask method's released PNG: a regular file of the image's size holding 0 and 1."""
        path = self.data_dir / mask_path(method, image.image_id)
        shown = self._shown(mask_path(method, image.image_id))
        try:
            info = os.lstat(path)
        except OSError as exc:
            raise ReleaseError(f"cannot be read ({exc.strerror})", file=shown) from None
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MASK_FILE_BYTES:
            raise ReleaseError(f"is not a mask file of {MASKS_DIR}/", file=shown)
        try:
            with Image.open(io.BytesIO(path.read_bytes()), formats=["PNG"]) as png:
                if png.size != (image.width, image.height) or png.mode != "L":
                    raise ReleaseError(
                        f"is a {png.size[0]}x{png.size[1]} {png.mode} image, not the "
                        f"{image.width}x{image.height} single-channel mask of its image",
                        file=shown,
                    )
                mask = np.asarray(png, dtype=np.uint8)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ReleaseError(
                f"does not decode as a PNG ({type(exc).__name__})", file=shown
            ) from None
        if mask.max(initial=0) > 1:
            raise ReleaseError("holds values other than 0 and 1", file=shown)
        return mask

    # -- the experts' agreement with each other -------------------------------------------------

    def expert_pairs(self, images: list[ReleaseImage]) -> ExpertPairs:
        """Each pair of experts' agreement on each of `images`: the release's own
        `pairwise_agreement`, made by the same metrics as the model's scores."""
        experts = self.expert_ids
        pairs = tuple((a, b) for a in range(len(experts)) for b in range(a + 1, len(experts)))
        pair_of = np.full((len(experts), len(experts)), -1)
        for p, (a, b) in enumerate(pairs):
            pair_of[a, b] = pair_of[b, a] = p
        image_ids = pa.array([image.image_id for image in images], pa.string())
        expert_array = pa.array(experts, pa.string())
        with self._reading("pairwise_agreement"):
            table = self.tables.columns(
                "pairwise_agreement", ["image_id", "expert_a", "expert_b", *PAIR_METRICS]
            )
        rows = positions(table["image_id"], image_ids)
        a, b = (
            positions(table["expert_a"], expert_array),
            positions(table["expert_b"], expert_array),
        )
        keep = (rows >= 0) & (a >= 0) & (b >= 0) & (a != b)
        columns = pair_of[a[keep], b[keep]]
        values = {}
        for metric in PAIR_METRICS:
            grid = np.full((len(images), len(pairs)), np.nan)
            grid[rows[keep], columns] = table[metric].to_numpy()[keep]
            values[metric] = grid
        return ExpertPairs(experts, pairs, values)


def positions(values: pa.ChunkedArray | pa.Array, value_set: pa.Array) -> np.ndarray:
    """Each value's position in `value_set`, -1 where it is not there."""
    index = pc.index_in(values, value_set=value_set)
    return pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int64)


class _ByImage:
    """An ordered stream of ((image_id, key), value), asked for image by image in order."""

    def __init__(self, stream: Iterator[tuple[tuple[str, str], object]]):
        self._stream = stream
        self._current = next(self._stream, None)

    def pop(self, image_id: str) -> dict:
        """key -> value of `image_id`; entries of earlier images are passed over for good."""
        found = {}
        while self._current is not None and self._current[0][0] <= image_id:
            (current_image, key), value = self._current
            if current_image == image_id:
                found[key] = value
            self._current = next(self._stream, None)
        return found
