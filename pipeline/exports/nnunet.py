"""An nnU-Net v2 raw dataset of a release: grayscale frames and consensus labels.

`write_nnunet` writes `data/nnunet/<NNUNET_DATASET_NAME>/`:

    dataset.json
    imagesTr/<image_id>_0000.png    the frame as 8-bit grayscale (8-bit grayscale frames
                                    copied byte for byte, others converted by
                                    `pipeline.image_files.to_grey8`)
    labelsTr/<image_id>.png         the default consensus mask (arclength_mean): 0 background,
                                    1 left ventricle, uint8, the frame's size
    labelsTr_<expert_id>/<image_id>.png   the same for one expert (E01, E02, ...)
    labelsTr_<method>/<image_id>.png      the other consensus methods (published_mean,
                                          majority, staple)

The case identifier is the image_id. nnU-Net reads only `imagesTr` and `labelsTr`; to train on
another rater, rename its folder to `labelsTr`. An image a rater has no mask for (an expert who
did not annotate it, a consensus method undefined on it) has NO file in that rater's folder, so
for such a rater either drop the unlabelled cases from `imagesTr` and lower `numTraining`, or
list the labelled cases under a "dataset" key in dataset.json (nnU-Net v2 supports both).
dataset.json names every label folder and its case count under `label_folders`.

The integrity rules nnU-Net applies are reproduced by
`pipeline.exports.nnunet_integrity.nnunet_integrity_problems`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from PIL import Image

from pipeline.errors import ReleaseError, writing
from pipeline.exports.layout import IMAGES_DIR, NNUNET_DIR
from pipeline.exports.nnunet_integrity import nnunet_integrity_problems
from pipeline.exports.payload_tables import image_batches, rows
from pipeline.masks.files import EXPERT
from pipeline.names import DEFAULT_METHOD
from pipeline.release.info import ReleaseInfo
from pipeline.source.images import to_grey8
from pipeline.tables.table_files import TableReader, sorted_batches, table_reader

__all__ = ["nnunet_integrity_problems", "write_nnunet"]

CHANNEL_SUFFIX = "_0000"
FILE_ENDING = ".png"
LABELS = {"background": 0, "left_ventricle": 1}
PNG_COMPRESS_LEVEL = 6
FRAMES_DIR = "nnunet_frames"


@dataclass
class LabelFolder:
    """One rater's label folder: who it holds, and the image_ids it has a mask for."""

    rater: str
    cases: set[str] = field(default_factory=set)


def write_nnunet(
    data_dir: Path,
    tables: TableReader | dict[str, pa.Table],
    info: ReleaseInfo,
    work_dir: Path | None = None,
) -> Path:
    """Write (replacing) data/nnunet/<NNUNET_DATASET_NAME>/; the dataset folder.

    Frames and masks are copied as the image and mask rows stream by; dataset.json, which
    counts them, comes last. Frames the derivation already made under `work_dir` are copied,
    the others converted here.
    """
    tables = table_reader(tables)
    dataset_dir = data_dir / NNUNET_DIR
    missing = _images_without_default_mask(tables)
    if missing:
        raise ReleaseError(
            f"no {DEFAULT_METHOD} mask for {len(missing)} image(s)", record=missing[0]
        )
    if dataset_dir.exists():
        shutil.rmtree(dataset_dir)
    (dataset_dir / "imagesTr").mkdir(parents=True)
    n_cases = 0
    for row in rows(image_batches(tables, ["file_name"])):
        target = dataset_dir / "imagesTr" / f"{row['image_id']}{CHANNEL_SUFFIX}{FILE_ENDING}"
        made = None if work_dir is None else frame_path(work_dir, row["image_id"])
        if made is not None and made.is_file():
            shutil.copyfile(made, target)  # made by the derivation from the same frame
        else:
            write_grayscale(data_dir / IMAGES_DIR / row["file_name"], target)
        n_cases += 1
    folders = _write_label_folders(data_dir, dataset_dir, tables)
    document = dataset_json(info, n_cases, folders)
    (dataset_dir / "dataset.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=True) + "\n", encoding="ascii"
    )
    return dataset_dir


