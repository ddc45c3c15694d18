"""Inputs: compression by magic bytes, rotated sets, globs, stdin, damage, and line accounting.

Every test checks that each line is accounted for: ``lines == parsed + rejected``, with exact
line numbers for both.
"""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import lzma
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

import analyzer
from analyzer.errors import InputError
from analyzer.pipeline import split_block
from analyzer.sources import blocks as sources
from analyzer.sources import codecs
from analyzer.sources.inputs import expand_inputs, order_rotated
from analyzer.sources.items import line_offsets

LINE = '192.0.2.{n} - - [01/Jan/2025:00:00:{s:02d} +0000] "GET /page/{n} HTTP/1.1" 200 {n} "-" "ua"'


def log_lines(count: int, start: int = 1) -> list[bytes]:
    return [LINE.format(n=n, s=n % 60).encode() for n in range(start, start + count)]


def text(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def accounted(parsed: analyzer.frame.ParsedLog) -> analyzer.frame.ParsedLog:
    """Check the accounting invariants and hand the result back."""
    for stats in parsed.sources:
        assert stats.lines == stats.parsed + stats.rejected
    assert parsed.lines == parsed.parsed + parsed.rejected
    assert parsed.parsed == len(parsed.frame)
    assert parsed.rejected == len(parsed.rejects)
    return parsed


def parse(path, **options) -> analyzer.frame.ParsedLog:
    return accounted(analyzer.frame.parse_log(path, log_format="combined", **options))


def targets(parsed: analyzer.frame.ParsedLog) -> list[str]:
    return parsed.frame["target"].tolist()


def rejects(parsed: analyzer.frame.ParsedLog) -> list[tuple[int, str]]:
    return [(int(r.line), str(r.reason)) for r in parsed.rejects.itertuples()]


COMPRESSORS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.fixture(params=["zlib", "isal"])
def inflater(request, monkeypatch):
    """gzip through the stdlib's zlib and through isal (used when installed)."""
    if request.param == "isal":
        isal_zlib = pytest.importorskip("isal.isal_zlib")
        monkeypatch.setattr(codecs, "zlib_module", lambda: isal_zlib)
    else:
        monkeypatch.setattr(codecs, "zlib_module", lambda: zlib)
    return request.param


# -- compression -----------------------------------------------------------------------------

@pytest.mark.parametrize("codec", sorted(COMPRESSORS))
def test_compression_detected_by_magic_bytes_not_name(tmp_path, codec, inflater):
    path = tmp_path / "access.log"  # no telling suffix
    path.write_bytes(COMPRESSORS[codec](text(log_lines(50))))
    parsed = parse(path)
    assert (parsed.lines, parsed.parsed, parsed.rejected) == (50, 50, 0)
    assert targets(parsed) == [f"/page/{n}" for n in range(1, 51)]
    assert parsed.frame["line"].tolist() == list(range(1, 51))


def test_a_compressed_suffix_on_plain_text_is_read_as_text(tmp_path):
    path = tmp_path / "access.log.gz"
    path.write_bytes(text(log_lines(3)))
    assert parse(path).parsed == 3


@pytest.mark.parametrize("codec", sorted(COMPRESSORS))
def test_concatenated_members_are_all_read(tmp_path, codec, inflater):
    compress = COMPRESSORS[codec]
    path = tmp_path / "access.log"
    path.write_bytes(compress(text(log_lines(10))) + compress(text(log_lines(5, start=11))))
    parsed = parse(path, block_size=64)
    assert (parsed.lines, parsed.parsed, parsed.rejected) == (15, 15, 0)
    assert targets(parsed) == [f"/page/{n}" for n in range(1, 16)]


def test_concatenated_gzip_member_boundary_inside_a_line(tmp_path, inflater):
    data = text(log_lines(4))
    path = tmp_path / "split.gz"
    path.write_bytes(gzip.compress(data[:100]) + gzip.compress(data[100:]))
    parsed = parse(path)
    assert (parsed.lines, parsed.parsed) == (4, 4)


def test_zero_padding_after_gzip_is_ignored(tmp_path, inflater):
    path = tmp_path / "padded.gz"
    path.write_bytes(gzip.compress(text(log_lines(3))) + b"\x00" * 4096)
    parsed = parse(path)
    assert (parsed.lines, parsed.parsed, parsed.rejected) == (3, 3, 0)


def test_other_data_after_gzip_is_a_reject(tmp_path, inflater):
    path = tmp_path / "junk.gz"
    path.write_bytes(gzip.compress(text(log_lines(3))) + b"not gzip at all\n")
    parsed = parse(path)
    assert (parsed.lines, parsed.parsed) == (4, 3)
    assert rejects(parsed) == [(4, "corrupt_input")]


def zlib_oracle(data: bytes) -> bytes:
    """What any gzip reader can recover from a damaged stream (stdlib zlib, independently)."""
    decoder = zlib.decompressobj(wbits=31)
    try:
        return decoder.decompress(data)
    except zlib.error:
        return b""


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.9])
def test_truncated_gzip_keeps_lines_before_the_damage(tmp_path, cut, inflater):
    lines = log_lines(3000)
    whole = gzip.compress(text(lines))
    damaged = whole[: int(len(whole) * cut)]
    recovered = zlib_oracle(damaged)
    complete = recovered.count(b"\n")
    assert 0 < complete < 3000
    path = tmp_path / "access.log.1.gz"
    path.write_bytes(damaged)
    for block_size in (64, 1 << 20):
        parsed = parse(path, block_size=block_size)
        assert parsed.frame["line"].tolist() == list(range(1, complete + 1))
        assert targets(parsed)[-1] == f"/page/{complete}"
        partial = recovered.endswith(b"\n") is False
        expected = ([(complete + 1, "truncated")] if partial else [])
        expected.append((complete + 1 + partial, "truncated_input"))
        assert rejects(parsed) == expected
        assert parsed.lines == complete + len(expected)


