"""Hostile records: each is quarantined alone, with a short message, and the run carries on."""

import pickle
from pathlib import Path

import duckdb
import numpy as np
import pytest
from PIL import Image

from pipeline.buckets import layout
from pipeline.buckets.layout import read_counts
from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGES_DIR
from pipeline.errors import ReleaseError, SourceError
from pipeline.exports.nnunet import write_grayscale
from pipeline.release.info import check_date
from pipeline.source.images import ImageProblem, inspect_png, parse_image_name, to_grey8
from pipeline.source.reader import read_source
from tests import corrupt
from tests.conftest import read_annotations, write_annotations
from tests.test_validation import reject_of, validated

SITE_HASH = "02-" + "ab" * 32


def rejects_of(result, record):
    return [r for r in result.rejects if r.record == record]


# --- 7. names are exact ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        f"{SITE_HASH}-0003.png\n",  # `$` matches before a final newline
        f"٠٢-{'ab' * 32}-0003.png",  # Arabic-Indic site digits
        f"{SITE_HASH}-０００３.png",  # full-width frame digits
        f"{SITE_HASH}-00٣3.png",
    ],
)
def test_image_name_must_match_whole_and_in_ascii(source_copy, name):
    assert parse_image_name(f"{SITE_HASH}-0003.png").frame == 3
    assert parse_image_name(name) is None
    first = next(iter(read_annotations(source_copy).values()))
    corrupt.add_image_record(source_copy, name, first)
    result = validated(source_copy)
    assert reject_of(result, name) == ("image_name_pattern", "error")


@pytest.mark.parametrize("user_id", ["A" * 27 + "٣", "A" * 27 + "\n", "Ａ" * 28])
def test_user_id_must_be_ascii_letters_and_digits(source_copy, user_id):
    annotations = read_annotations(source_copy)
    name = next(iter(annotations))
    old = next(iter(annotations[name]))
    annotations[name] = {(user_id if u == old else u): c for u, c in annotations[name].items()}
    write_annotations(source_copy, annotations)
    result = validated(source_copy)
    assert reject_of(result, f"{name} / {user_id}") == ("user_id_format", "warning")
    assert result.curve_counts.rejected == 0


@pytest.mark.parametrize("date", ["2024-01-01\n", "٢٠٢٤-٠١-٠١", "２０２４-01-01", " 2024-01-01"])
def test_release_date_is_an_ascii_day(date):
    assert check_date("2024-01-01") == "2024-01-01"
    with pytest.raises(ReleaseError):
        check_date(date)


@pytest.mark.parametrize("value", ["١.٥", "０.５", "1_0", "0.5\u00a0x", "inf"])
def test_calibration_number_is_ascii_decimal(tmp_path, value):
    from pipeline.measurements.calibration import read_calibration

    csv = tmp_path / "spacing.csv"
    csv.write_text(f"image_id,mm_per_pixel\nimg-a,0.25\nimg-b,{value}\n", encoding="utf-8")
    with pytest.raises(SourceError, match="line 3"):
        read_calibration(csv)
    csv.write_text("image_id,mm_per_pixel\nimg-a,0.25\nimg-b,1e-1\nimg-c,.5\n", encoding="utf-8")
    assert read_calibration(csv) == {"img-a": 0.25, "img-b": 0.1, "img-c": 0.5}


# --- 10. no silent damage: every PNG mode to 8-bit grey -----------------------------------


def png_round_trip(tmp_path: Path, image: Image.Image, **save) -> Image.Image:
    path = tmp_path / f"frame-{image.mode.replace(';', '_')}.png"
    image.save(path, format="PNG", **save)
    reopened = Image.open(path)
    reopened.load()
    return reopened


def test_sixteen_bit_grey_is_stretched_over_its_own_range(tmp_path):
    # 1000 + 150 k maps to exactly k; 1075 is half way between 0 and 1 and rounds up.
    values = np.array([[*range(1000, 39251, 150), 1075, 20125]], dtype=np.uint16)
    image = png_round_trip(tmp_path, Image.fromarray(values))
    assert image.mode == "I;16"
    grey = to_grey8(image)
    assert grey.dtype == np.uint8 and grey.shape == values.shape
    assert grey[0, :256].tolist() == list(range(256))
    assert grey[0, 256:].tolist() == [1, 128]


def test_sixteen_bit_frame_keeps_its_grey_levels_in_nnunet(tmp_path):
    values = np.arange(1000, 40001, 39, dtype=np.uint16)[:1000].reshape(20, 50)
    source, target = tmp_path / "frame.png", tmp_path / "out.png"
    Image.fromarray(values).save(source)
    write_grayscale(source, target)
    with Image.open(target) as out:
        assert out.mode == "L"
        grey = np.asarray(out)
    assert len(np.unique(grey)) == 256  # Pillow's convert("L") left 2
    assert (grey[0, 0], grey[-1, -1]) == (0, 255)


