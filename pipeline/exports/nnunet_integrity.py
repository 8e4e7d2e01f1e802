"""nnU-Net v2's dataset integrity rules, reproduced with numpy and Pillow for 2-D images.

nnunetv2 is too heavy to install here. These are the rules of
`nnunetv2/experiment_planning/verify_dataset_integrity.py` (MIC-DKFZ/nnUNet) and of the helpers
it calls: `utilities/utils.py` (finding cases), `utilities/label_handling/label_handling.py`
(`LabelManager`), `imageio/reader_writer_registry.py` and
`imageio/natural_image_reader_writer.py` (`NaturalImage2DIO`, the reader for .png):

 1. dataset.json exists (and is a JSON object).
 2. It has the keys labels, channel_names, numTraining and file_ending.
 3. Without a "dataset" key, the folders imagesTr and labelsTr exist.
 4. labels declares "background", as a single value equal to 0.
 5. An "ignore" label, if declared, is an integer one above every other label.
 6. Region labels (lists) need regions_class_order, one entry per non-background region.
 7. The label values (ignore included) are consecutive integers: 0, 1, 2, ...
 8. file_ending is one the reader supports (.png, .bmp, .tif for NaturalImage2DIO), and
    overwrite_image_reader_writer, if given, names that reader.
 9. Cases are the names in imagesTr ending in file_ending, minus "_XXXX" and the ending; a
    case's channel files are exactly `<case>_<4 digits><file_ending>` (or, with a "dataset"
    key, the files it lists, each of which must exist).
10. numTraining equals the number of cases.
11. Every case has a label `labelsTr/<case><file_ending>`.
12. Every file can be read by the reader.
13. A 3-D image array has 3 or 4 values per pixel (RGB or RGBA).
14. A label holds only declared label values (ignore included).
15. A case's channel count, an RGB(A) file counting 3 (4), equals len(channel_names).
16. The channel images of a case have the same shape.
17. Images and label hold no NaN.
18. Image and label have the same shape.
19. Image and label have the same spacing. NaturalImage2DIO gives every file the spacing
    (999, 1, 1), so with the only reader supported here (rule 8) this holds by construction.

Stricter than nnU-Net (it would accept these, then train on a wrong dataset or fail later):

20. No stray files: every file in imagesTr is a channel file of a case, every file in labelsTr is
    the label of a case, and neither folder has subfolders.
21. A case's channels are numbered 0000, 0001, ... without gaps.
22. A label has a single channel, and images and labels hold no infinite values.

Only NaturalImage2DIO's formats are supported; other file endings are reported as a problem.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REQUIRED_KEYS = ("labels", "channel_names", "numTraining", "file_ending")
READER = "NaturalImage2DIO"
READER_FILE_ENDINGS = (".png", ".bmp", ".tif")
CHANNEL_DIGITS = 4


@dataclass(frozen=True)
class Case:
    images: list[Path]
    label: Path


def nnunet_integrity_problems(dataset_dir: Path) -> list[str]:
    """Every reason nnU-Net v2 (or rules 20-22 above) would reject the dataset; [] if none."""
    dataset_dir = Path(dataset_dir)
    dataset, problems = _read_dataset_json(dataset_dir)
    if dataset is None:
        return problems
    problems += _label_problems(dataset["labels"], dataset.get("regions_class_order"))
    problems += _reader_problems(dataset)
    if problems:
        return problems
    ending = dataset["file_ending"]
    cases, found = _cases(dataset_dir, dataset)
    problems += found
    if dataset["numTraining"] != len(cases):
        problems.append(
            f"dataset.json: numTraining is {dataset['numTraining']!r} but {len(cases)} "
            "cases were found"
        )
    if "dataset" not in dataset:
        problems += _stray_file_problems(dataset_dir, ending, cases)
    allowed = expected_label_values(dataset["labels"])
    n_channels = len(dataset["channel_names"])
    # Decoding PNGs releases the GIL: threads read cases side by side (results in case order).
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as threads:
        for found in threads.map(
            lambda item: _case_problems(item[0], item[1], n_channels, allowed), cases.items()
        ):
            problems += found
    return problems


def _read_dataset_json(dataset_dir: Path) -> tuple[dict | None, list[str]]:
    """Rules 1-3."""
    path = dataset_dir / "dataset.json"
    if not path.is_file():
        return None, ["dataset.json is missing"]
    try:
        dataset = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [f"dataset.json is not valid JSON ({exc})"]
    if not isinstance(dataset, dict):
        return None, ["dataset.json is not a JSON object"]
    missing = [k for k in REQUIRED_KEYS if k not in dataset]
    problems = [f"dataset.json: required key {k!r} is missing" for k in missing]
    if "dataset" not in dataset:
        problems += [
            f"folder {name} is missing"
            for name in ("imagesTr", "labelsTr")
            if not (dataset_dir / name).is_dir()
        ]
    return (None if problems else dataset), problems


def expected_label_values(labels: dict) -> list[int]:
    """LabelManager.all_labels plus the ignore label: the values a label file may hold."""
    values = set()
    for name, value in labels.items():
        if name != "ignore":
            values.update(int(v) for v in (value if isinstance(value, list | tuple) else [value]))
    ignore = labels.get("ignore")
    return sorted(values) + ([int(ignore)] if ignore is not None else [])


def _label_problems(labels: object, regions_class_order: object) -> list[str]:
    """Rules 4-7."""
    if not isinstance(labels, dict):
        return ["dataset.json: labels must be an object {name: value}"]
    background = labels.get("background")
    if background is None:
        return ["dataset.json: labels must declare 'background' (value 0)"]
    if isinstance(background, list | tuple) or background != 0:
        return [f"dataset.json: the background label must be 0, not {background!r}"]
    try:
        values = expected_label_values(labels)
    except (TypeError, ValueError):
        return ["dataset.json: label values must be integers or lists of integers"]
    problems = []
    ignore = labels.get("ignore")
    others = values[:-1] if ignore is not None else values
    if ignore is not None and (not isinstance(ignore, int) or ignore != max(others) + 1):
        problems.append(f"dataset.json: the ignore label must be {max(others) + 1}, not {ignore!r}")
    regions = [
        v for k, v in labels.items() if k != "ignore" and isinstance(v, list | tuple) and len(v) > 1
    ]
    if regions and (
        not isinstance(regions_class_order, list)
        or len(regions_class_order) != sum(1 for v in regions if set(v) != {0})
    ):
        problems.append("dataset.json: region labels need one regions_class_order entry each")
    gaps = [b for a, b in itertools.pairwise(values) if b - a != 1]
    if gaps:
        problems.append(f"dataset.json: label values must be consecutive (0, 1, 2, ...): {values}")
    return problems


def _reader_problems(dataset: dict) -> list[str]:
    """Rule 8."""
    problems = []
    ending = dataset["file_ending"]
    if not isinstance(ending, str) or ending.lower() not in READER_FILE_ENDINGS:
        problems.append(
            f"dataset.json: file_ending {ending!r} is not one {READER} reads "
            f"({', '.join(READER_FILE_ENDINGS)})"
        )
    reader = dataset.get("overwrite_image_reader_writer")
    if reader not in (None, "None", READER):
        problems.append(f"dataset.json: overwrite_image_reader_writer {reader!r} is not {READER}")
    if not isinstance(dataset["channel_names"], dict):
        problems.append("dataset.json: channel_names must be an object {index: name}")
    return problems


def _cases(dataset_dir: Path, dataset: dict) -> tuple[dict[str, Case], list[str]]:
    """Rules 9 and 11: each case's channel files and label, as nnU-Net finds them."""
    ending = dataset["file_ending"]
    if "dataset" in dataset:
        return _listed_cases(dataset_dir, dataset["dataset"])
    names = sorted(p.name for p in (dataset_dir / "imagesTr").iterdir() if p.is_file())
    names = [n for n in names if n.endswith(ending)]
    # A case's channel files are `<case>_<4 digits><ending>`: such a name's case is the name
    # less its last 5 characters and the ending, so one pass groups them (names are sorted).
    channel = re.compile(r"_[0-9]{4}" + re.escape(ending))
    by_case: dict[str, list[str]] = {}
    for n in names:
        case_id = n[: -(len(ending) + 1 + CHANNEL_DIGITS)]
        files = by_case.setdefault(case_id, [])
        if channel.fullmatch(n, len(case_id)):
            files.append(n)
    cases, problems = {}, []
    for case_id in sorted(by_case):
        images = [dataset_dir / "imagesTr" / n for n in by_case[case_id]]
        label = dataset_dir / "labelsTr" / f"{case_id}{ending}"
        if not label.is_file():
            problems.append(f"case {case_id!r}: label labelsTr/{label.name} is missing")
        cases[case_id] = Case(images, label)
    return cases, problems