def test_truncated_bzip2_xz_and_zstd_report_the_damage(tmp_path):
    for name, compress in COMPRESSORS.items():
        count = 20000 if name == "bzip2" else 3000  # bzip2 needs a whole 900 kB block first
        whole = FAST_COMPRESSORS.get(name, compress)(text(log_lines(count)))
        path = tmp_path / f"cut.{name}"
        path.write_bytes(whole[: len(whole) * 9 // 10])
        parsed = parse(path)
        assert parsed.parsed > 0, name
        assert rejects(parsed)[-1] == (parsed.lines, "truncated_input"), name


@pytest.mark.parametrize("codec", sorted(COMPRESSORS))
def test_corrupt_from_the_start_is_an_input_error(tmp_path, codec):
    magic = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00",
             "zstd": b"\x28\xb5\x2f\xfd"}[codec]
    path = tmp_path / "broken.log"
    path.write_bytes(magic + b"\x07garbage that is not compressed data" * 20)
    with pytest.raises(InputError) as raised:
        parse(path)
    assert str(raised.value).startswith(f"{path}: not a readable {codec} file (")


def test_gzip_that_ends_in_its_header_is_an_input_error(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(text(log_lines(5)))[:8])
    with pytest.raises(InputError, match="not a readable gzip file"):
        parse(path)


# -- rotated sets and globs ------------------------------------------------------------------

def write_rotated(tmp_path: Path) -> dict[str, Path]:
    files = {
        "access.log.2.gz": gzip.compress(text(log_lines(2, start=1))),
        "access.log.1": text(log_lines(2, start=3)),
        "access.log": text(log_lines(2, start=5)),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize("order", [
    ("access.log.2.gz", "access.log.1", "access.log"),
    ("access.log", "access.log.1", "access.log.2.gz"),
    ("access.log.1", "access.log", "access.log.2.gz"),
])
def test_rotated_set_is_read_oldest_first(tmp_path, order):
    paths = write_rotated(tmp_path)
    parsed = parse([str(paths[name]) for name in order])
    assert targets(parsed) == [f"/page/{n}" for n in range(1, 7)]
    assert [s.path for s in parsed.sources] == [
        str(paths["access.log.2.gz"]), str(paths["access.log.1"]), str(paths["access.log"])]
    assert [(str(s), int(n)) for s, n in zip(parsed.frame["source"], parsed.frame["line"],
                                              strict=True)] == [
        (str(paths["access.log.2.gz"]), 1), (str(paths["access.log.2.gz"]), 2),
        (str(paths["access.log.1"]), 1), (str(paths["access.log.1"]), 2),
        (str(paths["access.log"]), 1), (str(paths["access.log"]), 2),
    ]


def test_glob_expands_to_the_rotated_set_in_order(tmp_path):
    paths = write_rotated(tmp_path)
    parsed = parse(str(tmp_path / "access.log*"))
    assert targets(parsed) == [f"/page/{n}" for n in range(1, 7)]
    assert len(parsed.sources) == len(paths)


def test_glob_without_matches_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no file matches this pattern"):
        parse(str(tmp_path / "nothing*.log"))


def test_rotation_orders():
    assert order_rotated(["a.log", "a.log.10", "a.log.9.gz", "a.log.1"]) == [
        "a.log.10", "a.log.9.gz", "a.log.1", "a.log"]
    assert order_rotated(["x/access.log", "x/access.log-20250102", "x/access.log-20250101.gz"]
                         ) == ["x/access.log-20250101.gz", "x/access.log-20250102", "x/access.log"]
    # separate sets keep their first-mentioned order, each oldest first
    assert order_rotated(["b.log", "a.log.1", "b.log.1", "a.log"]) == [
        "b.log.1", "b.log", "a.log.1", "a.log"]


def test_expand_inputs_checks_every_input(tmp_path):
    (tmp_path / "a.log").write_bytes(b"")
    assert expand_inputs([str(tmp_path / "a.log"), "-"]) == [str(tmp_path / "a.log"), "-"]
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tmp_path / "missing.log")])
    with pytest.raises(InputError, match="is a directory"):
        expand_inputs([str(tmp_path)])


