"""`data/croissant.json`: the release described in MLCommons Croissant 1.1 (JSON-LD).

Every table, column, type and description comes from `pipeline.tables.schemas`; the dataset facts
(licence, attribution, citation, ethics) from `dataset.toml`. The bytes depend only on the
release's files and metadata: no clock, stable order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pyarrow as pa

from pipeline.checksums import sha256_file
from pipeline.exports.layout import (
    CROISSANT_FILE,
    IMAGES_DIR,
    MASKS_DIR,
    PARQUET_MEDIA_TYPE,
    PNG_MEDIA_TYPE,
    table_path,
)
from pipeline.release.info import ReleaseInfo
from pipeline.tables.schemas import TABLES, Column, TableSpec
from pipeline.tables.table_files import TableReader, table_reader

CROISSANT_VERSION = "http://mlcommons.org/croissant/1.1"
# The Croissant 1.1 context as mlcroissant 1.1 emits it (keys missing from it make the
# validator warn), plus the PROV-O namespace the spec recommends for provenance.
CONTEXT: dict = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "prov": "http://www.w3.org/ns/prov#",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
IMAGE_FILES_ID = "image-files"
MASK_FILES_ID = "mask-files"


def croissant_data_type(type_: pa.DataType) -> str:
    """The Croissant dataType of a column's Arrow type."""
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "sc:Text"
    if pa.types.is_boolean(type_):
        return "sc:Boolean"
    if pa.types.is_integer(type_):
        return "sc:Integer"
    if pa.types.is_floating(type_):
        return "sc:Float"
    if pa.types.is_binary(type_) or pa.types.is_large_binary(type_):
        # WKB geometry. Croissant has no binary or pixel-space geometry type (GeoCroissant is
        # for geographic CRSs); mlcroissant reads sc:Text values as raw bytes, so the WKB
        # comes back unchanged. The column's description says it is WKB.
        return "sc:Text"
    raise ValueError(f"no Croissant dataType for Arrow type {type_}")


def _organisation(info: ReleaseInfo) -> dict:
    dataset = info.meta["dataset"]
    return {"@type": "sc:Organization", "name": dataset["publisher"], "url": dataset["source_url"]}


def _description(info: ReleaseInfo) -> str:
    dataset, licence = info.meta["dataset"], info.meta["licence"]
    return (
        f"{dataset['title']}. {dataset['description']} "
        f"Release {info.version}: validated Parquet tables of the expert curves, consensus "
        "curves and masks, agreement metrics and measurements. "
        f"Licence: {licence['name']} ({info.licence_spdx}, {info.licence_url}); "
        f"{info.meta['attribution']['text']} "
        f"Ethics: {info.meta['ethics']['statement']}"
    )


def _file_object(data_dir: Path, name: str, checksums: Mapping[str, str]) -> dict:
    relative = table_path(name)
    path = data_dir / relative
    sha256 = checksums.get(relative) or sha256_file(path)
    return {
        "@type": "cr:FileObject",
        "@id": relative,
        "name": relative,
        "description": f"The {name} table (Parquet).",
        "contentUrl": relative,
        "contentSize": f"{path.stat().st_size} B",
        "encodingFormat": PARQUET_MEDIA_TYPE,
        "sha256": sha256,
    }


def _file_sets() -> list[dict]:
    mask_path = next(c for c in TABLES["masks"].columns if c.name == "path")
    return [
        {
            "@type": "cr:FileSet",
            "@id": IMAGE_FILES_ID,
            "name": IMAGE_FILES_ID,
            "description": "The echocardiography frames, <image_id>.png (see the images table).",
            "encodingFormat": PNG_MEDIA_TYPE,
            "includes": f"{IMAGES_DIR}/*.png",
        },
        {
            "@type": "cr:FileSet",
            "@id": MASK_FILES_ID,
            "name": MASK_FILES_ID,
            "description": (
                "Binary LV cavity masks, single-channel PNGs holding 0 and 1: "
                f"{mask_path.description} (see the masks table)."
            ),
            "encodingFormat": PNG_MEDIA_TYPE,
            "includes": f"{MASKS_DIR}/*/*.png",
        },
    ]


def _field(spec: TableSpec, column: Column) -> dict:
    return {
        "@type": "cr:Field",
        "@id": f"{spec.name}/{column.name}",
        "name": column.name,
        "description": column.description,
        "dataType": croissant_data_type(column.type),
        "source": {
            "fileObject": {"@id": table_path(spec.name)},
            "extract": {"column": column.name},
        },
    }


def _record_set(spec: TableSpec, n_rows: int) -> dict:
    record_set = {
        "@type": "cr:RecordSet",
        "@id": spec.name,
        "name": spec.name,
        "description": f"One row per {spec.grain} ({n_rows} rows in this release).",
    }
    # Only a one-column sort key is a declared identifier (images, studies, experts); the
    # longer sort keys order rows but are not promised unique. No `references`: mlcroissant
    # 1.1.1 cannot load a record set whose field references another Parquet record set.
    if len(spec.sort_by) == 1:
        record_set["key"] = {"@id": f"{spec.name}/{spec.sort_by[0]}"}
    record_set["field"] = [_field(spec, c) for c in spec.columns]
    return record_set


def croissant_document(
    data_dir: Path,
    tables: TableReader | dict[str, pa.Table],
    info: ReleaseInfo,
    checksums: Mapping[str, str] = MappingProxyType({}),
) -> dict:
    """The Croissant JSON-LD of the release at `data_dir` (tables in schema order).

    `checksums` (path relative to data/ -> sha256) are the table files' hashes from when they
    were written; a file missing from it is hashed here.
    """
    tables = table_reader(tables)
    names = [name for name in TABLES if name in tables.names]
    dataset, ethics = info.meta["dataset"], info.meta["ethics"]
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_VERSION,
        "name": dataset["name"],
        "alternateName": dataset["title"],
        "description": _description(info),
        "url": dataset["source_url"],
        "version": info.version,
        "datePublished": info.date,
        "license": info.licence_url,
        "usageInfo": info.meta["attribution"]["text"],
        "citeAs": info.meta["attribution"]["citation"],
        "creator": _organisation(info),
        "publisher": _organisation(info),
        "prov:wasDerivedFrom": {"@id": dataset["source_url"]},
        "rai:personalSensitiveInformation": ethics["statement"],
        "distribution": [_file_object(data_dir, n, checksums) for n in names] + _file_sets(),
        "recordSet": [_record_set(TABLES[n], tables.num_rows(n)) for n in names],
    }


def write_croissant(
    data_dir: Path,
    tables: TableReader | dict[str, pa.Table],
    info: ReleaseInfo,
    checksums: Mapping[str, str] = MappingProxyType({}),
) -> Path:
    """Write `data_dir/croissant.json` describing the tables already written under it."""
    document = croissant_document(data_dir, tables, info, checksums)
    path = data_dir / CROISSANT_FILE
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