def frame_path(work_dir: Path, image_id: str) -> Path:
    """Where the derivation leaves an image's nnU-Net frame, for releases to copy."""
    return work_dir / FRAMES_DIR / f"{image_id}{CHANNEL_SUFFIX}{FILE_ENDING}"


def write_grayscale(source: Path, target: Path) -> None:
    """The frame as an 8-bit single-channel PNG: copied if it already is one, else converted.
    Written whole or not at all (a partial file is renamed into place only when complete)."""
    if not source.is_file():
        raise ReleaseError("image file is missing", file=str(source))
    partial = target.with_name(target.name + ".partial")
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(source) as image:
            if image.format == "PNG" and image.mode == "L":
                shutil.copyfile(source, partial)
            else:
                grey = Image.fromarray(to_grey8(image), "L")
                grey.save(partial, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        partial.replace(target)


def _images_without_default_mask(tables: TableReader) -> list[str]:
    """image_ids (sorted, once each) that have no mask of the default consensus."""
    image_ids = tables.columns("images", ["image_id"])["image_id"]
    masks = tables.columns("masks", ["image_id", "method"])
    labelled = masks.filter(pc.equal(masks["method"], DEFAULT_METHOD))["image_id"]
    unlabelled = pc.invert(pc.is_in(image_ids, value_set=labelled.combine_chunks()))
    return sorted(pc.unique(image_ids.filter(unlabelled)).to_pylist())


def _write_label_folders(
    data_dir: Path, dataset_dir: Path, tables: TableReader
) -> dict[str, LabelFolder]:
    """Copy every mask into its label folder; the folders, labelsTr (the default consensus)
    first, then in (rater, method) order."""
    folders = {"labelsTr": LabelFolder(f"consensus {DEFAULT_METHOD} (the default)")}
    (dataset_dir / "labelsTr").mkdir()
    masks = sorted_batches(tables, "masks", ["path"], ("rater", "method", "image_id"))
    for row in rows(masks):
        if row["method"] == DEFAULT_METHOD:
            name, rater = "labelsTr", folders["labelsTr"].rater
        elif row["method"] == EXPERT:
            name, rater = f"labelsTr_{row['rater']}", f"expert {row['rater']}"
        else:
            name, rater = f"labelsTr_{row['method']}", f"consensus {row['method']}"
        if name not in folders:
            folders[name] = LabelFolder(rater)
            (dataset_dir / name).mkdir()
        target = dataset_dir / name / f"{row['image_id']}{FILE_ENDING}"
        shutil.copyfile(data_dir / row["path"], target)
        folders[name].cases.add(row["image_id"])
    return folders


def dataset_json(info: ReleaseInfo, n_cases: int, folders: dict[str, LabelFolder]) -> dict:
    """nnU-Net v2's dataset.json: the required keys first, then the dataset's provenance."""
    meta = info.meta
    return {
        "channel_names": {"0": "echo"},
        "labels": dict(LABELS),
        "numTraining": n_cases,
        "file_ending": FILE_ENDING,
        "overwrite_image_reader_writer": "NaturalImage2DIO",
        "name": meta["dataset"]["name"],
        "description": (
            f"{meta['dataset']['title']}. Grayscale frames; labelsTr holds the {DEFAULT_METHOD} "
            "consensus of the experts' left-ventricle cavities (pixel centre inside the polygon)."
        ),
        "reference": meta["attribution"]["citation"],
        "licence": info.licence_spdx,
        "licence_url": info.licence_url,
        "attribution": meta["attribution"]["text"],
        "release": info.version,
        "release_date": info.date,
        "label_folders": {
            name: {"rater": folder.rater, "cases": len(folder.cases)}
            for name, folder in folders.items()
        },
    }
