"""The release's documents: croissant.json, the dataset card (README.md) and LICENSE."""

import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.exports import layout
from pipeline.exports.croissant import croissant_data_type, write_croissant
from pipeline.exports.dataset_card import write_dataset_card, write_licence
from pipeline.names import CONSENSUS_METHODS
from pipeline.release.info import ReleaseInfo
from pipeline.source.licence import METADATA_FILE, load_metadata
from pipeline.tables.schemas import TABLES
from tests.conftest import writable_copy

DATASET_TOML = Path(__file__).resolve().parents[1] / "pipeline" / "source" / METADATA_FILE
MLCROISSANT = Path(sys.executable).with_name("mlcroissant")


def write_documents(data: Path, tables: dict[str, pa.Table], info: ReleaseInfo) -> None:
    write_croissant(data, tables, info)
    write_dataset_card(data, tables, info)
    write_licence(data, info)


pytestmark = pytest.mark.slow  # the fixtures read a release cut through the Dagster job


@pytest.fixture(scope="module")
def release(tiny_release, tmp_path_factory) -> tuple[Path, dict[str, pa.Table], ReleaseInfo]:
    """A copy of the session's tiny release (images included), its documents rewritten."""
    data = writable_copy(tiny_release / "data", tmp_path_factory.mktemp("release_docs") / "data")
    tables = {p.stem: pq.read_table(p) for p in sorted((data / "tables").glob("*.parquet"))}
    info = ReleaseInfo("1.0.0", "2024-05-01", load_metadata())
    write_documents(data, tables, info)
    return data, tables, info


