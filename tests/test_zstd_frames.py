"""The zstd decoder's output comes in bounded pieces, whatever the frame holds and however it
is fed, and it is the frame's exact content."""

from __future__ import annotations

import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.sources.zstd_frames import MAX_BLOCKS, BoundedZstd

BLOCK = 128 << 10  # the most a zstd block holds
BOUND = (MAX_BLOCKS + 1) * BLOCK  # MAX_BLOCKS blocks, and the end of one begun before


def decode(data: bytes, feed: int) -> tuple[list[bytes], bytes | None]:
    """The pieces of the first frame in ``data`` fed ``feed`` bytes at a time, and what follows
    the frame (None: the frame did not end)."""
    decoder, pieces = BoundedZstd(), []
    for at in range(0, len(data), feed):
        pieces.extend(decoder.pieces(data[at : at + feed]))
        if decoder.eof:
            return pieces, decoder.unused_data + data[at + feed :]
    return pieces, None


def test_a_zstd_bomb_comes_out_in_pieces_of_at_most_4_mib():
    content = b"\n" * (96 << 20)
    bomb = zstandard.ZstdCompressor(level=19).compress(content)
    assert len(bomb) < 8 << 10  # 96 MB from a few KB: RLE blocks, 4 bytes each
    pieces, rest = decode(bomb, 16 << 10)
    assert rest == b""
    assert max(len(p) for p in pieces) == MAX_BLOCKS * BLOCK == 4 << 20
    assert sum(len(p) for p in pieces) == len(content)
    assert set(b"".join(pieces)) == {ord("\n")}


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.one_of(st.binary(max_size=3000),
                             st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=3),
                                       st.integers(0, 400_000))), max_size=6),
    level=st.sampled_from([1, 3, 19]),
    checksum=st.booleans(),
    content_size=st.booleans(),
    feed=st.sampled_from([1, 5, 64, 4096, 16384, 1 << 20]),
    after=st.sampled_from([b"", b"\x28\xb5\x2f\xfd\x00next", b"\x00\x00", b"junk"]),
)
def test_any_frame_fed_any_way_decodes_to_its_content(parts, level, checksum, content_size,
                                                     feed, after):
    content = b"".join(parts)
    compressor = zstandard.ZstdCompressor(level=level, write_checksum=checksum,
                                          write_content_size=content_size)
    frame = compressor.compress(content)
    pieces, rest = decode(frame + after, feed)
    assert b"".join(pieces) == content
    assert rest == after
    assert all(len(p) <= BOUND for p in pieces)


def test_a_streamed_frame_of_many_blocks():
    """Frames written as a stream (no content size, blocks flushed as they fill)."""
    compressor = zstandard.ZstdCompressor(level=3, write_checksum=True)
    chunks = [bytes([i % 251]) * 50_000 + bytes(range(256)) * 40 for i in range(60)]
    writer = compressor.compressobj()
    frame = b"".join(writer.compress(c) for c in chunks) + writer.flush()
    for feed in (7, 16384):
        pieces, rest = decode(frame, feed)
        assert (b"".join(pieces), rest) == (b"".join(chunks), b"")
        assert all(len(p) <= BOUND for p in pieces)


def test_a_cut_frame_gives_what_it_holds_and_does_not_end():
    content = bytes(range(256)) * 4000
    frame = zstandard.ZstdCompressor(level=1).compress(content)
    pieces, rest = decode(frame[: len(frame) // 2], 4096)
    assert rest is None
    assert content.startswith(b"".join(pieces))