# -- stdin -----------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [None, gzip.compress], ids=["plain", "gzip"])
def test_stdin(monkeypatch, compress):
    data = text(log_lines(7))
    raw = compress(data) if compress else data
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    parsed = parse("-", block_size=100)
    assert (parsed.lines, parsed.parsed) == (7, 7)
    assert [s.path for s in parsed.sources] == ["-"]
    assert parsed.frame["source"].tolist() == ["-"] * 7


# -- lines: boundaries, endings, damage ------------------------------------------------------

@pytest.mark.parametrize("block_size", [1, 17, 64, 150, 1 << 20])
@pytest.mark.parametrize("codec", [None, "gzip", "zstd"])
def test_lines_split_across_blocks_are_parsed_once(tmp_path, block_size, codec):
    data = text(log_lines(40))
    path = tmp_path / "access.log"
    path.write_bytes(COMPRESSORS[codec](data) if codec else data)
    parsed = parse(path, block_size=block_size)
    assert (parsed.lines, parsed.parsed, parsed.rejected) == (40, 40, 0)
    assert parsed.frame["line"].tolist() == list(range(1, 41))
    assert targets(parsed) == [f"/page/{n}" for n in range(1, 41)]
    assert parsed.frame["bytes"].tolist() == list(range(1, 41))


def test_last_line_without_newline(tmp_path):
    path = tmp_path / "access.log"
    path.write_bytes(text(log_lines(2)) + log_lines(1, start=3)[0])
    for block_size in (64, 1 << 20):
        parsed = parse(path, block_size=block_size)
        assert (parsed.lines, parsed.parsed) == (3, 3)
        assert targets(parsed) == ["/page/1", "/page/2", "/page/3"]


