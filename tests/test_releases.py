"""Release bags: validity, determinism, immutability, verification, crashes and changelogs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pytest

from pipeline.checksums import tree_manifest
from pipeline.errors import UnityLVError
from pipeline.release.cut import archive_path, release_path
from pipeline.release.publish import STEPS
from pipeline.release.verify import verify_release
from tests import corrupt
from tests.conftest import cut, writable_copy

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.slow  # every test here cuts or reads a release


def test_release_is_a_valid_bag_with_its_payload(tiny_release):
    bag = bagit.Bag(str(tiny_release))
    assert bag.validate()
    assert bag.info["License"].startswith("CC-BY-NC-SA-4.0")
    assert bag.info["Bagging-Date"] == "2024-01-01"  # the source's own date
    data = tiny_release / "data"
    for expected in (
        "tables/contours.parquet",
        "catalog.sql",
        "CHANGELOG.md",
        "masks/E01",
        "masks/arclength_mean",
        "images",
        "qa/index.html",
        "qa/plots/dice_heatmap.svg",
    ):
        assert (data / expected).exists(), expected
    assert len(list((data / "images").iterdir())) == 4
    assert len(list((data / "qa/overlays").iterdir())) == 4  # one overlay per image
    archive = archive_path(tiny_release.parents[1], "1.0.0")
    assert (
        archive.with_name(archive.name + ".sha256").read_text().split()[0]
        == __import__("hashlib").sha256(archive.read_bytes()).hexdigest()
    )
    assert verify_release(tiny_release) == [] and verify_release(archive) == []


def test_same_inputs_give_identical_bytes_anywhere(tiny_source, tiny_release, tmp_path):
    again = cut(tiny_source, tmp_path)
    assert tree_manifest(again) == tree_manifest(tiny_release)
    archive_a = archive_path(tiny_release.parents[1], "1.0.0").read_bytes()
    archive_b = archive_path(again.parents[1], "1.0.0").read_bytes()
    assert archive_a == archive_b


def test_rerelease_is_a_noop_and_different_inputs_are_refused(tiny_source, tiny_release, tmp_path):
    base = tiny_release.parents[2]  # base/releases/unitylv-multix/1.0.0: the session's cut
    before = tree_manifest(tiny_release)
    assert cut(tiny_source, base) == tiny_release
    assert tree_manifest(tiny_release) == before
    changed = Path(shutil.copytree(tiny_source, tmp_path / "changed"))
    corrupt.edit_curve(changed, lambda c: [[x + 3 for x in c[0]], c[1]], image=1, expert=2)
    with pytest.raises(UnityLVError, match="exists with different content and is immutable"):
        cut(changed, base, work=tmp_path / "work")  # the shared work folder stays as it was
    assert tree_manifest(tiny_release) == before
    with pytest.raises(UnityLVError, match="not a day"):
        cut(tiny_source, base, version="1.0.1", date="2024-13-45")


@pytest.mark.parametrize(
    "victim",
    [
        "data/tables/points.parquet",
        "data/catalog.sql",
        "data/CHANGELOG.md",
        "bag-info.txt",
        "mask",
        "image",
        "data/qa/index.html",
        "overlay",
    ],
)
def test_one_changed_byte_is_named(tiny_release, tmp_path, victim):
    copy = writable_copy(tiny_release, tmp_path / "copy")
    if victim == "overlay":
        victim = next((copy / "data/qa/overlays").iterdir()).relative_to(copy).as_posix()
    if victim == "mask":
        victim = next((copy / "data/masks/staple").iterdir()).relative_to(copy).as_posix()
    if victim == "image":
        victim = next((copy / "data/images").iterdir()).relative_to(copy).as_posix()
    target = copy / victim
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert verify_release(copy) == [f"{victim}: changed (sha256 differs from the manifest)"]


def test_archive_with_a_changed_byte_is_named(tiny_release, tmp_path):
    archive = archive_path(tiny_release.parents[1], "1.0.0")
    copy = tmp_path / archive.name
    shutil.copy(archive, copy)
    shutil.copy(archive.with_name(archive.name + ".sha256"), tmp_path)
    data = bytearray(copy.read_bytes())
    data[-100] ^= 0x01
    copy.write_bytes(bytes(data))
    problems = verify_release(copy)
    assert problems and problems[0].startswith(f"{archive.name}: changed")


def test_cli_verify_names_missing_and_extra_files(tiny_release, tmp_path):
    copy = writable_copy(tiny_release, tmp_path / "copy")
    (copy / "data/catalog.sql").unlink()
    (copy / "data/notes.txt").write_text("mine")
    run = subprocess.run(
        [sys.executable, "-m", "assets.cli", "verify", str(copy)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 1
    assert "data/catalog.sql: missing" in run.stderr
    assert "data/notes.txt: extra file" in run.stderr
    assert "Traceback" not in run.stderr


def release_command(source: Path, releases: Path, work: Path, version: str = "1.0.0") -> list:
    return [
        sys.executable,
        "-m",
        "assets.cli",
        "release",
        "--version",
        version,
        "--source",
        str(source),
        "--releases",
        str(releases),
        "--work",
        str(work),
    ]


def run_cli(command: list, crash_at: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "UNITYLV_CRASH_AT")}
    if crash_at:
        env["UNITYLV_CRASH_AT"] = crash_at
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def crash_work(tmp_path_factory) -> Path:
    """One work folder for every crash test: its buckets are derived once and then reused, so
    each run below costs the release itself (the releases folder is each test's own)."""
    return tmp_path_factory.mktemp("crash_work")


@pytest.mark.parametrize("step", STEPS)
def test_killed_release_leaves_no_release_and_a_rerun_completes(
    tiny_source, tiny_release, tmp_path, crash_work, step
):
    releases = tmp_path / "releases"
    command = release_command(tiny_source, releases, crash_work)
    killed = run_cli(command, crash_at=step)
    assert killed.returncode == -9, killed.stderr
    folder = release_path(releases, "1.0.0")
    archive = archive_path(releases, "1.0.0")
    published = STEPS.index(step) >= STEPS.index("renamed")
    assert folder.exists() == published, step
    if published:
        assert verify_release(folder) == []
    if archive.exists() and step != STEPS[-1]:  # no .sha256 yet: the archive is not accepted
        assert any("no unitylv-multix-1.0.0.tar.gz.sha256" in p for p in verify_release(archive))
    rerun = run_cli(command)
    assert rerun.returncode == 0, rerun.stderr
    assert tree_manifest(folder) == tree_manifest(tiny_release)
    assert archive.read_bytes() == archive_path(tiny_release.parents[1], "1.0.0").read_bytes()
    assert verify_release(archive) == []
    assert not list((releases / "unitylv-multix").glob(".staging-*"))


def test_changelog_names_the_changed_image_and_expert(tiny_source, tiny_release, tmp_path):
    base = tmp_path  # 1.1.0 is cut beside a copy of the session's 1.0.0
    writable_copy(tiny_release.parents[1], base / "releases")
    changed = Path(shutil.copytree(tiny_source, tmp_path / "changed"))
    name, user, _ = corrupt.first_curve(changed, image=2, expert=5)
    corrupt.edit_curve(changed, lambda c: [[x + 2.5 for x in c[0]], c[1]], image=2, expert=5)
    new = cut(changed, base, "1.1.0")
    changelog = (new / "data/CHANGELOG.md").read_text()
    expert_id = sorted(corrupt.first_curve(changed, image=2)[2][name])  # user ids, sorted
    expected_expert = f"E{expert_id.index(user) + 1:02d}"
    assert f"Curve changed: image {name[:-4]}, expert {expected_expert}" in changelog
    assert changelog.index("## 1.1.0") < changelog.index("## 1.0.0")
    assert "Compared with 1.0.0" in changelog
    diff = subprocess.run(
        [
            sys.executable,
            "-m",
            "assets.cli",
            "diff",
            str(release_path(base / "releases", "1.0.0")),
            str(new),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert diff.returncode == 0 and name[:-4] in diff.stdout
