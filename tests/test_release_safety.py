"""Releases under pressure: exact versions, version order, live staging, concurrent cuts,
left-over archives, swapped images, full disks and a read-only published release."""

import hashlib
import json
import os
import select
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from assets.runner import run_job
from pipeline.checksums import tree_manifest
from pipeline.errors import ReleaseError, UnityLVError
from pipeline.locks import exclusive_lock
from pipeline.release.cut import (
    STAGING_OWNER,
    archive_path,
    check_version,
    cut_release,
    release_path,
)
from pipeline.release.info import ReleaseInfo
from pipeline.release.payload import copy_images
from pipeline.release.verify import verify_release
from pipeline.source.licence import load_metadata
from pipeline.synth import SynthOptions, synthesize

ROOT = Path(__file__).resolve().parents[1]
SLUG = "unitylv-multix"


def cli(*args: str, cwd: Path = ROOT, crash_at: str = "") -> subprocess.Popen:
    """Start `unitylv ARGS` in its own process (no Dagster home; optional crash point)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "UNITYLV_CRASH_AT")}
    if crash_at:
        env["UNITYLV_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "assets.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=600)
    return process.returncode, stdout, stderr


def release_args(source: Path, releases: Path, version: str, work: Path | None = None) -> list:
    args = ["release", "--version", version, "--source", str(source)]
    args += ["--releases", str(releases)]
    return args + (["--work", str(work)] if work else [])


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def one_study_sources(tmp_path_factory) -> list[Path]:
    """Two different one-study sources (3 experts), so concurrent runs are quick."""
    base = tmp_path_factory.mktemp("one_study")
    sources = []
    for seed in (11, 12):
        out = base / f"source{seed}"
        synthesize(out, SynthOptions(studies=1, experts=3, seed=seed))
        sources.append(out)
    return sources


def released_image_names(folder: Path) -> set[str]:
    return {p.name for p in (folder / "data/images").iterdir()}


def source_image_names(source: Path) -> set[str]:
    return {p.name for p in (source / "Images").iterdir()}


# 7. Versions are exact ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["1.0.0\n", "1.0.0 ", " 1.0.0", "1.٠.0", "１.0.0", "1.0.0-rc1", "01.0.0", ""]
)
def test_a_version_is_matched_whole_and_in_ascii(version):
    with pytest.raises(ReleaseError, match="not a semantic version"):
        check_version(version)


@pytest.mark.slow
def test_cli_refuses_a_version_with_a_newline_in_one_line(one_study_sources, tmp_path):
    code, _, stderr = finish(cli(*release_args(one_study_sources[0], tmp_path, "1.0.0\n")))
    assert code == 1 and len(error_lines(stderr)) == 1 and "Traceback" not in stderr
    assert not (tmp_path / SLUG).exists()


# 8. A release's content depends only on its inputs ---------------------------------------------


@pytest.mark.slow
def test_versions_only_go_up_and_an_identical_recut_is_always_a_noop(one_study_sources, tmp_path):
    source, releases, work = one_study_sources[0], tmp_path / "releases", tmp_path / "work"

    def cut(version: str):
        return run_job("release", source, releases, work, version=version, progress=False)

    cut("1.2.0")
    first = tree_manifest(release_path(releases, "1.2.0"))
    with pytest.raises(UnityLVError, match=r"lower than the newest release 1\.2\.0"):
        cut("1.1.0")
    assert not release_path(releases, "1.1.0").exists()
    again = cut("1.2.0").asset_materializations_for_node("release_bag")[0].metadata
    assert again["created"].value is False and again["notes"].value == ""
    assert tree_manifest(release_path(releases, "1.2.0")) == first
    cut("1.3.0")
    # Re-cutting an older version once newer ones exist is still a no-op.
    assert (
        not cut("1.2.0").asset_materializations_for_node("release_bag")[0].metadata["created"].value
    )


# 5. Staging belongs to its run ----------------------------------------------------------------


def tiny_payload(text: str):
    def write(folder: Path) -> None:
        (folder / "note.txt").write_text(text)

    return write


def test_a_live_runs_staging_survives_and_a_stale_one_is_removed(tmp_path):
    dataset = tmp_path / SLUG
    live, stale = dataset / ".staging-9.9.9-live", dataset / ".staging-9.9.9-stale"
    for folder in (live, stale):
        (folder / "bag").mkdir(parents=True)
    (stale / STAGING_OWNER).touch()  # its owner died: the lock file is there, nobody holds it
    info = ReleaseInfo("1.0.0", "2024-01-01", load_metadata())
    with exclusive_lock(live / STAGING_OWNER):
        outcome = cut_release(tmp_path, info, tiny_payload("a"))
        assert live.is_dir(), "a live run's staging folder was removed"
    assert not stale.exists()
    assert outcome.created and verify_release(outcome.path) == []


# 6. One version, one content ------------------------------------------------------------------


def archive_manifest(archive: Path) -> dict[str, str]:
    """sha256 of every file inside a release archive, by its path below the top folder."""
    with tarfile.open(archive, "r:gz") as tar:
        return {
            m.name.split("/", 1)[1]: hashlib.sha256(tar.extractfile(m).read()).hexdigest()
            for m in tar.getmembers()
            if m.isfile()
        }


@pytest.mark.slow
def test_same_version_at_once_publishes_exactly_one_content(one_study_sources, tmp_path):
    releases = tmp_path / "releases"
    runs = [
        cli(*release_args(src, releases, "1.0.0", tmp_path / f"work{i}"))
        for i, src in enumerate(one_study_sources)
    ]
    results = [finish(run) for run in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(stderr for code, _, stderr in results if code == 1)
    assert len(error_lines(loser)) == 1
    assert "exists with different content and is immutable" in loser
    folder, archive = release_path(releases, "1.0.0"), archive_path(releases, "1.0.0")
    assert verify_release(folder) == [] and verify_release(archive) == []
    assert archive_manifest(archive) == tree_manifest(folder)
    winner = one_study_sources[[code for code, _, _ in results].index(0)]
    assert released_image_names(folder) == source_image_names(winner)
    assert not list((releases / SLUG).glob(".staging-*"))


@pytest.mark.slow
def test_left_over_archive_is_never_accepted_nor_silently_replaced(one_study_sources, tmp_path):
    source, other = one_study_sources
    releases, work = tmp_path / "releases", tmp_path / "work"
    code, _, _ = finish(
        cli(*release_args(source, releases, "1.0.0", work), crash_at="archive_in_place")
    )
    assert code == -9
    archive = archive_path(releases, "1.0.0")
    left_over = archive.read_bytes()
    assert not release_path(releases, "1.0.0").exists()
    problems = verify_release(archive)
    assert problems and "no unitylv-multix-1.0.0.tar.gz.sha256 beside it" in problems[0]
    code, _, stderr = finish(cli(*release_args(other, releases, "1.0.0", work)))
    assert code == 1 and len(error_lines(stderr)) == 1
    assert "an interrupted release of 1.0.0 left this archive" in stderr
    assert archive.read_bytes() == left_over and not release_path(releases, "1.0.0").exists()
    code, _, stderr = finish(cli(*release_args(source, releases, "1.0.0", work)))
    assert code == 0, stderr
    assert "completed an interrupted release" in stderr
    assert verify_release(archive) == [] and archive.read_bytes() == left_over


@pytest.mark.slow
def test_identical_recut_checks_the_archive(one_study_sources, tmp_path):
    source, releases, work = one_study_sources[0], tmp_path / "releases", tmp_path / "work"
    assert finish(cli(*release_args(source, releases, "1.0.0", work)))[0] == 0
    archive = archive_path(releases, "1.0.0")
    original = archive.read_bytes()
    archive.unlink()
    code, _, stderr = finish(cli(*release_args(source, releases, "1.0.0", work)))
    assert code == 0 and "archive unitylv-multix-1.0.0.tar.gz was missing" in stderr
    assert "nothing written" not in stderr
    assert archive.read_bytes() == original
    os.chmod(archive, 0o644)
    archive.write_bytes(original[:-10] + bytes(10))
    code, _, stderr = finish(cli(*release_args(source, releases, "1.0.0", work)))
    assert code == 1 and len(error_lines(stderr)) == 1
    assert "its archive differs from it" in stderr


@pytest.mark.slow
def test_verify_fails_on_an_archive_without_its_checksum(tiny_release, tmp_path):
    copy = tmp_path / "copy.tar.gz"
    shutil.copyfile(archive_path(tiny_release.parents[1], "1.0.0"), copy)
    problems = verify_release(copy)
    assert len(problems) == 1 and "no copy.tar.gz.sha256 beside it" in problems[0]


# 4. Runs never mix, and the done-when of ten overlapping pairs ----------------------------------


@pytest.mark.slow
def test_ten_overlapping_pairs_never_mix_sources(one_study_sources, tmp_path):
    """Pairs of releases started at once from different sources, sharing the default work folder
    (the cwd's data/work): same version (one publishes) and different versions (both do)."""
    releases = tmp_path / "releases"
    published: dict[str, Path] = {}
    for pair in range(10):
        same = pair % 2 == 0
        versions = [f"1.{pair}.0"] * 2 if same else [f"1.{pair}.0", f"1.{pair}.1"]
        # Later versions must be higher than every existing one; start both at once.
        runs = [
            cli(*release_args(src, releases, version), cwd=tmp_path)
            for src, version in zip(one_study_sources, versions, strict=True)
        ]
        results = [finish(run) for run in runs]
        codes = [code for code, _, _ in results]
        if same:
            assert sorted(codes) == [0, 1], results
        else:
            # Both publish, or the lower one, started first but finishing second, is refused
            # because a higher version now exists: never both failing, never a mix.
            assert 0 in codes and all(c in (0, 1) for c in codes), results
        for (code, stdout, _), src in zip(results, one_study_sources, strict=True):
            if code == 0:
                folder = Path(stdout.strip().splitlines()[-1])
                if not folder.is_absolute():
                    folder = tmp_path / folder
                published[folder.name] = folder
                assert released_image_names(folder) == source_image_names(src)
                points = duckdb.sql(
                    f"SELECT count(*) FROM '{folder / 'data/tables/points.parquet'}'"
                ).fetchone()[0]
                expected = sum(
                    len(curve[0])
                    for curves in json.loads(
                        (src / "UnityLV_multiX_annotations.json").read_text()
                    ).values()
                    for curve in curves.values()
                )
                assert points == expected
    assert len(published) >= 10
    for folder in published.values():
        assert verify_release(folder) == []
        assert verify_release(archive_path(releases, folder.name)) == []
    assert not list((releases / SLUG).glob(".staging-*"))


@pytest.mark.slow
def test_a_second_run_waits_for_the_work_folder(one_study_sources, tmp_path):
    """A run started while another holds the work folder waits, says so, then completes."""
    work = tmp_path / "work"
    work.mkdir()
    with exclusive_lock(work / ".run.lock"):
        waiting = cli("derive", "--source", str(one_study_sources[0]), "--work", str(work))
        seen = []
        while not any("waiting" in line for line in seen):
            ready, _, _ = select.select([waiting.stderr], [], [], 120)
            line = waiting.stderr.readline() if ready else ""
            assert line, f"no 'waiting' line before the run ended or stalled: {seen}"
            seen.append(line)
        assert "work folder" in seen[-1] and str(os.getpid()) in seen[-1]
        assert waiting.poll() is None  # still waiting while the lock is held
    code, stdout, stderr = finish(waiting)
    assert code == 0, stderr
    assert stdout.strip().endswith("tables")


# 9. Released images are the validated images ----------------------------------------------------


def test_an_image_swapped_after_validation_is_refused(small_source, tmp_path):
    source = Path(shutil.copytree(small_source, tmp_path / "source"))
    image = sorted((source / "Images").iterdir())[0]
    validated = hashlib.sha256(image.read_bytes()).hexdigest()
    table = pa.table({"file_name": [image.name], "sha256": [validated]})
    data = bytearray(image.read_bytes())
    data[-20] ^= 0x01  # swapped after validation
    image.write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match="changed since it was validated") as caught:
        copy_images(table, source, tmp_path / "data")
    assert image.name in caught.value.one_line()
    assert not (tmp_path / "data/images" / image.name).exists()