def test_big_endian_and_32_bit_grey_are_stretched():
    big = Image.fromarray(np.array([[10, 20, 30]], dtype=">u2"))
    assert big.mode == "I;16B"
    assert to_grey8(big).tolist() == [[0, 128, 255]]  # 127.5 rounds up
    wide = Image.fromarray(np.array([[-70000, 0, 70000]], dtype=np.int32))
    assert wide.mode == "I"
    assert to_grey8(wide).tolist() == [[0, 128, 255]]
    assert to_grey8(Image.fromarray(np.full((2, 2), 4000, np.uint16))).tolist() == [[0, 0]] * 2


def test_eight_bit_grey_and_one_bit(tmp_path):
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert (to_grey8(png_round_trip(tmp_path, Image.fromarray(ramp))) == ramp).all()
    checker = (np.indices((4, 6)).sum(axis=0) % 2).astype(bool)
    one_bit = png_round_trip(tmp_path, Image.fromarray(checker))
    assert one_bit.mode == "1"
    assert to_grey8(one_bit).tolist() == (checker * 255).tolist()


# ITU-R 601-2 luma by hand: 0.299 R + 0.587 G + 0.114 B, rounded.
RGB_BY_HAND = {
    (255, 0, 0): 76,  # 76.2
    (0, 255, 0): 150,  # 149.7
    (0, 0, 255): 29,  # 29.1
    (255, 255, 255): 255,
    (100, 100, 100): 100,
    (10, 200, 30): 124,  # 2.99 + 117.4 + 3.42 = 123.8
}


def test_rgb_is_601_luma(tmp_path):
    colours = list(RGB_BY_HAND)
    pixels = np.array([colours], dtype=np.uint8)
    image = png_round_trip(tmp_path, Image.fromarray(pixels))
    assert image.mode == "RGB"
    assert to_grey8(image)[0].tolist() == list(RGB_BY_HAND.values())
    # and the same as Pillow's own convert("L") on any colour (the reference implementation)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    reference = np.asarray(Image.fromarray(noise).convert("L"))
    assert (to_grey8(Image.fromarray(noise)) == reference).all()


def test_alpha_is_composited_over_black(tmp_path):
    # grey * alpha / 255 by hand: 255*128/255 = 128, 100*51/255 = 20, 76*51/255 = 15.2
    rgba = np.array(
        [
            [(255, 255, 255, 128), (200, 200, 200, 0), (100, 100, 100, 255)],
            [(255, 0, 0, 51), (100, 100, 100, 51), (0, 0, 0, 255)],
        ],
        np.uint8,
    )
    image = png_round_trip(tmp_path, Image.fromarray(rgba))
    assert image.mode == "RGBA"
    assert to_grey8(image).tolist() == [[128, 0, 100], [15, 20, 0]]
    la = np.array([[(200, 255), (200, 0), (255, 128), (100, 51)]], np.uint8)
    image = png_round_trip(tmp_path, Image.fromarray(la, "LA"))
    assert image.mode == "LA"
    assert to_grey8(image).tolist() == [[200, 0, 128, 20]]


def test_palette_is_looked_up_with_its_transparency(tmp_path):
    palette = Image.new("P", (4, 1))
    palette.putpalette([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255])
    palette.putdata([0, 1, 2, 3])
    opaque = png_round_trip(tmp_path, palette)
    assert opaque.mode == "P"
    assert to_grey8(opaque).tolist() == [[0, 255, 76, 29]]
    see_through = png_round_trip(tmp_path, palette, transparency=bytes([255, 255, 255, 0]))
    assert to_grey8(see_through).tolist() == [[0, 255, 76, 0]]


@pytest.mark.parametrize("mode", ["CMYK", "F", "YCbCr"])
def test_a_mode_without_grey_conversion_is_refused(mode):
    with pytest.raises(ImageProblem) as info:
        to_grey8(Image.new(mode, (2, 2)))
    assert info.value.check == "png_mode"


def test_sixteen_bit_frame_is_accepted_by_validation(source_copy):
    name = next(iter(read_annotations(source_copy)))
    path = corrupt.image_path(source_copy, name)
    with Image.open(path) as image:
        grey = np.asarray(image.convert("L"), dtype=np.uint16) * 150 + 1000
    Image.fromarray(grey).save(path)
    result = validated(source_copy)
    assert result.rejects == []
    assert next(i.facts.mode for i in result.images if i.name.file_name == name) == "I;16"


# --- 11. record faults stay record faults ---------------------------------------------------


def set_x(index):
    return lambda c, placeholder: [[*c[0][:index], placeholder, *c[0][index + 1 :]], c[1]]