def test_a_last_line_cut_off_is_truncated(tmp_path):
    path = tmp_path / "access.log"
    path.write_bytes(text(log_lines(2)) + log_lines(1, start=3)[0][:30])
    parsed = parse(path)
    assert parsed.lines == 3
    assert rejects(parsed) == [(3, "truncated")]
    assert parsed.rejects["text"].tolist() == [log_lines(1, start=3)[0][:30].decode()]


def test_crlf_lines(tmp_path):
    path = tmp_path / "access.log"
    path.write_bytes(b"".join(line + b"\r\n" for line in log_lines(5)))
    for block_size in (64, 1 << 20):
        parsed = parse(path, block_size=block_size)
        assert (parsed.lines, parsed.parsed) == (5, 5)
        assert parsed.frame["user_agent"].tolist() == ["ua"] * 5


def test_blank_lines_are_rejected_as_empty(tmp_path):
    lines = log_lines(3)
    path = tmp_path / "access.log"
    path.write_bytes(b"\n".join([b"", lines[0], b"   ", lines[1], b"\t", b"", lines[2]]) + b"\n")
    parsed = parse(path)
    assert (parsed.lines, parsed.parsed) == (7, 3)
    assert parsed.frame["line"].tolist() == [2, 4, 7]
    assert rejects(parsed) == [(1, "empty"), (3, "empty"), (5, "empty"), (6, "empty")]


def test_nul_bytes(tmp_path):
    good = log_lines(1)[0]
    inside = good.replace(b'"ua"', b'"u\x00a"')
    crash_padding = b"\x00" * 50 + log_lines(1, start=2)[0]
    path = tmp_path / "access.log"
    path.write_bytes(text([good, inside, crash_padding, b"\x00" * 10]))
    parsed = parse(path)
    assert parsed.frame["line"].tolist() == [1, 2]
    assert parsed.frame["user_agent"].tolist() == ["ua", "u\x00a"]
    assert rejects(parsed) == [(3, "no_match"), (4, "no_match")]


def test_invalid_utf8(tmp_path):
    good = log_lines(1)[0]
    latin1_agent = good.replace(b'"ua"', b'"Mozilla \xe9t\xe9"')
    path = tmp_path / "access.log"
    path.write_bytes(text([good, latin1_agent, b"\xff\xfe\x00junk", good]))
    parsed = parse(path)
    assert parsed.frame["line"].tolist() == [1, 2, 4]
    assert parsed.frame["user_agent"].tolist() == ["ua", "Mozilla \\xe9t\\xe9", "ua"]
    assert rejects(parsed) == [(3, "not_utf8")]
    assert parsed.rejects["text"].tolist() == ["\\xff\\xfe\x00junk"]


FAST_COMPRESSORS = {
    "gzip": lambda data: gzip.compress(data, 1),
    "bzip2": lambda data: bz2.compress(data, 1),
    "xz": lambda data: lzma.compress(data, preset=0),
    "zstd": lambda data: zstandard.ZstdCompressor(level=1).compress(data),
}


