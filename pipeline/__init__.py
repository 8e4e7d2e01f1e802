"""unitylv domain code: readers, validation, geometry, tables and releases (no Dagster)."""