# 12. Whole-source messages name the place -------------------------------------------------------


@pytest.mark.slow
def test_disk_full_names_the_file_being_written(one_study_sources, tmp_path):
    work = tmp_path / "work"
    (work / "tables").mkdir(parents=True)
    (work / "tables/points.parquet.partial").symlink_to("/dev/full")  # writes: ENOSPC
    code, _, stderr = finish(
        cli("derive", "--source", str(one_study_sources[0]), "--work", str(work))
    )
    assert code == 1 and "Traceback" not in stderr
    [line] = error_lines(stderr)
    assert "points.parquet" in line and "No space left on device" in line


def test_verify_names_a_deleted_bagit_txt_and_an_added_empty_folder(tmp_path):
    info = ReleaseInfo("1.0.0", "2024-01-01", load_metadata())
    folder = cut_release(tmp_path / "releases", info, tiny_payload("x")).path
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    os.chmod(copy, 0o755)
    (copy / "data/empty").mkdir()
    assert verify_release(copy) == ["data/empty/: extra folder, not in the manifest"]
    (copy / "bagit.txt").unlink()
    assert "bagit.txt: missing" in verify_release(copy)


# 2. A published release is read-only on disk ---------------------------------------------------


def test_published_release_has_no_write_bits_and_still_verifies(tmp_path):
    info = ReleaseInfo("1.0.0", "2024-01-01", load_metadata())
    releases = tmp_path / "releases"
    folder = cut_release(releases, info, tiny_payload("x")).path
    archive = archive_path(releases, "1.0.0")
    paths = [folder, *folder.rglob("*"), archive, archive.with_name(archive.name + ".sha256")]
    writable = [
        p for p in paths if os.stat(p).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    ]
    assert writable == []
    assert verify_release(folder) == [] and verify_release(archive) == []
    # An identical re-cut over the read-only release is still a no-op.
    again = cut_release(releases, info, tiny_payload("x"))
    assert not again.created and again.notes == ()


def test_recut_sees_a_byte_changed_in_place_even_with_the_manifest_untouched(tmp_path):
    info = ReleaseInfo("1.0.0", "2024-01-01", load_metadata())
    releases = tmp_path / "releases"
    folder = cut_release(releases, info, tiny_payload("abc")).path
    note = folder / "data/note.txt"
    os.chmod(note, 0o644)
    note.write_text("abd")  # same size, manifests untouched
    with pytest.raises(ReleaseError, match="exists with different content"):
        cut_release(releases, info, tiny_payload("abc"))
