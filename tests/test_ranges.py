"""Byte ranges of plain files: every line read once, by the range where it starts, numbered
exactly, whatever the range and block sizes (down to a few bytes)."""

from __future__ import annotations

import pytest

from analyzer.sources.blocks import Block, Problem, iter_blocks
from analyzer.sources.ranges import (
    count_newlines,
    first_lines,
    iter_range_blocks,
    line_offset,
    lines_in,
    split_ranges,
)

TEXT = (
    b"first line\n"
    b"\n"
    b"a somewhat longer third line that crosses several tiny ranges\n"
    b"x\n"
    b"fifth\r\n"
    b"no newline at the end"
)


def _lines_of(items: list[Block | Problem], offset: int) -> list[tuple[int, bytes]]:
    out = []
    for item in items:
        assert isinstance(item, Block)
        for i, line in enumerate(bytes(item.data).split(b"\n")[:-1]):
            out.append((item.first_line + offset + i, line))
    return out


@pytest.mark.parametrize("data", [TEXT, TEXT + b"\n", b"", b"\n", b"only\n", b"\n\n\n"])
@pytest.mark.parametrize("range_size", [1, 2, 3, 7, 16, 100, 1 << 20])
@pytest.mark.parametrize("block_size", [1, 5, 64, 1 << 20])
def test_ranges_read_every_line_once(tmp_path, data, range_size, block_size):
    path = tmp_path / "log"
    path.write_bytes(data)
    whole = list(iter_blocks(str(path), block_size=block_size))
    expected = _lines_of(whole, 0)

    spans = split_ranges(str(path), range_size=range_size)
    assert spans[0].start == 0 and spans[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    per_range = [list(iter_range_blocks(s, block_size=block_size)) for s in spans]
    # numbered from 1 within each range; the line counts put them in place
    offsets = first_lines([lines_in(items) for items in per_range])
    got = [line for items, off in zip(per_range, offsets, strict=True)
           for line in _lines_of(items, off)]
    assert got == expected
    assert sum(lines_in(items) for items in per_range) == lines_in(whole)
    unterminated = [b.unterminated for items in per_range for b in items]
    assert unterminated.count(True) == (1 if data and not data.endswith(b"\n") else 0)


@pytest.mark.parametrize("range_size", [1, 4, 10, 33])
def test_line_offsets_from_newline_counts(tmp_path, range_size):
    """Counting each nominal range's newlines first gives each range's first line number."""
    path = tmp_path / "log"
    path.write_bytes(TEXT)
    spans = split_ranges(str(path), range_size=range_size)
    counts = [count_newlines(s) for s in spans]
    assert sum(counts) == TEXT.count(b"\n")
    expected = _lines_of(list(iter_blocks(str(path))), 0)
    got = []
    for i, span in enumerate(spans):
        offset = line_offset(counts[:i], span)
        got.extend(_lines_of(list(iter_range_blocks(span, block_size=3)), offset))
    assert got == expected


def test_over_long_line_in_a_range(tmp_path):
    """A line longer than the limit is reported once, by its range, as the whole file does."""
    path = tmp_path / "log"
    path.write_bytes(b"a\n" + b"y" * 5000 + b"\nb\nc\n")
    whole = list(iter_blocks(str(path), block_size=64, max_line=1000))
    problems = [i for i in whole if isinstance(i, Problem)]
    assert [(p.line, p.reason) for p in problems] == [(2, "too_long")]
    spans = split_ranges(str(path), range_size=700)
    found = []
    total = 0
    for span in spans:
        items = list(iter_range_blocks(span, block_size=64, max_line=1000))
        found += [(total + p.line, p.reason) for p in items if isinstance(p, Problem)]
        total += lines_in(items)
    assert found == [(2, "too_long")]
    assert total == lines_in(whole) == 4
