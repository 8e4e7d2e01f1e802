"""`data/README.md` (the dataset card) and `data/LICENSE` of a release.

Facts come from `dataset.toml`, counts from the release's tables, the table reference from
`pipeline.tables.schemas`. The bytes depend only on those: no clock.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.consensus.methods import DEFAULT_CURVE_POINTS, STAPLE_THRESHOLD
from pipeline.constants import PHASES, PUBLISHED_ANCHOR_XY, PUBLISHED_REVERSE_INDEX
from pipeline.docs import table_reference_markdown
from pipeline.exports import layout
from pipeline.masks.files import EXPERT
from pipeline.names import CONSENSUS_METHODS, DEFAULT_METHOD, Method
from pipeline.release.catalog import DERIVED_VIEWS
from pipeline.release.info import NNUNET_DATASET_ID, ReleaseInfo
from pipeline.tables.table_files import TableReader, table_reader

_ANCHOR = f"({PUBLISHED_ANCHOR_XY[0]:g}, {PUBLISHED_ANCHOR_XY[1]:g})"
METHOD_EXPLANATIONS: dict[str, str] = {
    Method.PUBLISHED_MEAN: (
        "the dataset authors' rule, reproduced exactly: each expert curve is reversed when its "
        f"point nearest the pixel {_ANCHOR} has an index above {PUBLISHED_REVERSE_INDEX}, then "
        "x and y are averaged index by index over all experts, using the first expert's point "
        "count. Undefined when the experts' point counts differ (no row; a note in "
        "`consensus_notes`). Kept to check the published consensus file and to stay comparable "
        "with the paper."
    ),
    Method.ARCLENGTH_MEAN: (
        "each expert curve is oriented by anatomy (septal hinge first), resampled to "
        f"{DEFAULT_CURVE_POINTS} points evenly spaced by arc length, then averaged point by "
        "point; any point counts and tracing directions combine."
    ),
    Method.ARCLENGTH_MEAN_LOO: (
        f"for each expert, the `{Method.ARCLENGTH_MEAN}` of all the other experts "
        "(`left_out_expert_id`): "
        "the fair reference to score that expert against (`agreement`)."
    ),
    Method.MAJORITY: (
        "a mask: the pixels inside the cavities of at least half of the experts; its outline "
        "is the geometry."
    ),
    Method.STAPLE: (
        "a mask: STAPLE (Warfield et al. 2004) over the experts' masks, as ITK computes it, "
        f"truth probability thresholded at {STAPLE_THRESHOLD:g}; each expert's estimated "
        "sensitivity and specificity are in `staple_performance`."
    ),
}


def _counts(values: pa.ChunkedArray) -> dict[str, int]:
    return {row["values"]: row["counts"] for row in pc.value_counts(values).to_pylist()}


def _count_by(tables: TableReader, name: str, column: str) -> dict[str, int]:
    """Rows of a table per value of one column (only that column is read)."""
    return _counts(tables.columns(name, [column])[column])


def _parts(counts: dict[str, int], order: tuple[str, ...] = ()) -> str:
    names = [n for n in order if n in counts] + sorted(set(counts) - set(order))
    return ", ".join(f"{counts[n]} {n}" for n in names)


def release_counts(
    tables: TableReader | dict[str, pa.Table],
) -> list[tuple[str, int, str]]:
    """(what, count, breakdown) rows of the card's summary, from the tables' counted columns."""
    tables = table_reader(tables)
    mask_methods = _count_by(tables, "masks", "method")
    n_expert_masks = mask_methods.pop(EXPERT, 0)
    n_consensus_masks = sum(mask_methods.values())
    valid = int(pc.sum(tables.columns("contours", ["is_valid"])["is_valid"]).as_py() or 0)
    n = tables.num_rows
    return [
        ("images", n("images"), _parts(_count_by(tables, "images", "phase"), PHASES)),
        ("studies", n("studies"), ""),
        ("experts", n("experts"), ""),
        ("expert curves", n("contours"), f"{valid} with a simple cavity polygon"),
        ("source points", n("points"), ""),
        (
            "rejected or flagged records",
            n("rejects"),
            _parts(_count_by(tables, "rejects", "severity")),
        ),
        ("consensus rows", n("consensus"), "see the methods below"),
        ("masks", n("masks"), f"{n_expert_masks} expert, {n_consensus_masks} consensus"),
    ]


def _counts_section(tables: TableReader) -> str:
    lines = ["## This release in numbers\n", "| what | count | of which |", "|---|---|---|"]
    lines += [f"| {what} | {n} | {parts} |" for what, n, parts in release_counts(tables)]
    return "\n".join(lines) + "\n"


def _methods_section(tables: TableReader) -> str:
    consensus = tables.columns("consensus", ["method", "image_id"])
    rows = _counts(consensus["method"])
    mask_counts = _count_by(tables, "masks", "method")
    lines = [
        "## Consensus methods\n",
        "Each method gives at most one consensus per image (leave-one-out: one per expert), "
        "in `consensus`; curve points are in `consensus_points`. The default is "
        f"`{DEFAULT_METHOD}`. A method that could not be made for an image leaves a row in "
        "`consensus_notes` instead.\n",
        "| method | consensus rows | images | masks |",
        "|---|---|---|---|",
    ]
    for method in CONSENSUS_METHODS:
        images = consensus.filter(pc.equal(consensus["method"], method))["image_id"]
        n_images = len(pc.unique(images))
        lines.append(
            f"| `{method}` | {rows.get(method, 0)} | {n_images} | {mask_counts.get(method, 0)} |"
        )
    lines.append("")
    lines += [
        f"- `{m}`{' (default)' if m == DEFAULT_METHOD else ''}: {METHOD_EXPLANATIONS[m]}"
        for m in CONSENSUS_METHODS
    ]
    return "\n".join(lines) + "\n"


PIXEL_CONVENTION = """## Pixel convention