@pytest.fixture(scope="module")
def croissant(release) -> dict:
    return json.loads((release[0] / layout.CROISSANT_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def card(release) -> str:
    return (release[0] / layout.CARD_FILE).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def toml_licence() -> dict:
    return tomllib.loads(DATASET_TOML.read_text(encoding="utf-8"))["licence"]


@pytest.mark.slow
def test_mlcroissant_validates_without_warnings(release):
    if not MLCROISSANT.exists():
        pytest.skip("mlcroissant is not installed")
    path = release[0] / layout.CROISSANT_FILE
    run = subprocess.run(
        [str(MLCROISSANT), "validate", "--jsonld", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr.lower(), run.stderr


@pytest.mark.slow
def test_every_table_and_column_with_its_checksum(release, croissant):
    data, tables, info = release
    assert croissant["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert (croissant["version"], croissant["datePublished"]) == (info.version, info.date)
    files = {d["contentUrl"]: d for d in croissant["distribution"] if d["@type"] == "cr:FileObject"}
    record_sets = {r["@id"]: r for r in croissant["recordSet"]}
    assert set(record_sets) == set(TABLES)
    for name, spec in TABLES.items():
        file = files[f"tables/{name}.parquet"]
        expected = hashlib.sha256((data / "tables" / f"{name}.parquet").read_bytes()).hexdigest()
        assert file["sha256"] == expected
        assert file["encodingFormat"] == "application/x-parquet"
        fields = record_sets[name]["field"]
        assert [f["name"] for f in fields] == spec.column_names
        for field, column in zip(fields, spec.columns, strict=True):
            assert field["description"] == column.description
            assert field["dataType"] == croissant_data_type(column.type)
            assert field["source"]["fileObject"]["@id"] == file["@id"]
            assert field["source"]["extract"]["column"] == column.name
        assert f"({tables[name].num_rows} rows" in record_sets[name]["description"]


@pytest.mark.slow
def test_file_sets_for_images_and_masks(release, croissant):
    data = release[0]
    sets = {d["includes"]: d for d in croissant["distribution"] if d["@type"] == "cr:FileSet"}
    assert sets["images/*.png"]["encodingFormat"] == "image/png"
    assert sets["masks/*/*.png"]["encodingFormat"] == "image/png"
    assert list(data.glob("images/*.png")) and list(data.glob("masks/*/*.png"))


def test_data_types():
    assert croissant_data_type(pa.string()) == "sc:Text"
    assert croissant_data_type(pa.int32()) == croissant_data_type(pa.int64()) == "sc:Integer"
    assert croissant_data_type(pa.float64()) == "sc:Float"
    assert croissant_data_type(pa.bool_()) == "sc:Boolean"
    assert croissant_data_type(pa.binary()) == "sc:Text"
    with pytest.raises(ValueError):
        croissant_data_type(pa.list_(pa.int32()))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")  # mlcroissant's own pandas and rdflib deprecations
def test_mlcroissant_loads_the_geometry_unchanged(release):
    mlc = pytest.importorskip("mlcroissant")
    shapely = pytest.importorskip("shapely")
    data, tables, _ = release
    records = list(mlc.Dataset(str(data / layout.CROISSANT_FILE)).records("contours"))
    assert len(records) == tables["contours"].num_rows
    first = records[0]
    assert shapely.from_wkb(first["contours/geometry"]).area == pytest.approx(
        first["contours/area_px"]
    )


@pytest.mark.slow
def test_licence_everywhere_equals_dataset_toml(release, croissant, card, toml_licence):
    data, _, info = release
    licence_file = (data / layout.LICENCE_FILE).read_text(encoding="utf-8")
    assert croissant["license"] == toml_licence["url"] == info.licence_url
    assert toml_licence["spdx"] == info.licence_spdx
    for text in (croissant["description"], card, licence_file):
        assert toml_licence["url"] in text
        assert toml_licence["spdx"] in text
    assert toml_licence["legal_code_url"] in licence_file
    assert "ShareAlike" in card and "ShareAlike" in licence_file
    assert info.meta["attribution"]["text"] in licence_file
    assert croissant["citeAs"] == info.meta["attribution"]["citation"]
    for ethics in ("IRAS 279328", "REC 20/SC/0386"):
        assert ethics in croissant["description"] and ethics in card


def _methods_rows(tables: dict[str, pa.Table]) -> list[str]:
    consensus = tables["consensus"].select(["image_id", "method"]).to_pylist()
    masks = Counter(tables["masks"]["method"].to_pylist())
    rows = []
    for method in CONSENSUS_METHODS:
        images = [r["image_id"] for r in consensus if r["method"] == method]
        rows.append(f"| `{method}` | {len(images)} | {len(set(images))} | {masks[method]} |")
    return rows


@pytest.mark.slow
def test_card_counts_match_the_tables(release, card):
    tables = release[1]
    phases = Counter(tables["images"]["phase"].to_pylist())
    expert_masks = tables["masks"]["method"].to_pylist().count("expert")
    expected = [
        f"| images | {tables['images'].num_rows} | {phases['ED']} ED, {phases['ES']} ES |",
        f"| studies | {tables['studies'].num_rows} |",
        f"| experts | {tables['experts'].num_rows} |",
        f"| expert curves | {tables['contours'].num_rows} |",
        f"| source points | {tables['points'].num_rows} |",
        f"| rejected or flagged records | {tables['rejects'].num_rows} |",
        f"| masks | {tables['masks'].num_rows} | {expert_masks} expert, "
        f"{tables['masks'].num_rows - expert_masks} consensus |",
        *_methods_rows(tables),
    ]
    for line in expected:
        assert line in card
    assert "#### `study_measurements`" in card  # the generated table reference


@pytest.mark.slow
def test_card_query_one_liner_runs_from_data(release, card):
    data = release[0]
    command = re.search(r"```sh\n(python -c .+)\n```", card).group(1)
    argv = [sys.executable, *shlex.split(command)[1:]]
    run = subprocess.run(argv, cwd=data, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert all(method in run.stdout for method in CONSENSUS_METHODS)


@pytest.mark.slow
def test_documents_are_deterministic(release, tmp_path):
    data, tables, info = release
    names = (layout.CROISSANT_FILE, layout.CARD_FILE, layout.LICENCE_FILE)
    first = {n: (data / n).read_bytes() for n in names}
    write_documents(data, tables, info)
    assert {n: (data / n).read_bytes() for n in names} == first
    # Elsewhere on disk: nothing depends on the folder's absolute path.
    elsewhere = tmp_path / "data"
    shutil.copytree(data / "tables", elsewhere / "tables")
    write_documents(elsewhere, tables, info)
    assert {n: (elsewhere / n).read_bytes() for n in names} == first


@pytest.mark.slow
def test_card_explains_how_to_evaluate_a_model(release, card):
    data, _, info = release
    section = card.split("## How to evaluate a model against this release", 1)[1]
    commands = section.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    predict, evaluate, leaderboard = (shlex.split(line) for line in commands)
    images = predict[predict.index("-i") + 1]
    prefix = f"data/releases/unitylv-multix/{info.version}/data/"
    assert images.startswith(prefix) and (data / images.removeprefix(prefix)).is_dir()
    assert evaluate[:2] == ["unitylv", "evaluate"] and "--predictions" in evaluate
    assert evaluate[evaluate.index("--release") + 1] == prefix.removesuffix("/data/")
    assert leaderboard == ["unitylv", "leaderboard"]
    assert "Williams index" in section
