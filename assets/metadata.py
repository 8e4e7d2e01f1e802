"""Dagster metadata for table assets: row count, column schema and a markdown preview."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from pipeline.tables.schemas import TableSpec

PREVIEW_ROWS = 5


def column_schema(spec: TableSpec) -> dg.TableSchema:
    """The spec's columns as a Dagster TableSchema (shown natively in the UI)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, str(c.type), description=c.description) for c in spec.columns
        ]
    )


def markdown_preview(table: pa.Table, rows: int = PREVIEW_ROWS) -> str:
    """The first rows as a markdown table; binary columns shown by size only."""
    head = table.slice(0, rows).to_pylist()
    names = table.column_names
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in head:
        cells = [f"<{len(v)} bytes>" if isinstance(v, bytes) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table_metadata(table: pa.Table, spec: TableSpec) -> dict[str, object]:
    """Standard metadata for a materialised table."""
    return {
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(spec),
        "preview": dg.MetadataValue.md(markdown_preview(table)),
    }
