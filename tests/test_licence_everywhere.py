"""The licensing metadata: complete, stamped on every artefact of a release, and enforced."""

import json
from pathlib import Path

import bagit
import pytest

from pipeline.release.info import NNUNET_DATASET_NAME
from pipeline.source.licence import DatasetMetadata, licence_problems, load_metadata
from pipeline.tables.parquet_io import file_metadata

META = load_metadata()
SPDX, URL = META.spdx, META["licence"]["url"]


def test_metadata_is_complete_and_sharealike():
    assert licence_problems(META) == []
    assert SPDX == "CC-BY-NC-SA-4.0"
    assert META["ethics"]["iras_id"] == "279328" and META["ethics"]["rec_reference"] == "20/SC/0386"


@pytest.mark.parametrize(
    ("section", "field", "value", "expected"),
    [
        ("licence", "spdx", "CC-BY-4.0", "ShareAlike"),
        ("attribution", "citation", " ", "attribution.citation is missing"),
        ("ethics", "iras_id", "1", "ethics.iras_id"),
    ],
)
def test_incomplete_or_wrong_metadata_is_refused(section, field, value, expected):
    sections = {k: dict(v) for k, v in META.sections.items()}
    sections[section][field] = value
    problems = licence_problems(DatasetMetadata(sections))
    assert any(expected in p for p in problems), problems


def test_source_licence_file_must_agree(tmp_path):
    (tmp_path / "LICENSE").write_text("Attribution-NonCommercial-ShareAlike 4.0 International")
    assert licence_problems(META, tmp_path) == []
    (tmp_path / "LICENSE").write_text("CC0 1.0 Universal")
    assert licence_problems(META, tmp_path) == [
        "LICENSE in the source does not name the licence CC-BY-NC-SA-4.0"
    ]


@pytest.mark.slow
def test_every_artefact_of_a_release_carries_the_licence(sample_release):
    data = sample_release / "data"
    assert SPDX in (data / "LICENSE").read_text() and URL in (data / "LICENSE").read_text()
    assert bagit.Bag(str(sample_release)).info["License"] == f"{SPDX} {URL}"
    for table in (data / "tables").glob("*.parquet"):
        assert file_metadata(table)["unitylv.licence"] == SPDX
    for name in ("experts.json", "consensus.json", "keypoints.json"):
        coco = json.loads((data / "coco" / name).read_text())
        assert [lic["url"] for lic in coco["licenses"]] == [URL]
        assert {i["license"] for i in coco["images"]} == {coco["licenses"][0]["id"]}
    nnunet = json.loads((data / "nnunet" / NNUNET_DATASET_NAME / "dataset.json").read_text())
    assert nnunet["licence"] == SPDX
    assert json.loads((data / "croissant.json").read_text())["license"] == URL
    assert SPDX in (data / "README.md").read_text()


@pytest.mark.slow
def test_licence_file_text_names_sharealike(sample_release):
    text = Path(sample_release / "data" / "LICENSE").read_text()
    assert "ShareAlike" in text or "same licence" in text
