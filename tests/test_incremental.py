"""analyzer.scheduled.checkpoints: only new lines, across appends, rotations and truncations."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import pytest
from _scheduled import append, compress_file, copytruncate, line, lines, rotate

from analyzer.errors import InputError
from analyzer.scheduled.checkpoints import (
    Checkpoint,
    NewLines,
    expand_live,
    read_new,
    rotated_candidates,
)
from analyzer.sources.blocks import read_blocks
from analyzer.sources.codecs import read_head
from analyzer.sources.items import Problem


def iter_blocks_from(path: str, offset: int, first_line: int, **options: Any):  # noqa: ANN201
    final = options.pop("final", False)
    return read_blocks(path, offset=offset, first_line=first_line, final=final, **options)


class Reader:
    """Runs read_new over and over, carrying the checkpoints like the history would."""

    def __init__(self, *paths: Path) -> None:
        self.paths = [str(p) for p in paths]
        self.checkpoints: dict[str, Checkpoint] = {}
        self.total = 0

    def run(self) -> NewLines:
        result = read_new(self.paths, self.checkpoints, "combined", workers=2)
        self.checkpoints = {**self.checkpoints, **result.checkpoints}
        self.total += result.new_lines
        assert result.summary.requests == result.new_lines  # every test line parses
        return result


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"


def test_new_file_then_appends(log: Path) -> None:
    log.write_bytes(lines(0, 10))
    reader = Reader(log)
    first = reader.run()
    assert first.new_lines == 10
    assert first.sources[0].to_dict() == {
        "path": str(log), "from_offset": 0, "to_offset": len(lines(0, 10)), "new_lines": 10,
        "rotated": False, "truncated": False,
        "segments": [{"file": str(log), "from_offset": 0, "to_offset": len(lines(0, 10)),
                      "lines": 10}],
    }
    assert reader.run().new_lines == 0
    append(log, lines(10, 17))
    second = reader.run()
    assert second.new_lines == 7
    assert second.sources[0].from_offset == len(lines(0, 10))
    assert second.sources[0].to_offset == len(lines(0, 17))
    assert reader.checkpoints[str(log)].line == 18
    assert reader.total == 17


def test_partial_last_line_waits_while_it_grows(log: Path) -> None:
    whole = line(2)
    log.write_bytes(lines(0, 2) + whole[:25])
    reader = Reader(log)
    assert reader.run().new_lines == 2
    assert reader.checkpoints[str(log)].offset == len(lines(0, 2))
    append(log, whole[25:40])  # still being written
    assert reader.run().new_lines == 0
    append(log, whole[40:])
    result = reader.run()
    assert result.new_lines == 1
    assert result.summary.part("firsts")["line"].to_pylist() == [3]
    assert reader.total == 3


def test_an_unterminated_last_line_is_counted_once_stable(log: Path) -> None:
    """A last line without its newline, unchanged since the previous run, is counted (once)."""
    tail = b'203.0.113.9 - - [10/Oct/2025:13:55:36 +0000] "GET /last HTTP/1.1" 200 5 "-" "x"'
    log.write_bytes(lines(0, 2) + tail)
    reader = Reader(log)
    assert reader.run().new_lines == 2  # a writer may be in the middle of it
    result = reader.run()  # unchanged since: no writer is
    assert result.new_lines == 1
    assert result.summary.part("firsts")["line"].to_pylist() == [3]
    assert reader.checkpoints[str(log)].offset == log.stat().st_size
    assert reader.run().new_lines == 0
    assert reader.total == 3


def test_rename_rotation(log: Path) -> None:
    log.write_bytes(lines(0, 5))
    reader = Reader(log)
    reader.run()
    append(log, lines(5, 8))  # written before the rotation: must not be lost
    rotate(log)
    append(log, lines(8, 12))
    result = reader.run()
    assert result.new_lines == 7
    source = result.sources[0]
    assert (source.rotated, source.truncated) == (True, False)
    assert [(s.file, s.from_offset, s.lines) for s in source.segments] == [
        (f"{log}.1", len(lines(0, 5)), 3), (str(log), 0, 4)
    ]
    assert reader.checkpoints[str(log)].line == 5
    assert reader.total == 12
    assert reader.run().new_lines == 0


def test_rename_rotation_then_compressed(log: Path) -> None:
    log.write_bytes(lines(0, 5))
    reader = Reader(log)
    reader.run()
    append(log, lines(5, 9))
    rotate(log, compress=True)
    append(log, lines(9, 11))
    result = reader.run()
    assert result.new_lines == 6
    assert [s.file for s in result.sources[0].segments] == [f"{log}.1.gz", str(log)]
    assert result.sources[0].segments[0].lines == 4
    assert reader.total == 11


def test_two_rotations_between_runs(log: Path) -> None:
    log.write_bytes(lines(0, 3))
    reader = Reader(log)
    reader.run()
    append(log, lines(3, 5))
    rotate(log, compress=True)  # old -> .1.gz
    append(log, lines(5, 9))
    rotate(log)  # old -> .2.gz, the middle file -> .1
    append(log, lines(9, 10))
    result = reader.run()
    assert [(Path(s.file).name, s.lines) for s in result.sources[0].segments] == [
        ("access.log.2.gz", 2), ("access.log.1", 4), ("access.log", 1)
    ]
    assert reader.total == 10


def test_copytruncate(log: Path) -> None:
    log.write_bytes(lines(0, 6))
    reader = Reader(log)
    reader.run()
    append(log, lines(6, 8))  # copied to .1 by the rotation: finished from the offset
    copytruncate(log)
    append(log, lines(8, 10))
    result = reader.run()
    source = result.sources[0]
    assert (source.rotated, source.truncated) == (False, True)
    assert [(Path(s.file).name, s.lines) for s in source.segments] == [
        ("access.log.1", 2), ("access.log", 2)
    ]
    assert reader.total == 10


def test_truncated_without_copy_starts_again(log: Path) -> None:
    log.write_bytes(lines(0, 6))
    reader = Reader(log)
    reader.run()
    with open(log, "r+b") as handle:
        handle.truncate(0)
    append(log, lines(100, 103))
    result = reader.run()
    assert result.new_lines == 3
    assert result.sources[0].truncated
    assert reader.checkpoints[str(log)].line == 4
    assert reader.total == 9


def test_rewritten_in_place_longer_than_before(log: Path) -> None:
    """Truncated and refilled past the old offset: the first bytes differ, so start again."""
    log.write_bytes(lines(0, 3))
    reader = Reader(log)
    reader.run()
    with open(log, "r+b") as handle:
        handle.truncate(0)
    append(log, lines(200, 210))
    result = reader.run()
    assert result.new_lines == 10
    assert result.sources[0].truncated
    assert reader.total == 13


def test_rotated_file_gone(log: Path) -> None:
    log.write_bytes(lines(0, 3))
    reader = Reader(log)
    reader.run()
    os.rename(log, log.with_name("kept-elsewhere"))  # not a rotated name: cannot be found
    log.write_bytes(lines(3, 5))
    result = reader.run()
    assert result.new_lines == 2
    assert result.sources[0].rotated
    assert result.sources[0].note == (
        f"the previous file was not found beside {log}; lines added to it after offset "
        f"{len(lines(0, 3))} are not counted"
    )


def test_deleted_and_recreated(log: Path) -> None:
    """The new file may get the old inode back: its first bytes tell them apart."""
    log.write_bytes(lines(0, 3))
    reader = Reader(log)
    reader.run()
    os.unlink(log)
    log.write_bytes(lines(3, 5))
    assert reader.run().new_lines == 2
    assert reader.total == 5


@pytest.mark.parametrize("compress", [False, True])
def test_rotated_away_not_created_yet(log: Path, compress: bool) -> None:
    """Between the rename and the new file (logrotate's nocreate: the server creates it on its
    next write), the old file is finished; the new one is read whole when it appears."""
    log.write_bytes(lines(0, 3))
    reader = Reader(log)
    reader.run()
    append(log, lines(3, 5))
    os.rename(log, f"{log}.1")
    gone = reader.run()
    assert gone.new_lines == 2
    assert gone.sources[0].note == f"{log} is missing (rotated, not created again yet)"
    if compress:
        compress_file(Path(f"{log}.1"))
    assert reader.run().new_lines == 0  # the rotated file is not read twice
    log.write_bytes(lines(5, 8))
    back = reader.run()
    assert back.new_lines == 3
    assert [(Path(s.file).name, s.lines) for s in back.sources[0].segments] == [
        ("access.log.1.gz" if compress else "access.log.1", 0), ("access.log", 3)
    ]
    assert reader.total == 8


def test_missing_and_lost(log: Path) -> None:
    log.write_bytes(lines(0, 2))
    reader = Reader(log)
    reader.run()
    os.unlink(log)
    result = reader.run()
    assert result.new_lines == 0
    assert result.sources[0].note == f"{log} is missing, and so is the file it was"
    assert expand_live([str(log)], known=[str(log)]) == [str(log)]
    with pytest.raises(InputError, match="no such file"):
        expand_live([str(log)])


def test_empty_file_then_rotated(log: Path) -> None:
    log.write_bytes(b"")
    reader = Reader(log)
    assert reader.run().new_lines == 0
    append(log, lines(0, 2))
    rotate(log)
    append(log, lines(2, 3))
    assert reader.run().new_lines == 3


def test_new_file_among_known_ones(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(lines(0, 4))
    reader = Reader(a)
    reader.run()
    b.write_bytes(lines(4, 6))
    append(a, lines(6, 7))
    reader.paths.append(str(b))
    result = reader.run()
    assert [s.new_lines for s in result.sources] == [1, 2]
    assert reader.total == 7


def test_methods_counted_once(log: Path) -> None:
    log.write_bytes(lines(0, 3) + line(3, "FOO", 501))
    reader = Reader(log)
    reader.run()
    append(log, line(4, "FOO", 501) + line(5, "PATCH", 405))
    rotate(log, compress=True)
    append(log, line(6, "FOO", 501))
    result = reader.run()
    requests = result.summary.part("requests").to_pylist()
    assert sorted((r["method"], r["status"], r["count"]) for r in requests) == [
        ("FOO", 501, 2), ("PATCH", 405, 1)
    ]


def test_expand_live_drops_rotated_copies(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(lines(0, 1))
    (tmp_path / "access.log.1").write_bytes(lines(1, 2))
    (tmp_path / "access.log.2.gz").write_bytes(gzip.compress(lines(2, 3)))
    (tmp_path / "other.log").write_bytes(lines(3, 4))
    assert expand_live([str(tmp_path / "*.log*")]) == [str(log), str(tmp_path / "other.log")]
    assert rotated_candidates(str(log)) == [f"{log}.2.gz", f"{log}.1"]
    with pytest.raises(InputError, match="scheduled reports read files, not stdin"):
        expand_live(["-"])
    with pytest.raises(InputError, match="no such file"):
        expand_live([str(tmp_path / "missing.log")])


# -- sources.iter_blocks_from ------------------------------------------------------------------


def _collect(gen):  # noqa: ANN001, ANN202 - a generator with a return value
    items = []
    while True:
        try:
            items.append(next(gen))
        except StopIteration as stop:
            return items, stop.value


@pytest.mark.parametrize("compressed", [False, True])
def test_iter_blocks_from_offset(tmp_path: Path, compressed: bool) -> None:
    data = b"one\ntwo\nthree\nfour"
    path = tmp_path / ("x.gz" if compressed else "x")
    path.write_bytes(gzip.compress(data) if compressed else data)
    items, end = _collect(iter_blocks_from(str(path), 4, 2))
    assert [(b.first_line, bytes(b.data), b.lines) for b in items] == [(2, b"two\nthree\n", 2)]
    assert end == 14
    items, end = _collect(iter_blocks_from(str(path), 14, 4))
    assert (items, end) == ([], 14)
    items, end = _collect(iter_blocks_from(str(path), 14, 4, final=True))
    assert [(b.first_line, bytes(b.data), b.unterminated) for b in items] == [
        (4, b"four\n", True)
    ]
    assert end == len(data)
    assert read_head(str(path), 6) == b"one\ntw"


def test_iter_blocks_from_long_last_line(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"a\n" + b"y" * 40)
    items, end = _collect(iter_blocks_from(str(path), 0, 1, max_line=10))
    assert [(type(i).__name__, i.first_line) for i in items] == [("Block", 1)]
    assert end == 2  # the over-long last line waits: it may still be being written
    items, end = _collect(iter_blocks_from(str(path), end, 2, max_line=10, final=True))
    assert [(type(i).__name__, getattr(i, "line", None), getattr(i, "reason", None))
            for i in items] == [("Problem", 2, "too_long")]
    assert isinstance(items[0], Problem) and items[0].text == b"y" * 40
    assert end == path.stat().st_size
