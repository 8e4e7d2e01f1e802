"""A bucket validated again decodes only the frames that changed since its last validation."""

import hashlib
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from pipeline.constants import IMAGES_DIR
from pipeline.source.buckets import validate_bucket
from pipeline.source.frame_memo import FrameMemo
from pipeline.source.shards import image_bucket, scan_source
from pipeline.tables.source_tables import bucket_tables


def _bucket_of_most_frames(source: Path) -> tuple[str, list[str]]:
    frames = sorted(p.name for p in (source / IMAGES_DIR).iterdir())
    by_bucket: dict[str, list[str]] = {}
    for name in frames:
        by_bucket.setdefault(image_bucket(name), []).append(name)
    return max(by_bucket.items(), key=lambda item: len(item[1]))


def _validate(source: Path, tmp_path: Path, bucket: str, memo: FrameMemo, threads: int):
    scan = scan_source(source, tmp_path / "shards")
    return validate_bucket(
        scan.root, tmp_path / "shards", bucket, scan.expert_ids, threads, frames=memo
    )


def _tables(validated):
    return {name: table.to_pydict() for name, table in bucket_tables(validated).items()}


@pytest.mark.parametrize("threads", [1, 2])
def test_unchanged_frames_are_not_decoded_again(source_copy, tmp_path, decodes, threads):
    bucket, frames = _bucket_of_most_frames(source_copy)
    assert len(frames) >= 2
    memo = FrameMemo(tmp_path / "frames.parquet", code="code-1")
    first = _validate(source_copy, tmp_path, bucket, memo, threads)
    assert sorted(decodes) == frames
    decodes.clear()

    again = _validate(source_copy, tmp_path, bucket, memo, threads)
    assert decodes == []
    assert _tables(again) == _tables(first)


def test_a_rewritten_frame_is_decoded_again_and_its_new_digest_used(source_copy, tmp_path, decodes):
    bucket, frames = _bucket_of_most_frames(source_copy)
    memo = FrameMemo(tmp_path / "frames.parquet", code="code-1")
    _validate(source_copy, tmp_path, bucket, memo, 2)
    decodes.clear()

    path = source_copy / IMAGES_DIR / frames[0]
    with Image.open(path) as image:
        flipped = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buffer = io.BytesIO()
    flipped.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    stamp = path.stat()
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))  # a second later

    again = _validate(source_copy, tmp_path, bucket, memo, 2)
    assert decodes == [frames[0]]
    digests = dict(
        zip(
            *(bucket_tables(again)["images"][c].to_pylist() for c in ("file_name", "sha256")),
            strict=True,
        )
    )
    assert digests[frames[0]] == hashlib.sha256(buffer.getvalue()).hexdigest()


def test_a_memo_of_other_code_or_unreadable_is_no_memo(source_copy, tmp_path, decodes):
    bucket, frames = _bucket_of_most_frames(source_copy)
    memo_path = tmp_path / "frames.parquet"
    _validate(source_copy, tmp_path, bucket, FrameMemo(memo_path, code="code-1"), 2)
    decodes.clear()

    _validate(source_copy, tmp_path, bucket, FrameMemo(memo_path, code="code-2"), 2)
    assert sorted(decodes) == frames
    decodes.clear()

    memo_path.write_bytes(b"PAR1 not parquet at all")
    _validate(source_copy, tmp_path, bucket, FrameMemo(memo_path, code="code-2"), 2)
    assert sorted(decodes) == frames
    decodes.clear()

    _validate(source_copy, tmp_path, bucket, FrameMemo(memo_path, code="code-2"), 2)
    assert decodes == []  # the unreadable memo was replaced by a good one
