"""Integer codes for string key columns (pipeline.tables.codes)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.tables.codes import runs, sorted_codes


def test_codes_order_rows_as_their_strings_in_byte_order():
    # Arrow orders strings by their UTF-8 bytes: "é" (0xC3 0xA9) after "z".
    column = pa.chunked_array([["b", "é"], ["a", "z", "b"]])
    codes, values = sorted_codes(column)
    assert values == ["a", "b", "z", "é"]
    np.testing.assert_array_equal(codes, [1, 3, 0, 2, 1])


def test_dictionary_chunks_with_different_dictionaries_give_the_same_codes():
    plain = pa.chunked_array([["b", "a"], ["c", "b"]])
    encoded = pa.chunked_array([pa.array(c).dictionary_encode() for c in (["b", "a"], ["c", "b"])])
    for column in (plain, encoded):
        codes, values = sorted_codes(column)
        assert values == ["a", "b", "c"]
        np.testing.assert_array_equal(codes, [1, 0, 2, 1])


def test_empty_column_and_runs():
    codes, values = sorted_codes(pa.chunked_array([], pa.string()))
    assert (len(codes), values) == (0, [])
    starts, lengths = runs(np.array([4, 4, 1, 7, 7, 7, 4]))
    np.testing.assert_array_equal(starts, [0, 2, 3, 6])
    np.testing.assert_array_equal(lengths, [2, 1, 3, 1])
