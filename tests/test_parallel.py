"""The image pool: results in input order, from a lazy stream held two chunks at a time."""

from pipeline.parallel import ImagePool


def cube(n: int) -> int:
    """Module-level, so the spawned worker can import it."""
    return n**3


def test_imap_keeps_order_and_pulls_the_stream_two_chunks_ahead_at_most():
    pulled = []

    def stream():
        for n in range(100):
            pulled.append(n)
            yield n

    pool = ImagePool(workers=2, expected_items=100)
    try:
        results = pool.imap(cube, stream(), chunk=8)
        first = next(results)
        assert first == 0
        assert len(pulled) <= 16  # the first chunk and the one handed out behind it
        rest = list(results)
    finally:
        pool.close()
    assert [first, *rest] == [n * n * n for n in range(100)]


def test_map_without_workers_is_a_plain_map():
    pool = ImagePool(workers=1)
    assert pool.map(cube, [3, 1, 2]) == [27, 1, 8]