@pytest.mark.parametrize("digits", [25, 401, 4401, 100_000])
def test_long_integer_coordinate_is_out_of_range(source_copy, digits):
    record = corrupt.splice_curve_text(source_copy, "7" * digits, set_x(3))
    result = validated(source_copy)
    assert reject_of(result, record) == ("coordinate_out_of_range", "error")
    message = rejects_of(result, record)[0].message
    assert message == f"x[3] is an integer of {digits} digits, not a pixel position"
    assert result.curve_counts.rejected == 1


def test_twenty_digit_integer_is_only_outside_the_image(source_copy):
    record = corrupt.splice_curve_text(source_copy, "-" + "9" * 20, set_x(3))
    assert reject_of(validated(source_copy), record) == ("point_outside_image", "error")


@pytest.mark.parametrize("levels", [900, 1500, 19_000, 25_000, 100_000])
def test_deep_curve_is_one_reject_and_the_source_pickles(source_copy, levels):
    record = corrupt.splice_curve_text(
        source_copy, corrupt.deep_array(levels), lambda c, p: p, image=2
    )
    raw = read_source(source_copy)
    assert pickle.loads(pickle.dumps(raw)) == raw
    result = validated(source_copy)
    assert reject_of(result, record) == ("curve_shape", "error")
    message = rejects_of(result, record)[0].message
    assert message.startswith(f"is an array nested {levels} levels deep")
    assert result.curve_counts.rejected == 1


def test_deep_coordinate_and_deep_image_value(source_copy):
    curve_image, user, _ = corrupt.first_curve(source_copy)
    name = list(read_annotations(source_copy))[4]

    def edit(document, deep_x, deep_image):
        document[curve_image][user][0][0] = deep_x
        document[name] = deep_image

    annotations = source_copy / ANNOTATIONS_FILE
    corrupt.splice_json(annotations, edit, corrupt.deep_array(1200), corrupt.deep_array(3000))
    result = validated(source_copy)
    record = f"{curve_image} / {user}"
    assert reject_of(result, record) == ("non_numeric_coordinate", "error")
    assert "x[0] is an array nested 1200 levels deep" in rejects_of(result, record)[0].message
    assert reject_of(result, name) == ("image_record_shape", "error")


def test_deep_consensus_curve_is_a_warning(source_copy):
    name = list(read_annotations(source_copy))[1]
    corrupt.splice_json(
        source_copy / CONSENSUS_FILE,
        lambda document, deep: document.__setitem__(name, deep),
        corrupt.deep_array(5000),
    )
    result = validated(source_copy)
    assert reject_of(result, name) == ("consensus_curve_shape", "warning")
    assert len(result.consensus) == 11


def test_deep_curve_that_does_not_parse_stops_the_run_at_its_line_and_column(source_copy):
    broken = "[" * 5000 + "1 2" + "]" * 5000  # json: "Expecting ',' delimiter" at the 2
    corrupt.splice_curve_text(source_copy, broken, lambda c, p: p, image=3)
    text = (source_copy / ANNOTATIONS_FILE).read_text()
    column = text.index("[" * 5000 + "1 2") + 5000 + 3  # 1-based
    with pytest.raises(SourceError, match=f"at line 1, column {column}: Expecting ',' delim"):
        read_source(source_copy)


def make_unreadable(monkeypatch, path: Path) -> None:
    """Path.read_bytes raises for this one file, as a file the OS will not hand over does."""
    target, real = path.resolve(), Path.read_bytes

    def read_bytes(self):
        if self.resolve() == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_unreadable_image_is_one_reject(source_copy, monkeypatch):
    names = list(read_annotations(source_copy))
    make_unreadable(monkeypatch, corrupt.image_path(source_copy, names[4]))
    result = validated(source_copy)
    assert reject_of(result, names[4]) == ("image_unreadable", "error")
    assert "PermissionError" in rejects_of(result, names[4])[0].message
    assert reject_of(result, names[5]) == ("study_image_count", "error")
    assert len(result.images) == 10


def test_unexpected_error_in_one_curve_is_one_reject(source_copy, monkeypatch):
    import pipeline.source.validation as validation

    name, user, annotations = corrupt.first_curve(source_copy, image=3, expert=2)
    target_xs = annotations[name][user][0]
    real = validation.self_intersection_reason

    def fragile(xy):
        if xy[:, 0].tolist() == target_xs:
            raise ZeroDivisionError("x" * 10_000)
        return real(xy)

    monkeypatch.setattr(validation, "self_intersection_reason", fragile)
    result = validated(source_copy)
    (reject,) = [r for r in result.rejects if r.check == "unexpected_error"]
    assert (reject.source_file, reject.record) == (ANNOTATIONS_FILE, f"{name} / {user}")
    assert "ZeroDivisionError" in reject.message and len(reject.message) <= 300
    assert result.curve_counts.rejected == 1