def _listed_cases(dataset_dir: Path, listed: dict) -> tuple[dict[str, Case], list[str]]:
    cases, problems = {}, []
    for case_id, entry in listed.items():
        try:
            case = Case([dataset_dir / p for p in entry["images"]], dataset_dir / entry["label"])
        except (KeyError, TypeError):
            problems.append(f"case {case_id!r}: a dataset entry needs 'images' and 'label'")
            continue
        problems += [
            f"case {case_id!r}: listed file {p} is missing"
            for p in [*case.images, case.label]
            if not p.is_file()
        ]
        cases[case_id] = case
    return cases, problems


def _stray_file_problems(dataset_dir: Path, ending: str, cases: dict[str, Case]) -> list[str]:
    """Rule 20."""
    expected = {p for case in cases.values() for p in [*case.images, case.label]}
    problems = []
    for folder in ("imagesTr", "labelsTr"):
        for path in sorted((dataset_dir / folder).iterdir()):
            if path.is_dir():
                problems.append(f"{folder}/{path.name}: unexpected subfolder")
            elif path not in expected:
                problems.append(f"{folder}/{path.name}: stray file (not a {ending} file of a case)")
    return problems


def read_natural_image(path: Path) -> np.ndarray:
    """(channels, 1, H, W) float32, as NaturalImage2DIO.read_images returns one file.

    Raises ValueError for an unreadable file or a 3-D array without 3 or 4 values per pixel.
    """
    where = f"{path.parent.name}/{path.name}"
    try:
        with Image.open(path) as image:
            if image.mode == "P":  # palette files are read as their colours, as imageio does
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            pixels = np.asarray(image)
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{where} cannot be read ({type(exc).__name__})") from None
    if pixels.ndim == 2:
        return pixels[None, None].astype(np.float32)
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        return pixels.transpose(2, 0, 1)[:, None].astype(np.float32)
    raise ValueError(f"{where} has shape {pixels.shape}; a 3-D image must be RGB or RGBA")