@pytest.mark.parametrize("codec", [None, "gzip", "xz", "zstd"])  # (bzip2 reads like xz)
def test_very_long_line_is_rejected_in_bounded_memory(tmp_path, codec):
    before, after = log_lines(2), log_lines(2, start=3)
    data = text(before) + b"x" * (40 << 20) + b"\n" + text(after)
    path = tmp_path / "access.log"
    path.write_bytes(FAST_COMPRESSORS[codec](data) if codec else data)
    del data
    tracemalloc.start()
    try:
        parsed = parse(path, block_size=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20  # well below the 40 MB line
    assert parsed.frame["line"].tolist() == [1, 2, 4, 5]
    assert targets(parsed) == ["/page/1", "/page/2", "/page/3", "/page/4"]
    assert rejects(parsed) == [(3, "too_long")]
    assert parsed.rejects["text"].tolist() == ["x" * 300]


def test_long_line_inside_one_block_is_too_long(tmp_path):
    data = text(log_lines(1)) + b"y" * (sources.MAX_LINE + 10) + b"\n" + text(log_lines(1, 2))
    path = tmp_path / "access.log"
    path.write_bytes(data)
    parsed = parse(path, block_size=8 << 20)
    assert rejects(parsed) == [(2, "too_long")]
    assert parsed.frame["line"].tolist() == [1, 3]


def test_empty_file(tmp_path):
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    parsed = accounted(analyzer.frame.parse_log(path))
    assert (parsed.lines, parsed.parsed, parsed.rejected) == (0, 0, 0)
    assert parsed.frame.empty


def test_mixed_damage_in_one_file_keeps_exact_numbers(tmp_path):
    lines = log_lines(6)
    body = [lines[0], b"", lines[1] + b"\r", b"\xc3(", b"garbage line", lines[2], b"\x00",
            lines[3], lines[4]]
    data = b"\n".join(body) + b"\n" + lines[5]
    path = tmp_path / "access.log"
    for codec in (None, "gzip"):
        path.write_bytes(COMPRESSORS[codec](data) if codec else data)
        for block_size in (7, 64, 1 << 20):
            parsed = parse(path, block_size=block_size)
            assert parsed.lines == 10
            assert parsed.frame["line"].tolist() == [1, 3, 6, 8, 9, 10]
            assert rejects(parsed) == [(2, "empty"), (4, "not_utf8"), (5, "no_match"),
                                       (7, "no_match")]


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    size=st.integers(min_value=1, max_value=120),
)
def test_blocks_split_on_line_ends_with_their_offsets(lines, size):
    """A block cut into blocks of about ``size`` bytes: the same lines in order, each piece
    numbered on, its offsets those of its own lines (what the parser uses as an Arrow array)."""
    data = b"".join(line + b"\n" for line in lines)
    block = sources.Block.of("x.log", 7, data)
    assert block.lines == len(lines)
    assert block.offsets.dtype == np.int32
    assert block.offsets.tolist() == [0, *itertools.accumulate(len(x) + 1 for x in lines)]
    pieces = list(split_block(block, size))
    assert b"".join(bytes(p.data) for p in pieces) == data
    line = 7
    for piece in pieces:
        assert piece.first_line == line
        assert len(piece.data) <= size or piece.lines == 1
        assert piece.offsets.tolist() == line_offsets(bytes(piece.data)).tolist()
        assert piece.lines == len(piece.offsets) - 1
        line += piece.lines
    assert line == 7 + len(lines)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    ended=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=800), max_size=12),
    size=st.integers(min_value=1, max_value=150),
    damaged=st.booleans(),
)
def test_a_decompressed_stream_is_cut_as_a_plain_file_is(lines, ended, cuts, size, damaged):
    """However the decoder hands out its output, the blocks are those of the same bytes read
    from a plain file, and damage comes after them as the next line."""
    data = b"\n".join(lines) + (b"\n" if ended and lines else b"")
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks: list[bytes | sources.Problem] = [data[a:b] for a, b in itertools.pairwise(bounds)]
    if damaged:
        chunks.append(sources.Problem("x.log", 0, "corrupt_input", b"gzip data damaged"))
    streamed = list(sources.cut_stream("x.log", iter(chunks), size, 30))
    plain = list(sources.cut_blocks("x.log", io.BytesIO(data), block_size=size, max_line=30))
    problem = streamed.pop() if damaged else None
    assert [(type(i), i.first_line if isinstance(i, sources.Block) else i.line) for i in streamed
            ] == [(type(i), i.first_line if isinstance(i, sources.Block) else i.line)
                  for i in plain]
    assert [bytes(i.data) if isinstance(i, sources.Block) else i.text for i in streamed] == [
        bytes(i.data) if isinstance(i, sources.Block) else i.text for i in plain]
    if problem is not None:
        lines = sum(i.lines if isinstance(i, sources.Block) else 1 for i in plain)
        assert (problem.line, problem.reason) == (lines + 1, "corrupt_input")