def test_unexpected_error_in_one_image_is_one_reject(source_copy, monkeypatch):
    import pipeline.source.images as images

    names = list(read_annotations(source_copy))
    real = images.inspect_png

    def fragile(path):
        if path.name == names[6]:
            raise KeyError("surprise")
        return real(path)

    monkeypatch.setattr(images, "inspect_png", fragile)
    result = validated(source_copy)
    assert reject_of(result, names[6]) == ("unexpected_error", "error")
    assert "KeyError" in rejects_of(result, names[6])[0].message
    assert reject_of(result, names[7]) == ("study_image_count", "error")
    assert result.curve_counts.rejected == 22


def test_messages_are_capped_and_never_quote_huge_values(source_copy):
    record = corrupt.edit_curve(source_copy, lambda c: [["z" * 1_000_000, *c[0][1:]], c[1]])
    long_name = "n" * 5000 + ".png"
    first = next(iter(read_annotations(source_copy).values()))
    corrupt.add_image_record(source_copy, long_name, first)
    corrupt.add_image_record(source_copy, "../" + "d" * 5000 + ".png", first)
    result = validated(source_copy)
    assert reject_of(result, record) == ("non_numeric_coordinate", "error")
    assert rejects_of(result, record)[0].message.startswith("x[0] is 'zzzz")
    assert reject_of(result, long_name) == ("image_name_pattern", "error")
    assert all(len(r.message) <= 300 for r in result.rejects)


# --- the whole run on a source holding all of them ------------------------------------------


@pytest.fixture(scope="module")
def hostile_release(small_source, tmp_path_factory):
    import shutil

    from assets.runner import run_job

    base = tmp_path_factory.mktemp("hostile")
    source = Path(shutil.copytree(small_source, base / "source"))
    annotations = read_annotations(source)
    names = list(annotations)
    (first, second), third = list(annotations[names[0]])[:2], next(iter(annotations[names[2]]))

    def edit(document, long_x, longer_y, deep_curve):
        document[names[0]][first][0][3] = long_x
        document[names[0]][second][1][5] = longer_y
        document[names[2]][third] = deep_curve

    literals = ("3" * 401, "4" * 4401, corrupt.deep_array(900))
    corrupt.splice_json(source / ANNOTATIONS_FILE, edit, *literals)
    expected = {  # record -> check
        f"{names[0]} / {first}": "coordinate_out_of_range",
        f"{names[0]} / {second}": "coordinate_out_of_range",
        f"{names[2]} / {third}": "curve_shape",
        names[4]: "image_unreadable",
        names[5]: "study_image_count",
    }
    corrupt.add_byte_order_mark(source / ANNOTATIONS_FILE)
    corrupt.add_byte_order_mark(source / CONSENSUS_FILE)
    with pytest.MonkeyPatch.context() as monkeypatch:
        make_unreadable(monkeypatch, source / IMAGES_DIR / names[4])
        result = run_job(
            "release", source, base / "releases", base / "work", version="1.0.0", progress=False
        )
    rejects = base / "releases/unitylv-multix/1.0.0/data/tables/rejects.parquet"
    rows = duckdb.sql(
        f"SELECT record, \"check\", severity, message FROM read_parquet('{rejects}')"
    ).fetchall()
    return result, rows, expected, base / "work"


@pytest.mark.slow
def test_hostile_release_rejects_each_fault_once(hostile_release):
    result, rows, expected, _ = hostile_release
    assert result.success
    errors = [(record, check) for record, check, severity, _ in rows if severity == "error"]
    assert sorted(errors) == sorted(expected.items())
    assert all(len(message) <= 300 for *_, message in rows)


@pytest.mark.slow
def test_hostile_release_counts_add_up(hostile_release):
    result, _, _, work = hostile_release
    assert result.success
    counts = read_counts(work)
    images, curves = counts.images, counts.curves
    assert images.accepted + images.rejected == images.total
    assert curves.accepted + curves.rejected == curves.total
    assert (images.accepted, images.rejected, images.total) == (10, 2, 12)
    assert (curves.accepted, curves.rejected, curves.total) == (12 * 11 - 3 - 22, 25, 12 * 11)
    published = [layout.read_published(work, bucket) for bucket in layout.BUCKETS]
    assert sum(len(curves) for curves in published) == 10


def test_a_broken_png_gets_the_same_message_every_time(tmp_path):
    """A PNG signature followed by junk: Pillow's message names its in-memory file by address."""
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 100)
    messages = set()
    for _ in range(3):
        with pytest.raises(ImageProblem) as caught:
            inspect_png(path)
        messages.add(str(caught.value))
    [message] = messages
    assert "0x" not in message and "does not decode fully as PNG" in message
