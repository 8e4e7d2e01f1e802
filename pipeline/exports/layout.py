"""Where things live in a release's `data/` folder: the names the documents point at."""

from __future__ import annotations

from pipeline.release.info import NNUNET_DATASET_NAME

TABLES_DIR = "tables"
IMAGES_DIR = "images"
MASKS_DIR = "masks"
COCO_DIR = "coco"
NNUNET_DIR = f"nnunet/{NNUNET_DATASET_NAME}"
CATALOG_FILE = "catalog.sql"
CROISSANT_FILE = "croissant.json"
CARD_FILE = "README.md"
LICENCE_FILE = "LICENSE"
CHANGELOG_FILE = "CHANGELOG.md"
QA_DIR = "qa"
REVIEW_PAGE = f"{QA_DIR}/index.html"

PARQUET_MEDIA_TYPE = "application/x-parquet"
PNG_MEDIA_TYPE = "image/png"


def table_path(name: str) -> str:
    """tables/<name>.parquet, relative to data/."""
    return f"{TABLES_DIR}/{name}.parquet"
