"""Ways to break a generated source, one record at a time, for the validation tests."""

import json
import shutil
from pathlib import Path

from PIL import Image

from pipeline.constants import ANNOTATIONS_FILE, IMAGES_DIR
from tests.conftest import read_annotations, write_annotations


def first_curve(source: Path, image: int = 0, expert: int = 0) -> tuple[str, str, dict]:
    """(image name, userId, annotations) of one curve of the source."""
    annotations = read_annotations(source)
    name = list(annotations)[image]
    user = list(annotations[name])[expert]
    return name, user, annotations


def edit_curve(source: Path, edit, image: int = 0, expert: int = 0) -> str:
    """Apply `edit(curve)` to one curve in place; returns the record name `image / user`."""
    name, user, annotations = first_curve(source, image, expert)
    annotations[name][user] = edit(annotations[name][user])
    write_annotations(source, annotations)
    return f"{name} / {user}"


def add_image_record(source: Path, key: str, value) -> None:
    annotations = read_annotations(source)
    annotations[key] = value
    write_annotations(source, annotations)


def duplicate_image_key(source: Path, image: int = 0) -> str:
    """Name one image a second time at the end of the annotations file."""
    name, _, annotations = first_curve(source, image)
    text = (source / ANNOTATIONS_FILE).read_text().rstrip()
    extra = json.dumps({name: annotations[name]})[1:-1]
    (source / ANNOTATIONS_FILE).write_text(text[:-1] + ", " + extra + "}")
    return name


def image_path(source: Path, name: str) -> Path:
    return source / IMAGES_DIR / name


def copy_image_as(source: Path, name: str, new_name: str) -> None:
    shutil.copy(image_path(source, name), image_path(source, new_name))


def write_big_png(path: Path, width: int = 5000, height: int = 4000) -> None:
    """A small file that decodes to a huge image (a decompression bomb in miniature)."""
    Image.new("L", (width, height)).save(path, optimize=False, compress_level=9)


def splice_json(path: Path, edit, *literals: str) -> None:
    """Put raw JSON texts `literals` where `edit(document, *placeholders)` puts placeholders.

    For values json.dumps cannot write (4,401-digit integers, arrays 900 levels deep).
    """
    placeholders = [f"__SPLICE_{i}__" for i in range(len(literals))]
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document, *placeholders)
    text = json.dumps(document)
    for placeholder, literal in zip(placeholders, literals, strict=True):
        assert text.count(f'"{placeholder}"') == 1
        text = text.replace(f'"{placeholder}"', literal)
    path.write_text(text, encoding="utf-8")


def splice_curve_text(source: Path, literal: str, edit, image: int = 0, expert: int = 0) -> str:
    """`splice_json` on one curve: `edit(curve, placeholder)` returns the new curve."""
    name, user, _ = first_curve(source, image, expert)

    def edit_document(document, placeholder):
        document[name][user] = edit(document[name][user], placeholder)

    splice_json(source / ANNOTATIONS_FILE, edit_document, literal)
    return f"{name} / {user}"


def deep_array(levels: int) -> str:
    """JSON text of `levels` arrays nested around the number 1."""
    return "[" * levels + "1" + "]" * levels


def add_byte_order_mark(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
