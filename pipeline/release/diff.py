"""What changed between two releases: rows per table, images, curves, consensus areas, EF."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.errors import ReleaseError
from pipeline.names import DEFAULT_METHOD

AREA_CHANGE_FRACTION = 0.01  # report consensus areas that moved by more than 1%
EF_CHANGE_POINTS = 1.0  # report consensus EF that moved by more than 1 point
DEFAULT_CONSENSUS = DEFAULT_METHOD


@dataclass
class ReleaseDiff:
    rows: list[tuple[str, int | None, int | None]] = field(default_factory=list)
    images_added: list[str] = field(default_factory=list)
    images_removed: list[str] = field(default_factory=list)
    curves_changed: list[tuple[str, str, str]] = field(default_factory=list)  # image, expert, how
    area_changes: list[tuple[str, float, float]] = field(default_factory=list)
    ef_changes: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            any(old != new for _, old, new in self.rows)
            or self.images_added
            or self.images_removed
            or self.curves_changed
            or self.area_changes
            or self.ef_changes
        )


def _connect(old: Path, new: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for alias, folder in (("old", old), ("new", new)):
        tables = folder / "tables"
        if not tables.is_dir():
            raise ReleaseError("no tables/ folder: not a release", file=str(folder))
        con.execute(f"CREATE SCHEMA {alias}")
        for path in sorted(tables.glob("*.parquet")):
            literal = path.as_posix().replace("'", "''")
            con.execute(
                f"CREATE VIEW {alias}.{path.stem} AS SELECT * FROM read_parquet('{literal}')"
            )
    return con


def _tables(con, alias: str) -> set[str]:
    sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
    return {r[0] for r in con.execute(sql, [alias]).fetchall()}


def diff_releases(old_data: Path, new_data: Path) -> ReleaseDiff:
    """Compare the `data/` folders of two releases."""
    con = _connect(old_data, new_data)
    old_tables, new_tables = _tables(con, "old"), _tables(con, "new")
    diff = ReleaseDiff()
    for name in sorted(old_tables | new_tables):
        count = "SELECT count(*) FROM {}.{}"
        old = con.execute(count.format("old", name)).fetchone()[0] if name in old_tables else None
        new = con.execute(count.format("new", name)).fetchone()[0] if name in new_tables else None
        diff.rows.append((name, old, new))
    both = old_tables & new_tables
    if "images" in both:
        diff.images_added = _column(
            con, "SELECT image_id FROM new.images EXCEPT SELECT image_id FROM old.images"
        )
        diff.images_removed = _column(
            con, "SELECT image_id FROM old.images EXCEPT SELECT image_id FROM new.images"
        )
    if {"points", "experts"} <= both:
        diff.curves_changed = _curve_changes(con)
    if "consensus" in both:
        diff.area_changes = _area_changes(con)
    if "study_measurements" in both:
        diff.ef_changes = _ef_changes(con)
    return diff


def _column(con, sql: str) -> list[str]:
    return sorted(r[0] for r in con.execute(sql).fetchall())


CURVE_DIGESTS = """
SELECT p.image_id, e.user_id, any_value(p.expert_id) AS expert_id,
       md5(string_agg(p.x::VARCHAR || ',' || p.y::VARCHAR, ';' ORDER BY p.point_index)) AS digest
FROM {0}.points p JOIN {0}.experts e USING (expert_id)
GROUP BY p.image_id, e.user_id
"""


def _curve_changes(con) -> list[tuple[str, str, str]]:
    """Curves (image x expert, matched by source userId) added, removed or redrawn."""
    sql = f"""
    WITH o AS ({CURVE_DIGESTS.format("old")}), n AS ({CURVE_DIGESTS.format("new")})
    SELECT coalesce(n.image_id, o.image_id), coalesce(n.expert_id, o.expert_id),
           CASE WHEN o.digest IS NULL THEN 'added' WHEN n.digest IS NULL THEN 'removed'
                ELSE 'changed' END
    FROM o FULL OUTER JOIN n ON o.image_id = n.image_id AND o.user_id = n.user_id
    WHERE o.digest IS DISTINCT FROM n.digest
    ORDER BY 1, 2
    """
    return [tuple(r) for r in con.execute(sql).fetchall()]


def _area_changes(con) -> list[tuple[str, float, float]]:
    sql = """
    SELECT image_id, o.area_px, n.area_px
    FROM old.consensus o JOIN new.consensus n USING (image_id, method)
    WHERE method = ? AND abs(n.area_px - o.area_px) > ? * o.area_px
      AND o.left_out_expert_id IS NULL AND n.left_out_expert_id IS NULL
    ORDER BY image_id
    """
    return [
        tuple(r) for r in con.execute(sql, [DEFAULT_CONSENSUS, AREA_CHANGE_FRACTION]).fetchall()
    ]


def _ef_changes(con) -> list[tuple[str, float, float]]:
    sql = """
    SELECT study_id, o.ef_percent, n.ef_percent
    FROM old.study_measurements o JOIN new.study_measurements n USING (study_id, rater, method)
    WHERE rater = 'consensus' AND method = ? AND abs(n.ef_percent - o.ef_percent) > ?
    ORDER BY study_id
    """
    return [tuple(r) for r in con.execute(sql, [DEFAULT_CONSENSUS, EF_CHANGE_POINTS]).fetchall()]


def diff_markdown(diff: ReleaseDiff, old_version: str, new_version: str) -> str:
    """The diff as a markdown section, for CHANGELOG.md and `unitylv diff`."""
    lines = [f"Compared with {old_version}:", ""]
    if diff.empty:
        return "\n".join([*lines, "- No change in any table.", ""])
    lines += ["| table | rows before | rows after |", "|---|---|---|"]
    lines += [f"| {t} | {_n(o)} | {_n(n)} |" for t, o, n in diff.rows if o != n]
    lines.append("")
    lines += [f"- Image added: {i}" for i in diff.images_added]
    lines += [f"- Image removed: {i}" for i in diff.images_removed]
    lines += [f"- Curve {how}: image {i}, expert {e}" for i, e, how in diff.curves_changed]
    lines += [
        f"- Consensus ({DEFAULT_CONSENSUS}) area of {i}: {o:.1f} -> {n:.1f} px²"
        for i, o, n in diff.area_changes
    ]
    lines += [f"- Consensus EF of study {s}: {o:.1f}% -> {n:.1f}%" for s, o, n in diff.ef_changes]
    return "\n".join(lines).rstrip() + "\n"


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)