Coordinates are in image pixels: x to the right, y down, origin at the top-left corner of the
image, so pixel column c, row r has its centre at (c + 0.5, r + 0.5). A pixel belongs to a mask
when its centre lies inside the cavity polygon (COCO's convention). Mask PNGs are single-channel
and hold 0 and 1 (not 255). Expert curves are open (hinge, apex, hinge); the cavity polygon closes
them along the mitral plane. Geometry columns are WKB polygons in pixel space (GeoParquet, no CRS).
"""


def _layout_section() -> str:
    rows = [
        (layout.CARD_FILE, "this card"),
        (layout.LICENCE_FILE, "the licence, attribution and ShareAlike terms of this release"),
        (layout.CHANGELOG_FILE, "what changed since the previous release"),
        (layout.CROISSANT_FILE, "MLCommons Croissant 1.1 metadata: files, tables, columns"),
        (layout.CATALOG_FILE, "DuckDB views over the tables (relative paths)"),
        (
            layout.REVIEW_PAGE,
            "the review page: counts, flags, rejects, agreement plots and every overlay; "
            "opens from disk in a browser",
        ),
        (
            f"{layout.QA_DIR}/overlays/<image_id>.jpg",
            "each frame with every expert's curve in its colour and the default consensus",
        ),
        (f"{layout.QA_DIR}/plots/", "agreement, EF (Bland-Altman), area and tracing plots"),
        (layout.table_path("<table>"), "one Parquet file per table (reference below)"),
        (f"{layout.IMAGES_DIR}/<image_id>.png", "the echocardiography frames"),
        (f"{layout.MASKS_DIR}/<expert_id or method>/<image_id>.png", "expert and consensus masks"),
        (f"{layout.COCO_DIR}/", "COCO instance files (image paths relative to `data/`)"),
        (f"{layout.NNUNET_DIR}/", "the masks as an nnU-Net v2 dataset"),
    ]
    lines = ["## What is where\n", "| path | what |", "|---|---|"]
    lines += [f"| `{path}` | {what} |" for path, what in rows]
    lines.append(
        "\nAround `data/`, the release folder is a BagIt bag: `manifest-sha256.txt` holds the "
        "sha256 of every file."
    )
    return "\n".join(lines) + "\n"


DEFAULT_AREAS_SQL = f"SELECT image_id, area_px FROM consensus WHERE method = '{DEFAULT_METHOD}';"


def _query_section() -> str:
    one_liner = (
        'python -c "import duckdb; c = duckdb.connect(); '
        f"c.execute(open('{layout.CATALOG_FILE}').read()); "
        "print(c.sql('SELECT method, count(*) AS n, avg(area_px) AS mean_area_px "
        "FROM consensus GROUP BY method ORDER BY method'))\""
    )
    views = ", ".join(f"`{name}`" for name in DERIVED_VIEWS)
    return (
        "## How to query\n\n"
        f"`{layout.CATALOG_FILE}` creates one DuckDB view per table (and {views}). From this "
        "folder:\n\n"
        f"```sh\n{one_liner}\n```\n\n"
        "For example, the default consensus areas:\n\n"
        f"```sql\n{DEFAULT_AREAS_SQL}\n```\n\n"
        "Spatial SQL on the geometry columns (e.g. `ST_Area(geometry)`) needs DuckDB's spatial "
        "extension loaded first. The Parquet files also read directly with pyarrow, pandas or "
        "polars.\n"
    )


def _evaluation_section(info: ReleaseInfo) -> str:
    """How to score a model against this release with the project's `unitylv evaluate`."""
    release = f"data/releases/unitylv-multix/{info.version}"
    images = f"{release}/data/{layout.NNUNET_DIR}/imagesTr"
    return (
        "## How to evaluate a model against this release\n\n"
        "The eleven experts traced every image blind to each other, so a model can be asked "
        "whether it agrees with them as well as they agree with each other. With the "
        "`unitylv` tool that cut this release (the folder as it sits under `data/releases/`), "
        "from `nnUNetv2_predict` output to a leaderboard:\n\n"
        "```sh\n"
        f"nnUNetv2_predict -d {NNUNET_DATASET_ID} -c 2d -f all -i {images} "
        "-o data/predictions/my_model\n"
        f"unitylv evaluate --release {release} --predictions data/predictions/my_model\n"
        "unitylv leaderboard\n"
        "```\n\n"
        "Predictions may be a folder of `<image_id>.png` masks (single channel, the image's "
        "size, 0/1 or 0/255; the nnU-Net case id is the image_id), a COCO results file "
        f"(image ids as in `{layout.COCO_DIR}/consensus.json`) or a curves file "
        '`{"<image_id>.png": [[x...], [y...]]}`. Each image is scored against every expert '
        "and consensus with the metrics of `agreement` (Dice, IoU, Hausdorff, HD95, mean "
        "contour distance), and the **Williams index** (Chalana and Kim 1997) divides the "
        "model's mean agreement with the experts by the experts' mean agreement with each other "
        "(`pairwise_agreement`; distances inverted): near 1 the model agrees with the experts "
        "as well as they agree with each other, above 1 better. Its 95% interval is a "
        "jackknife over images, and each expert scored the same way against the other ten "
        "places the model among them. Results go beside the releases "
        "(`data/evaluations/<name>/`), never into this release; missing or unusable "
        "predictions are listed and scored as empty masks.\n"
    )


def _citation_section(info: ReleaseInfo) -> str:
    attribution = info.meta["attribution"]
    ethics = info.meta["ethics"]
    licence = info.meta["licence"]
    committee = f"- Committee: {ethics['committee']}\n" if ethics.get("committee") else ""
    return (
        "## How to cite\n\n"
        f"> {attribution['citation']}\n\n"
        f"Attribution: {attribution['text']}\n\n"
        "## Ethics\n\n"
        f"{ethics['statement']}\n\n"
        f"- IRAS ID: {ethics['iras_id']}\n"
        f"- REC reference: {ethics['rec_reference']}\n"
        f"{committee}\n"
        "## Licence\n\n"
        f"{licence['name']} (SPDX `{info.licence_spdx}`): <{info.licence_url}>.\n\n"
        f"{_sharealike(info)} See `{layout.LICENCE_FILE}`.\n"
    )


def _sharealike(info: ReleaseInfo) -> str:
    name = info.meta["dataset"]["name"]
    return (
        f"This release is adapted material derived from the {name} dataset. Under the licence's "
        f"ShareAlike condition it is distributed under the same licence, {info.licence_spdx}, "
        "and so must any work derived from it, with the attribution above."
    )


def dataset_card(tables: TableReader | dict[str, pa.Table], info: ReleaseInfo) -> str:
    """The dataset card's markdown."""
    tables = table_reader(tables)
    dataset = info.meta["dataset"]
    header = (
        f"# {dataset['name']} {info.version}\n\n"
        f"{dataset['title']}.\n\n"
        f"Release {info.version} of {info.date}, published by {dataset['publisher']}; source: "
        f"<{dataset['source_url']}>. Licence: {info.licence_spdx}.\n\n"
        "## What this is\n\n"
        f"{dataset['description']}\n\n"
        "This release holds the source's images and expert curves, validated and tabulated, "
        "with consensus curves and masks, agreement between experts and consensus, and LV "
        "areas, volumes and ejection fractions.\n\n"
        f"To look before you read, open the review page [{layout.REVIEW_PAGE}]"
        f"({layout.REVIEW_PAGE}) in a browser (no server or network needed): every image with "
        "all expert curves and the consensus, worst agreement first, the flagged curves and "
        "studies, and the agreement and EF plots.\n"
    )
    sections = [
        header,
        _counts_section(tables),
        _methods_section(tables),
        PIXEL_CONVENTION,
        _layout_section(),
        _query_section(),
        _evaluation_section(info),
        _citation_section(info),
        "## Table reference\n\n" + table_reference_markdown(),
    ]
    return "\n".join(sections)


def write_dataset_card(
    data_dir: Path, tables: TableReader | dict[str, pa.Table], info: ReleaseInfo
) -> Path:
    """Write `data_dir/README.md`, the dataset card."""
    path = data_dir / layout.CARD_FILE
    path.write_text(dataset_card(tables, info), encoding="utf-8")
    return path


def licence_text(info: ReleaseInfo) -> str:
    """The LICENSE file: which licence, attribution, ShareAlike, where the legal code is."""
    licence = info.meta["licence"]
    legal_code = licence.get("legal_code_url") or info.licence_url
    return (
        f"{info.meta['dataset']['name']} release {info.version}\n\n"
        f"Licence: {licence['name']}\n"
        f"SPDX identifier: {info.licence_spdx}\n"
        f"Licence summary: {info.licence_url}\n"
        f"Legal code: {legal_code}\n\n"
        f"Attribution\n\n{info.meta['attribution']['text']}\n\n"
        f"ShareAlike\n\n{_sharealike(info)}\n\n"
        "The full legal code is not reproduced in this file; it is published at "
        f"{legal_code} and governs every use of this release.\n"
    )


def write_licence(data_dir: Path, info: ReleaseInfo) -> Path:
    """Write `data_dir/LICENSE`."""
    path = data_dir / layout.LICENCE_FILE
    path.write_text(licence_text(info), encoding="utf-8")
    return path
