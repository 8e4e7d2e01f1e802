"""Each image's references, read from a release as the images stream by.

The references of an image are its experts and its consensus methods, each as a full-frame
mask and a contour. Expert and curve-method masks are rasterised from the release's curves
(`points`, `consensus_points`) exactly as the pipeline made the published masks; the mask
methods (majority, STAPLE) are read from their mask files, with their outlines from
`consensus`. Every curve is checked to be finite and on its image, every outline to lie on
its image and every mask file to be a regular file of its image's size holding 0 and 1; a
fault is one ReleaseError naming the file and record.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from PIL import Image

from pipeline.agreement.metrics import SampledBoundary
from pipeline.constants import OUTSIDE_IMAGE_TOLERANCE_PX
from pipeline.errors import ReleaseError
from pipeline.evaluate.release_data import EvaluationRelease, ReleaseImage
from pipeline.exports.layout import MASKS_DIR, table_path
from pipeline.exports.payload_tables import curves_in_order
from pipeline.masks.files import mask_path
from pipeline.masks.raster import rasterise
from pipeline.names import CURVE_METHODS, MASK_METHODS
from pipeline.source.curves import CurveProblem, check_inside_image
from pipeline.tables.table_files import sorted_batches

EXPERT_KIND, CONSENSUS_KIND = "expert", "consensus"
# A released mask PNG is ~5-50 KB; a file far bigger is not one.
MAX_MASK_FILE_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class Reference:
    """An expert or a consensus of one image: its full-frame mask and its contour."""

    name: str  # expert_id, or the consensus method
    kind: str  # expert or consensus
    mask: np.ndarray  # (H, W) uint8, 0/1
    boundary: SampledBoundary  # the cavity's contour (a mask method's: its outline)
    curve: np.ndarray | None  # the open curve (experts and curve methods), for volumes


def image_references(
    release: EvaluationRelease, images: Iterable[ReleaseImage]
) -> Iterator[tuple[ReleaseImage, list[Reference]]]:
    """Each image's references, experts (by expert_id) first, then the consensus methods.

    The tables are streamed in image_id order alongside the images (which must come in that
    order), so memory follows one image.
    """
    experts = _ByImage(_expert_curves(release))
    curves = _ByImage(_consensus_curves(release))
    outlines = _ByImage(_mask_outlines(release))
    for image in images:
        references = [
            _curve_reference(release, image, expert_id, EXPERT_KIND, curve)
            for expert_id, curve in sorted(experts.pop(image.image_id).items())
        ]
        image_curves = curves.pop(image.image_id)
        references += [
            _curve_reference(release, image, method, CONSENSUS_KIND, image_curves[method])
            for method in CURVE_METHODS
            if method in image_curves
        ]
        image_outlines = outlines.pop(image.image_id)
        references += [
            Reference(
                method,
                CONSENSUS_KIND,
                _mask_file(release, image, method),
                _boundary(release, image_outlines[method], "consensus", image, method),
                None,
            )
            for method in MASK_METHODS
            if method in image_outlines
        ]
        yield image, references


def _curve_reference(
    release: EvaluationRelease, image: ReleaseImage, name: str, kind: str, curve: np.ndarray
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
            problem, file=release.shown(table_path(table)), record=f"{image.image_id}/{name}"
        )
    mask = rasterise(curve, image.width, image.height)
    return Reference(name, kind, mask, _boundary(release, curve, table, image, name), curve)


def _boundary(
    release: EvaluationRelease,
    shape: np.ndarray | shapely.Geometry,
    table: str,
    image: ReleaseImage,
    name: str,
) -> SampledBoundary:
    if isinstance(shape, shapely.Geometry):
        x0, y0, x1, y1 = shapely.bounds(shape)
        tol = OUTSIDE_IMAGE_TOLERANCE_PX
        if not (-tol <= x0 and -tol <= y0 and x1 <= image.width + tol and y1 <= image.height + tol):
            raise ReleaseError(
                "outline lies outside its image",
                file=release.shown(table_path(table)),
                record=f"{image.image_id}/{name}",
            )
    try:
        return SampledBoundary(shape)
    except ValueError as exc:  # a curve that encloses nothing
        raise ReleaseError(
            f"has no contour to measure ({exc})",
            file=release.shown(table_path(table)),
            record=f"{image.image_id}/{name}",
        ) from None


def _expert_curves(release: EvaluationRelease) -> Iterator[tuple[tuple[str, str], np.ndarray]]:
    keys = ("image_id", "expert_id", "point_index")
    with release.reading("points"):
        yield from curves_in_order(
            sorted_batches(release.tables, "points", ["x", "y"], keys), "expert_id"
        )


def _consensus_curves(release: EvaluationRelease) -> Iterator[tuple[tuple[str, str], np.ndarray]]:
    keys = ("image_id", "method", "left_out_expert_id", "point_index")
    wanted = pa.array(CURVE_METHODS, pa.string())
    with release.reading("consensus_points"):
        batches = sorted_batches(release.tables, "consensus_points", ["x", "y"], keys)
        kept = (
            b.filter(pc.and_(pc.is_in(b["method"], wanted), pc.is_null(b["left_out_expert_id"])))
            for b in batches
        )
        yield from curves_in_order(kept, "method")


def _mask_outlines(
    release: EvaluationRelease,
) -> Iterator[tuple[tuple[str, str], shapely.Geometry]]:
    keys = ("image_id", "method", "left_out_expert_id")
    wanted = pa.array(MASK_METHODS, pa.string())
    with release.reading("consensus"):
        for batch in sorted_batches(release.tables, "consensus", ["geometry"], keys):
            batch = batch.filter(pc.is_in(batch["method"], wanted))
            image_ids, methods = batch["image_id"].to_pylist(), batch["method"].to_pylist()
            geometries = _geometries(release, batch["geometry"], image_ids, methods)
            yield from zip(zip(image_ids, methods, strict=True), geometries, strict=True)


def _geometries(
    release: EvaluationRelease, wkb: pa.Array, image_ids: list[str], methods: list[str]
) -> list:
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
            file=release.shown(table_path("consensus")),
            record=f"{image_ids[i]}/{methods[i]}",
        )
    return list(geometries)


def _mask_file(release: EvaluationRelease, image: ReleaseImage, method: str) -> np.ndarray:
    """A mask method's released PNG: a regular file of the image's size holding 0 and 1."""
    path = release.data_dir / mask_path(method, image.image_id)
    shown = release.shown(mask_path(method, image.image_id))
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
        raise ReleaseError(f"does not decode as a PNG ({type(exc).__name__})", file=shown) from None
    if mask.max(initial=0) > 1:
        raise ReleaseError("holds values other than 0 and 1", file=shown)
    return mask


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
