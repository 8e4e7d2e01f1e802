"""Streaming the source JSON record by record gives what json.loads gives on the whole file."""

import json
import sys
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import pipeline.source.jsonparse as jsonparse
import pipeline.source.stream as stream
from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, STREAM_CHUNK_BYTES
from pipeline.errors import SourceError
from pipeline.source.jsonscan import max_depth
from pipeline.source.jsonvalues import JsonObject, NestedValue, cut_below, parse_int
from pipeline.source.reader import ANNOTATIONS_KEEP, CONSENSUS_KEEP
from pipeline.source.stream import stream_records
from tests import corrupt
from tests.conftest import read_annotations

SHAPE = "{name: value}"


def reference(text: bytes, keep: int) -> list:
    """The whole file through json.loads (in a thread with a big stack, for deep text), cut
    below the published shape as the reader always did: the records as (key, value) pairs."""

    def parse():
        text_ = text.decode("utf-8-sig")
        return json.loads(text_, object_pairs_hook=JsonObject, parse_int=parse_int)

    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size(512 * 1024 * 1024)
    try:
        sys.setrecursionlimit(250_000)
        with ThreadPoolExecutor(max_workers=1) as pool:
            value = pool.submit(parse).result()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    return list(cut_below(value, keep + 1))


def reference_error(text: bytes) -> str:
    """json's own account of why the whole file does not parse."""
    try:
        reference(text, 0)
    except json.JSONDecodeError as exc:
        return f"JSON does not parse at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    raise AssertionError("the text parses")


def streamed(path: Path, keep: int = ANNOTATIONS_KEEP, chunk: int = STREAM_CHUNK_BYTES) -> list:
    records = stream_records(path, path.parent, keep, SHAPE, chunk_bytes=chunk)
    return [(r.key, r.value) for r in records]


def write(tmp_path: Path, text: bytes) -> Path:
    path = tmp_path / "file.json"
    path.write_bytes(text)
    return path


# --- the same records as json.loads -------------------------------------------------------


@pytest.mark.parametrize("chunk", [7, 4096, STREAM_CHUNK_BYTES])
def test_small_source_streams_as_json_loads(small_source, chunk):
    for name, keep in ((ANNOTATIONS_FILE, ANNOTATIONS_KEEP), (CONSENSUS_FILE, CONSENSUS_KEEP)):
        path = small_source / name
        assert streamed(path, keep, chunk) == reference(path.read_bytes(), keep)


@pytest.mark.slow
def test_sample_streams_as_json_loads(sample_source):
    for name, keep in ((ANNOTATIONS_FILE, ANNOTATIONS_KEEP), (CONSENSUS_FILE, CONSENSUS_KEEP)):
        path = sample_source / name
        expected = reference(path.read_bytes(), keep)
        assert len(expected) == 200
        assert streamed(path, keep) == expected
        assert streamed(path, keep, 65_536) == expected


@pytest.fixture(scope="module")
def hostile_annotations(small_source, tmp_path_factory) -> Path:
    """The small source's annotations with every hostile value the reader must survive."""
    source = tmp_path_factory.mktemp("hostile") / "source"
    source.mkdir()
    path = source / ANNOTATIONS_FILE
    path.write_bytes((small_source / ANNOTATIONS_FILE).read_bytes())
    names = list(read_annotations(source))
    users = list(read_annotations(source)[names[0]])

    def edit(document, *placeholders):
        document[names[0]][users[0]][0][3] = placeholders[0]
        document[names[0]][users[1]][1][5] = placeholders[1]
        document[names[1]][users[0]] = placeholders[2]
        document[names[2]][users[2]][0][0] = placeholders[3]
        document[names[3]] = placeholders[4]
        document[names[4]][users[3]] = placeholders[5]
        document[names[5]][users[4]][0][1] = placeholders[6]
        document['{"[,]}\\'] = {'"u,"': [["}", "\\", '\\"'], [1]]}
        document["../up.png"] = None

    literals = (
        "3" * 401,
        "4" * 4401,
        corrupt.deep_array(900),
        corrupt.deep_array(1200),
        corrupt.deep_array(3000),
        '{"x": ' * 70 + "[]" + "}" * 70,
        "[" + ", ".join(["[[1]]", '{"k": [2]}', "[]"]) + "]",
    )
    corrupt.splice_json(path, edit, *literals)
    corrupt.add_byte_order_mark(path)
    return path


