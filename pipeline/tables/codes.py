"""Integer codes for string columns, so millions of rows never become Python strings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def sorted_codes(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """(codes, values) of a string column, plain or dictionary-encoded (no nulls): `values`
    are its distinct strings in ascending order and `codes[i]` is row i's position among them,
    so codes compare as the strings do. Memory: an integer a row and one string a value."""
    if not len(column):
        return np.zeros(0, dtype=np.int64), []
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    if isinstance(column, pa.ChunkedArray):
        column = column.unify_dictionaries().combine_chunks()
    if column.null_count:
        raise ValueError("a key column holds nulls")
    order = pc.array_sort_indices(column.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = rank[column.indices.to_numpy(zero_copy_only=False)]
    return codes, column.dictionary.take(pa.array(order)).to_pylist()


def runs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, lengths) of the runs of equal codes, in row order."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return starts, np.diff(np.r_[starts, len(codes)])
