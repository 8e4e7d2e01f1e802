"""Whole-source faults stop the run with one line naming the file and cause, no traceback."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGES_DIR
from pipeline.errors import SourceError
from pipeline.source.validation import validate_source


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assets.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def run_release_cli(version: str, source: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    releases, work = str(tmp_path / "r"), str(tmp_path / "w")
    return run_cli(
        "release",
        "--version",
        version,
        "--source",
        str(source),
        "--releases",
        releases,
        "--work",
        work,
        cwd=tmp_path,
    )


def break_json(source: Path) -> None:
    text = (source / ANNOTATIONS_FILE).read_text()
    (source / ANNOTATIONS_FILE).write_text("{\n  ,, oops" + text[1:])


FAULTS = {
    "missing_images": (lambda s: shutil.rmtree(s / IMAGES_DIR), "missing the Images/ folder"),
    "missing_annotations": (lambda s: (s / ANNOTATIONS_FILE).unlink(), "missing the annotations"),
    "bad_json": (break_json, "JSON does not parse at line 2, column"),
    "top_level_list": (
        lambda s: (s / ANNOTATIONS_FILE).write_text(json.dumps([{"a": 1}])),
        "top level is an array",
    ),
    "values_not_objects": (
        lambda s: (s / ANNOTATIONS_FILE).write_text(json.dumps({"x.png": [1, 2]})),
        "no image maps to an object of curves",
    ),
    "bad_consensus_json": (
        lambda s: (s / CONSENSUS_FILE).write_text("{"),
        "UnityLV_multiX_consensus_curves.json: JSON does not parse at line 1",
    ),
    "annotations_folder": (
        lambda s: replace_with(s / ANNOTATIONS_FILE, Path.mkdir),
        "UnityLV_multiX_annotations.json: is a folder, not a file",
    ),
    "annotations_fifo": (
        lambda s: replace_with(s / ANNOTATIONS_FILE, os.mkfifo),
        "UnityLV_multiX_annotations.json: is a FIFO, not a regular file",
    ),
    "consensus_folder": (
        lambda s: replace_with(s / CONSENSUS_FILE, Path.mkdir),
        "UnityLV_multiX_consensus_curves.json: is a folder, not a file",
    ),
    "consensus_fifo": (
        lambda s: replace_with(s / CONSENSUS_FILE, os.mkfifo),
        "UnityLV_multiX_consensus_curves.json: is a FIFO, not a regular file",
    ),
    "array_nested_30000_deep": (
        lambda s: (s / ANNOTATIONS_FILE).write_text("[" * 30_000 + "]" * 30_000),
        "UnityLV_multiX_annotations.json: top level is an array, expected",
    ),
    "not_utf8": (
        lambda s: (s / ANNOTATIONS_FILE).write_bytes(b'{"a\xff": 1}'),
        "UnityLV_multiX_annotations.json: not UTF-8 text (byte 3)",
    ),
    "trailing_data": (
        lambda s: (s / ANNOTATIONS_FILE).write_text('{"a": {}}\n{"b": {}}'),
        "JSON does not parse at line 2, column 1: Extra data",
    ),
    "cut_short": (
        lambda s: (s / ANNOTATIONS_FILE).write_text('{"a": {"u": [[1, 2], [3'),
        "JSON does not parse at line 1, column 24: Expecting ',' delimiter",
    ),
}


def replace_with(path: Path, make) -> None:
    """Put something else (a folder, a FIFO) where a source file was."""
    path.unlink()
    make(path)


@pytest.mark.parametrize("files", [(ANNOTATIONS_FILE,), (ANNOTATIONS_FILE, CONSENSUS_FILE)])
def test_byte_order_mark_is_accepted(source_copy, files):
    for name in files:
        path = source_copy / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = validate_source(source_copy)
    assert result.rejects == []
    assert (len(result.images), len(result.consensus)) == (12, 12)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_whole_source_fault_is_one_line(source_copy, fault):
    damage, expected = FAULTS[fault]
    damage(source_copy)
    with pytest.raises(SourceError) as info:
        validate_source(source_copy)
    assert expected in info.value.one_line()
    assert "\n" not in info.value.one_line()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["bad_json", "top_level_list", "missing_images"])
def test_cli_exits_nonzero_with_one_line(source_copy, tmp_path, fault):
    damage, expected = FAULTS[fault]
    damage(source_copy)
    result = run_cli(
        "validate", "--source", str(source_copy), "--work", str(tmp_path / "w"), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and expected in error_lines[0], result.stderr


@pytest.mark.slow
def test_cli_licence_disagreement_blocks(source_copy, tmp_path):
    (source_copy / "LICENSE").write_text("MIT License\n\nPermission is hereby granted...")
    result = run_release_cli("1.0.0", source_copy, tmp_path)
    assert result.returncode == 1
    assert "check licence failed: LICENSE in the source does not name the licence" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r" / "unitylv-multix" / "1.0.0").exists()


@pytest.mark.slow
def test_cli_bad_version_is_one_line(small_source, tmp_path):
    result = run_release_cli("v1", small_source, tmp_path)
    assert result.returncode == 1
    assert "is not a semantic version" in result.stderr
    assert "Traceback" not in result.stderr