@pytest.mark.parametrize("chunk", [61, STREAM_CHUNK_BYTES])
def test_hostile_records_stream_as_json_loads(hostile_annotations, chunk):
    expected = reference(hostile_annotations.read_bytes(), ANNOTATIONS_KEEP)
    got = streamed(hostile_annotations, ANNOTATIONS_KEEP, chunk)
    assert got == expected
    image = dict(got)[list(dict(got))[1]]
    assert [[NestedValue("an array", 898)]] in [curve for _, curve in image]  # 2 + 898 deep


def test_json_never_sees_more_than_64_levels(hostile_annotations, monkeypatch):
    deepest, real = [], json.loads

    def measured(text, **kwargs):
        deepest.append(max_depth(text.encode(), 1 << 20))
        return real(text, **kwargs)

    monkeypatch.setattr(jsonparse.json, "loads", measured)
    streamed(hostile_annotations)
    assert deepest and max(deepest) == 64  # the { a record is wrapped in included


def test_a_curve_nested_100000_levels_parses_without_recursion(tmp_path):
    text = b'{"a.png": {"u": ' + corrupt.deep_array(100_000).encode() + b"}}"
    ((_, value),) = streamed(write(tmp_path, text))
    assert value == [("u", [[NestedValue("an array", 99_998)]])]  # curve, axis, then the rest


# --- record boundaries --------------------------------------------------------------------

TRICKY = {
    '{"[,]}': {"u,": [["}", "]", ",", "{", "["], ['"', "\\", '\\"', "\\\\", '"\\\\"']]},
    "\\": {'"': [["x\\\\", "\\\\\\\\"], ['\\"\\\\"', "\\u"]]},
    "é\u2028☃": {"ü": [["\\", "é"], [1e-3, -0.0]]},
    "": [],
}


@pytest.mark.parametrize("chunk", range(3, 41))
def test_strings_with_brackets_commas_quotes_and_backslashes(tmp_path, chunk):
    for ensure_ascii in (True, False):
        text = json.dumps(TRICKY, ensure_ascii=ensure_ascii, indent=1).encode()
        path = write(tmp_path, text)
        assert streamed(path, chunk=chunk) == reference(text, ANNOTATIONS_KEEP)


def test_records_carry_order_raw_text_line_and_depth(tmp_path):
    text = (
        b'\xef\xbb\xbf{\n  "a.png": {"u": [[1, 2], [3, 4]]},\n  "b\\u002epng" :  [ 1 ,2 ] ,'
        b'\n\n  "a.png": "again"\n}\n'
    )
    records = list(stream_records(write(tmp_path, text), tmp_path, 3, SHAPE, chunk_bytes=7))
    assert [(r.order, r.key, r.raw_key, r.raw_value, r.line, r.depth) for r in records] == [
        (0, "a.png", b'"a.png"', b'{"u": [[1, 2], [3, 4]]}', 2, 3),
        (1, "b.png", b'"b\\u002epng"', b"[ 1 ,2 ]", 3, 1),
        (2, "a.png", b'"a.png"', b'"again"', 5, 0),
    ]
    assert [json.loads(r.raw_value) for r in records][1] == [1, 2]


def test_empty_object_has_no_records(tmp_path):
    for text in (b"{}", b" \n{ \n } \n", b"\xef\xbb\xbf{}"):
        assert streamed(write(tmp_path, text)) == []


# --- whole-file faults --------------------------------------------------------------------

