"""Write a synthetic source in the published layout (DESIGN.md §1), byte-for-byte reproducibly.

The source is assembled in a hidden sibling folder and renamed into place, so a crash never
leaves half a source. An existing folder is replaced only if it holds nothing but this layout.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from pipeline.consensus.published import RuleUndefined, published_mean
from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGE_NAME_PATTERN, IMAGES_DIR
from pipeline.errors import UnityLVError
from pipeline.geometry import curve_array
from pipeline.synth.experts import make_experts
from pipeline.synth.options import DEFAULT_OPTIONS, SynthOptions, SynthSummary
from pipeline.synth.plan import plan_images
from pipeline.synth.study import SynthImage, make_study

Curves = list[list[float]]  # [[x...], [y...]]
# zlib level 3 writes these speckled frames smaller and ~2x faster than Pillow's default 6.
PNG_COMPRESS_LEVEL = 3
# 2024-01-01T00:00:00Z: the modification time of every generated file.
SOURCE_MTIME = 1_704_067_200


def _consensus(expert_curves: dict[str, Curves]) -> Curves | None:
    """The published rule over the curves as written, or None where the rule is undefined."""
    try:
        mean = published_mean([curve_array(xs, ys) for xs, ys in expert_curves.values()])
    except RuleUndefined:
        return None
    return [mean[:, 0].tolist(), mean[:, 1].tolist()]


def _write_json(path: Path, content: dict) -> None:
    """Compact JSON, keys in insertion order: the same bytes for the same content."""
    path.write_text(json.dumps(content, separators=(",", ":")), encoding="utf-8")


def _is_replaceable(folder: Path, overwrite: bool) -> bool:
    """True if the folder is missing or empty, or (with `overwrite`) holds only the layout.

    A real download has the same layout, so replacing one needs the caller to say so.
    """
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    if not any(folder.iterdir()):
        return True
    if not overwrite:
        return False
    allowed = {IMAGES_DIR, ANNOTATIONS_FILE, CONSENSUS_FILE}
    if any(entry.name not in allowed for entry in folder.iterdir()):
        return False
    images = folder / IMAGES_DIR
    return not images.exists() or all(
        p.is_file() and IMAGE_NAME_PATTERN.fullmatch(p.name) for p in images.iterdir()
    )


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Swap the finished staging folder in for out_dir."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)


def _add_image(image: SynthImage, images_dir: Path, annotations: dict, consensus: dict) -> None:
    """Write one PNG and record its curves and (where defined) its consensus."""
    image.frame.save(images_dir / image.name, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    written = {uid: [c[:, 0].tolist(), c[:, 1].tolist()] for uid, c in image.curves.items()}
    annotations[image.name] = written
    mean = _consensus(written)
    if mean is not None:
        consensus[image.name] = mean


def synthesize(
    out_dir: Path, options: SynthOptions = DEFAULT_OPTIONS, overwrite: bool = False
) -> SynthSummary:
    """Generate `options.studies` studies (ED + ES frames, expert curves) into out_dir.

    An existing non-empty out_dir is replaced only with `overwrite` and only when it holds
    nothing but the published layout. Every file gets the same fixed modification time, so the
    source's own date (the release date's default) is the same on every run.
    """
    options.validate()
    out_dir = Path(out_dir)
    if not _is_replaceable(out_dir, overwrite):
        hint = "" if overwrite else " (pass overwrite to replace a source layout)"
        raise UnityLVError(f"exists and is not empty; not overwriting{hint}", file=str(out_dir))
    experts = make_experts(options.seed, options.experts)
    plans = plan_images(options)
    staging = out_dir.resolve().with_name(f".{out_dir.resolve().name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / IMAGES_DIR).mkdir(parents=True)
    annotations: dict[str, dict[str, Curves]] = {}
    consensus: dict[str, Curves] = {}
    for index in range(options.studies):
        study_plans = (plans[2 * index], plans[2 * index + 1])
        for image in make_study(options.seed, index, experts, study_plans):
            _add_image(image, staging / IMAGES_DIR, annotations, consensus)
    _write_json(staging / ANNOTATIONS_FILE, annotations)
    _write_json(staging / CONSENSUS_FILE, consensus)
    for path in staging.rglob("*"):
        os.utime(path, (SOURCE_MTIME, SOURCE_MTIME))
    _move_into_place(staging, out_dir)
    curves = [c for per_image in annotations.values() for c in per_image.values()]
    return SynthSummary(
        out_dir=out_dir,
        images=len(annotations),
        curves=len(curves),
        points=sum(len(xs) for xs, _ in curves),
    )