def _case_problems(case_id: str, case: Case, n_channels: int, allowed: list[int]) -> list[str]:
    """Rules 12-19, 21 and 22 for one case."""
    where = f"case {case_id!r}"
    suffixes = [p.name[len(case_id) + 1 : len(case_id) + 1 + CHANNEL_DIGITS] for p in case.images]
    problems = []
    if suffixes != [f"{i:04d}" for i in range(len(suffixes))]:
        problems.append(f"{where}: channels are numbered {suffixes}, not 0000, 0001, ...")
    paths = [*case.images, case.label] if case.label.is_file() else case.images
    try:
        read = {p: read_natural_image(p) for p in paths}
    except ValueError as exc:
        return [*problems, f"{where}: {exc}"]
    arrays, label = [read[p] for p in case.images], read.get(case.label)
    if len({a.shape[1:] for a in arrays}) > 1:
        return [*problems, f"{where}: its channel images differ in shape"]
    images = np.concatenate(arrays) if arrays else np.zeros((0, 1, 0, 0), np.float32)
    if len(images) != n_channels:
        problems.append(
            f"{where}: {len(images)} image channel(s), channel_names declares {n_channels}"
        )
    problems += _value_problems(where, images, "image")
    if label is None:
        return problems
    problems += _value_problems(where, label, "label")
    if len(label) != 1:
        problems.append(f"{where}: the label has {len(label)} channels, not 1")
    if arrays and images.shape[1:] != label.shape[1:]:
        problems.append(
            f"{where}: image shape {images.shape[2:]} differs from label shape {label.shape[2:]}"
        )
    unexpected = sorted(set(np.unique(label[np.isfinite(label)]).tolist()) - set(allowed))
    if unexpected:
        problems.append(f"{where}: label values {unexpected} are not declared in labels")
    return problems


def _value_problems(where: str, pixels: np.ndarray, what: str) -> list[str]:
    if np.isnan(pixels).any():
        return [f"{where}: the {what} holds NaN values"]
    if np.isinf(pixels).any():
        return [f"{where}: the {what} holds infinite values"]
    return []