BROKEN = [
    b"",
    b"   \n ",
    b"{",
    b'{"a": 1',
    b'{"a": "abc',
    b'{"a": [1, 2',
    b'{"a": 1,}',
    b'{,"a": 1}',
    b'{"a": 1,, "b": 2}',
    b'{"a" 1}',
    b'{"a": 1 "b": 2}',
    b'{"a": 1}}',
    b'{"a": 1}\n\n x',
    b'{"a": 1]',
    b"{]",
    b'{"a": tru}',
    b'{"a": [1, 2,]}',
    b'{\n  "a": {"u": [[1, 2],\n [3, 4]]},\n  "b": {"u": [[1, 2] [3]]}}',
    b"[1, 2,",
    b"[1,,2]",
    b'"abc',
    b"42 43",
    b"nul",
    b'{"a": ' + b"[" * 500 + b"1 2" + b"]" * 500 + b"}",
    b'{"a": ' + b"[" * 500 + b"1" + b"]" * 499 + b"}}",
    b'{"a": ' + b"[" * 300 + b'{"k" 1}' + b"]" * 300 + b"}",
    b'{"a": ' + b"[" * 300 + b"1",
    b'{"a": ' + b"[" * 300 + b'"x',
    b'{"a": ' + b"[" * 300 + b"1, [2 3]",
]


@pytest.mark.parametrize("text", BROKEN)
@pytest.mark.parametrize("chunk", [3, 7, STREAM_CHUNK_BYTES])
def test_text_that_is_not_json_names_line_column_and_cause_as_json_does(tmp_path, text, chunk):
    with pytest.raises(SourceError) as info:
        streamed(write(tmp_path, text), chunk=chunk)
    assert info.value.cause == reference_error(text)
    assert info.value.file == "file.json"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (b"[1, {}]", "an array"),
        (b"[" * 30_000 + b"]" * 30_000, "an array"),
        (b'"images"', "a string"),
        (b" 42\n", "a number"),
        (b"null", "null"),
        (b"\xef\xbb\xbftrue", "a boolean"),
    ],
)
def test_top_level_not_an_object_is_refused_once_it_parses(tmp_path, text, kind):
    with pytest.raises(SourceError, match=f"top level is {kind}, expected {{name: value}}"):
        streamed(write(tmp_path, text), chunk=4096)


@pytest.mark.parametrize(
    "text", [b'{"a": "\xff"}', b'{"a": 1,, "b": "\xe9"}', b'\xef\xbb\xbf{"a\xc3": 1}']
)
def test_text_that_is_not_utf8_is_reported_first_as_a_whole_decode_did(tmp_path, text):
    try:
        text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        expected = f"not UTF-8 text (byte {exc.start})"
    with pytest.raises(SourceError) as info:
        streamed(write(tmp_path, text), chunk=5)
    assert info.value.cause == expected


@pytest.mark.parametrize("chunk", [64, STREAM_CHUNK_BYTES])
def test_a_record_over_the_limit_stops_the_run_naming_it(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(stream, "MAX_RECORD_BYTES", 1000)
    text = json.dumps({"small.png": [1], "big.png": list(range(400)), "after.png": 1}).encode()
    with pytest.raises(SourceError) as info:
        streamed(write(tmp_path, text), chunk=chunk)
    assert info.value.cause == "one record is over the 1000-byte limit"
    assert info.value.record == "'big.png'"


def test_a_file_over_the_limit_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "MAX_JSON_BYTES", 10)
    with pytest.raises(SourceError, match="file is 14 bytes, over the 10-byte limit"):
        streamed(write(tmp_path, b'{"a.png": {}} '))


# --- memory follows one record --------------------------------------------------------------


@pytest.mark.slow
def test_memory_is_a_chunk_and_a_record_not_the_file(sample_source, tmp_path):
    values = [
        json.dumps(value, separators=(",", ":"))
        for value in list(read_annotations(sample_source).values())[:20]
    ]
    path, size, n = tmp_path / "big.json", 0, 0
    with open(path, "w") as handle:  # ~50 MB: the sample's records, over and over
        handle.write("{")
        while size < 50_000_000:
            record = ("," if n else "") + json.dumps(f"02-{n:064x}-0001.png") + ":"
            record += values[n % len(values)]
            handle.write(record)
            size, n = size + len(record), n + 1
        handle.write("}")
    biggest = max(len(v) for v in values)
    tracemalloc.start()
    try:
        count = sum(1 for _ in stream_records(path, tmp_path, ANNOTATIONS_KEEP, SHAPE))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 8 * (STREAM_CHUNK_BYTES + biggest)  # measured: ~5.8 MiB with 1 MiB chunks
    assert peak < path.stat().st_size / 6
