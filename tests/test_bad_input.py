"""Bad inputs at the command line: each is analysed as far as it can be read, with the rest
reported, or stops with exit 2 and one clear line on stderr; never a traceback (DESIGN.md
sections 3, 5 and 6). Also hostile --log-format values and hostile lines during detection.

The library-level cases (block boundaries, exact line numbers) are in tests/test_sources.py.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner
from paths import SAMPLE_LOGS
from paths import real_log as real_log_path

import analyzer
import analyzer.formats
from analyzer.cli.app import main
from analyzer.sources.blocks import Block, Problem, iter_blocks
from analyzer.sources.ranges import iter_range_blocks, split_ranges

SAMPLE = SAMPLE_LOGS / "nginx_combined.log"


def log_lines(n: int, start: int = 0) -> list[bytes]:
    return [f'192.0.2.{i % 250} - - [01/Oct/2025:10:{i // 60 % 60:02d}:{i % 60:02d} +0000] '
            f'"GET /page/{i} HTTP/1.1" 200 5 "-" "curl/8"'.encode()
            for i in range(start, start + n)]


def joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def analyse(*args: str, code: int = 0) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == code, (result.output, result.exception)
    assert "Traceback" not in result.output
    return json.loads(result.stdout) if result.stdout.startswith("{") else {}


def one_error_line(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def process(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A real ``python -m analyzer`` run (what a user sees, not click's test runner)."""
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def reasons(report: dict) -> dict[str, int]:
    return report["rejects"]["reasons"]


def accounted(report: dict) -> dict:
    totals = report["totals"]
    assert totals["lines"] == totals["parsed"] + totals["rejected"]
    for source in report["sources"]:
        assert source["lines"] == source["parsed"] + source["rejected"]
    return totals


# -- empty, long, NUL, not UTF-8 ----------------------------------------------------------------


def test_empty_file_is_a_source_with_no_lines(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    gz = tmp_path / "empty.log.gz"
    gz.write_bytes(gzip.compress(b""))
    for engine in ("local", "dask"):
        report = analyse(str(empty), str(gz), "--engine", engine, code=3)  # nothing parsed
        assert [(s["path"], s["lines"]) for s in report["sources"]] == [(str(empty), 0),
                                                                         (str(gz), 0)]
    text = CliRunner().invoke(main, [str(empty)]).stdout
    assert "0 lines: 0 parsed, 0 rejected" in text and str(empty) in text


# VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's size when it was forked
# (the test process, which may be larger than anything the child does)
RSS_SCRIPT = """
import re, sys
import analyzer
import analyzer.frame
report = analyzer.analyze(sys.argv[1]) if sys.argv[2] == "cli" else None
parsed = analyzer.frame.parse_log(sys.argv[1]) if sys.argv[2] == "lib" else None
with open("/proc/self/status") as status:
    print(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
print((report.totals if report else {"lines": parsed.lines, "rejected": parsed.rejected}))
"""


def peak_rss_kib(path: Path, how: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", "import analyzer.engines\n" + RSS_SCRIPT,
                           str(path), how], capture_output=True, text=True, timeout=120,
                          check=True)
    rss, totals = done.stdout.splitlines()
    return int(rss), totals


@pytest.mark.parametrize("how", ["cli", "lib"])
def test_a_50_mb_line_is_rejected_in_bounded_memory(tmp_path, how):
    small = tmp_path / "small.log"
    small.write_bytes(joined(log_lines(20)))
    big = tmp_path / "big.log"
    with big.open("wb") as out:
        out.write(joined(log_lines(10)))
        for _ in range(50):
            out.write(b"A" * (1 << 20))
        out.write(b"\n" + joined(log_lines(10, 10)))
    base, _ = peak_rss_kib(small, how)
    peak, totals = peak_rss_kib(big, how)
    assert "'lines': 21" in totals and "'rejected': 1" in totals
    assert peak - base < 50 << 10, (base, peak)  # the 50 MB line is never held whole
    report = analyse(str(big))
    assert reasons(report) == {"too_long": 1}
    assert report["rejects"]["examples"][0]["line"] == 11
    assert report["rejects"]["examples"][0]["text"] == "A" * 300


BOMBS = {
    "gzip": lambda data: gzip.compress(data, 9),
    "zstd": lambda data: zstandard.ZstdCompressor(level=3).compress(data),
}


@pytest.mark.parametrize("codec", sorted(BOMBS))
def test_a_decompression_bomb_is_read_in_bounded_memory(tmp_path, codec):
    """A few hundred KB that expand to a 256 MB line: decompressed a few MiB at a time."""
    small = tmp_path / "small.log"
    small.write_bytes(joined(log_lines(20)))
    bomb = tmp_path / "bomb.log"
    data = joined(log_lines(10)) + b"A" * (256 << 20) + b"\n" + joined(log_lines(10, 10))
    bomb.write_bytes(BOMBS[codec](data))
    del data
    assert bomb.stat().st_size < 400 << 10
    base, _ = peak_rss_kib(small, "cli")
    peak, totals = peak_rss_kib(bomb, "cli")
    assert "'lines': 21" in totals and "'rejected': 1" in totals
    assert peak - base < 50 << 10, (base, peak)
    report = analyse(str(bomb))
    assert reasons(report) == {"too_long": 1}
    assert report["rejects"]["examples"][0]["line"] == 11


def test_nul_blocks_from_a_crash(tmp_path):
    path = tmp_path / "crashed.log"
    path.write_bytes(
        joined(log_lines(5))
        + b"\x00" * (64 << 10) + b"\n"  # a block of NULs, then the log goes on
        + joined(log_lines(5, 5))
        + b"\x00" * (64 << 10) + joined(log_lines(5, 10))  # NULs run into the next line
        + b"\x00" * (2 << 20) + b"\n"  # more NULs than any line may hold
        + joined(log_lines(3, 15))
    )
    report = analyse(str(path))
    totals = accounted(report)
    # the NULs that run into a line take it with them: rejected, shown
    assert totals == {"lines": 20, "parsed": 17, "rejected": 3}
    assert reasons(report) == {"no_match": 2, "too_long": 1}
    shown = {e["line"]: (e["reason"], e["text"]) for e in report["rejects"]["examples"]}
    assert shown == {6: ("no_match", "\x00" * 300), 12: ("no_match", "\x00" * 300),
                     17: ("too_long", "\x00" * 300)}


def test_invalid_utf8(tmp_path):
    lines = log_lines(4)
    lines[1] = lines[1].replace(b"curl/8", b"Mozilla \xe9t\xe9 \xff")  # Latin-1 in a field
    lines[2] = b"\xc3\x28\xa0\xa1 junk"
    path = tmp_path / "latin1.log"
    path.write_bytes(joined(lines))
    report = analyse(str(path))
    assert accounted(report) == {"lines": 4, "parsed": 3, "rejected": 1}
    assert reasons(report) == {"not_utf8": 1}
    assert report["rejects"]["examples"][0]["text"] == "\\xc3(\\xa0\\xa1 junk"


# -- damaged compressed files ---------------------------------------------------------------------

COMPRESS = {
    "gzip": lambda data: gzip.compress(data, 6),
    "bzip2": lambda data: bz2.compress(data, 1),  # 100 kB blocks: damage leaves earlier ones
    "xz": lambda data: lzma.compress(data, preset=1),
    "zstd": lambda data: zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data),
}


@pytest.fixture(scope="module")
def real_log() -> bytes:
    return real_log_path("elastic_apache_combined.log").read_bytes()  # 10,000 lines, 2.3 MB


@pytest.fixture(scope="module")
def compressed(real_log) -> dict[str, bytes]:
    return {name: make(real_log) for name, make in COMPRESS.items()}


@pytest.mark.parametrize("codec", list(COMPRESS))
def test_truncated_compressed_file(tmp_path, codec, compressed):
    data = compressed[codec]
    path = tmp_path / f"cut.{codec}"
    path.write_bytes(data[: len(data) * 7 // 10])
    report = analyse(str(path))
    totals = accounted(report)
    assert 3000 < totals["parsed"] < 10_000
    assert reasons(report).get("truncated_input") == 1


@pytest.mark.parametrize("codec", list(COMPRESS))
def test_damage_in_the_middle_keeps_the_lines_before(tmp_path, codec, compressed):
    data = bytearray(compressed[codec])
    at = len(data) * 6 // 10
    data[at : at + 2000] = random.Random(8).randbytes(2000)
    path = tmp_path / f"damaged.{codec}"
    path.write_bytes(bytes(data))
    report = analyse(str(path))
    totals = accounted(report)
    assert totals["parsed"] > 3000, totals  # the lines before the damage
    assert totals["lines"] < 10_000 or codec == "gzip"
    assert set(reasons(report)) & {"corrupt_input", "truncated_input"}, reasons(report)


@pytest.mark.parametrize("codec", list(COMPRESS))
def test_damage_from_the_start_is_one_error_line(tmp_path, codec, compressed):
    data = compressed[codec]
    magic = {"gzip": 2, "bzip2": 3, "xz": 6, "zstd": 4}[codec]
    path = tmp_path / f"junk.{codec}"
    path.write_bytes(data[:magic] + random.Random(3).randbytes(4000))
    line = one_error_line([str(path)])
    assert line.startswith(f"Error: {path}: not a readable {codec} file")


# -- files that change while they are read, FIFOs ---------------------------------------------


def test_a_file_truncated_while_it_is_read_is_reported(tmp_path):
    path = tmp_path / "live.log"
    path.write_bytes(joined(log_lines(3000)))
    items = iter_blocks(str(path), block_size=64 << 10)
    first = next(items)
    os.truncate(path, 100_000)  # logrotate's copytruncate, mid-read
    rest = list(items)
    problems = [item for item in rest if isinstance(item, Problem)]
    assert [p.reason for p in problems] == ["truncated_input"]
    assert problems[0].text.endswith(b"to 100000 bytes while it was read")
    lines = first.lines + sum(i.lines if isinstance(i, Block) else 1 for i in rest)
    assert problems[0].line == lines  # numbered after the last line read


def test_byte_ranges_of_a_shrunk_file_report_it(tmp_path):
    path = tmp_path / "live.log"
    path.write_bytes(joined(log_lines(3000)))
    spans = split_ranges(str(path), range_size=50_000)
    os.truncate(path, 60_000)  # after planning, before reading
    items = [item for span in spans for item in iter_range_blocks(span, block_size=16 << 10)]
    reported = [i for i in items if isinstance(i, Problem)]
    assert reported and {p.reason for p in reported} == {"truncated_input"}


def test_a_range_read_whole_before_the_file_shrank_lost_no_line(tmp_path):
    path = tmp_path / "live.log"
    path.write_bytes(joined(log_lines(3000)))
    first = split_ranges(str(path), range_size=50_000)[0]
    items = iter_range_blocks(first, block_size=1 << 20)  # the whole range in one block
    block = next(items)
    os.truncate(path, 10_000)  # after the range was read, before its reader finished
    assert list(items) == []  # its lines are all there: nothing to report
    assert isinstance(block, Block) and block.lines > 0


def test_a_line_half_written_when_the_run_planned_is_read_whole(tmp_path):
    path = tmp_path / "live.log"
    text = joined(log_lines(3001))
    cut = len(text) - 40  # the server's write of the last line was half done
    path.write_bytes(text[:cut])
    spans = split_ranges(str(path), range_size=1 << 30)
    with path.open("ab") as out:
        out.write(text[cut:])
    items = [item for span in spans for item in iter_range_blocks(span)]
    blocks = [item for item in items if isinstance(item, Block)]
    assert len(blocks) == len(items)
    assert sum(block.lines for block in blocks) == 3001
    assert b"".join(bytes(block.data) for block in blocks) == text
    assert not blocks[-1].unterminated


@pytest.mark.parametrize("change", ["truncate", "append"])
def test_a_file_changing_during_a_run_never_breaks_the_accounting(tmp_path, change):
    path = tmp_path / "live.log"
    path.write_bytes(joined(log_lines(60_000)))

    def act():
        time.sleep(0.05)
        if change == "truncate":
            os.truncate(path, 200_000)
        else:
            with path.open("ab") as out:
                for i in range(20):
                    out.write(joined(log_lines(1000, 60_000 + 1000 * i)))
                    out.flush()

    writer = threading.Thread(target=act)
    writer.start()
    try:
        report = analyzer.analyze(str(path), workers=2).to_dict()
    finally:
        writer.join()
    totals = accounted(report)
    if change == "append":  # read as it was when the run planned it, or more
        assert 60_000 <= totals["lines"] <= 80_000 and totals["rejected"] == 0
    else:
        assert totals["lines"] <= 60_000


def fifo_with_writer(tmp_path: Path, data: bytes, pieces: int = 4) -> tuple[Path, threading.Thread]:
    path = tmp_path / "pipe.log"
    os.mkfifo(path)

    def write():
        with path.open("wb") as out:  # blocks until logscan opens the FIFO
            step = -(-len(data) // pieces)
            for i in range(0, len(data), step):
                out.write(data[i : i + step])
                out.flush()
                time.sleep(0.02)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return path, writer


def test_a_fifo_is_read_as_a_stream(tmp_path):
    path, writer = fifo_with_writer(tmp_path, joined(log_lines(5000)))
    report = analyse(str(path))
    writer.join(10)
    assert accounted(report) == {"lines": 5000, "parsed": 5000, "rejected": 0}


def test_a_fifo_in_a_real_process(tmp_path):
    path, writer = fifo_with_writer(tmp_path, (SAMPLE).read_bytes())
    done = process(str(path), "--format", "json", timeout=60)
    writer.join(10)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["lines"] == 380


def test_a_fifo_is_not_a_scheduled_input(tmp_path):
    path = tmp_path / "pipe.log"
    os.mkfifo(path)
    line = one_error_line(["report", str(path), "--state", str(tmp_path / "state")])
    assert line == f"Error: {path}: not a regular file; give the log files (or a glob)"


# -- unreadable inputs --------------------------------------------------------------------------


def test_a_directory(tmp_path):
    assert one_error_line([str(tmp_path)]) == (
        f"Error: {tmp_path}: is a directory; give the log files inside it (or a glob)")


def test_missing_file_and_empty_glob(tmp_path):
    missing = tmp_path / "nope.log"
    assert one_error_line([str(missing)]) == f"Error: {missing}: no such file"
    assert one_error_line([str(tmp_path / "*.log")]) == (
        f"Error: {tmp_path}/*.log: no file matches this pattern")


def test_permission_denied_checks(tmp_path, monkeypatch):
    """As root every file is readable: what can be tested is the path through the code, with
    the checks answering as they would for another user."""
    path = tmp_path / "secret.log"
    path.write_bytes(joined(log_lines(3)))
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    assert one_error_line([str(path)]) == f"Error: {path}: permission denied"
    assert one_error_line(["report", str(path), "--state", str(tmp_path / "s")]) == (
        f"Error: {path}: permission denied")


def test_permission_lost_between_the_check_and_the_open(tmp_path, monkeypatch):
    path = tmp_path / "secret.log.gz"
    path.write_bytes(gzip.compress(joined(log_lines(3))))
    real_open = open

    def refuse(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    assert one_error_line([str(path)]) == f"Error: {path}: permission denied"


def _nobody_can_run_logscan() -> bool:
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        return False
    done = subprocess.run([setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           sys.executable, "-m", "analyzer", "--version"], capture_output=True,
                          timeout=60, check=False)
    return done.returncode == 0


@pytest.mark.skipif(os.geteuid() == 0 and not _nobody_can_run_logscan(),
                    reason="running as root, and user nobody cannot run this Python (it lives "
                           "in a directory nobody may not read): the monkeypatched tests above "
                           "cover the path")
def test_permission_denied_for_real(tmp_path):
    path = tmp_path / "secret.log"
    path.write_bytes(joined(log_lines(3)))
    path.chmod(0)
    tmp_path.chmod(0o755)
    prefix = [] if os.geteuid() != 0 else ["setpriv", "--reuid=nobody", "--regid=nogroup",
                                           "--clear-groups"]
    done = subprocess.run([*prefix, sys.executable, "-m", "analyzer", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr == f"Error: {path}: permission denied\n"


def test_unwritable_output(tmp_path):
    log = tmp_path / "a.log"
    log.write_bytes(joined(log_lines(3)))
    line = one_error_line([str(log), "-o", str(tmp_path / "missing" / "out.txt")])
    assert line.endswith("out.txt: cannot write (No such file or directory)")


@pytest.mark.parametrize("case", ["directory", "corrupt gzip", "missing", "bad format"])
def test_real_processes_print_one_line(tmp_path, case):
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"\x1f\x8b" + b"\xff" * 100)
    args = {"directory": [str(tmp_path)], "corrupt gzip": [str(junk)],
            "missing": [str(tmp_path / "none.log")],
            "bad format": [str(SAMPLE), "--log-format", "%{"]}[case]
    done = process(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: ")
    assert "Traceback" not in done.stderr


# -- formats: malformed, catastrophic, mixed ----------------------------------------------------


@pytest.mark.parametrize(("value", "message"), [
    ("%h " * 10_000, "longer than 4096 characters"),
    ("%h " * 100, "more than 64 fields"),
    ("%{", "unknown or malformed directive at '%{'"),
    ("%{{{{x}}}}i %h", "unknown or malformed directive"),
    ("%r%r", "two free-text fields with nothing between them"),
    ("$request$status$", "malformed variable at '$'"),
    ("x" * 100_000, "not a preset and not a format string"),
    ("escape=bad $status", "escape must be default, json or none"),
    ("%{%Q}t", "strftime code %Q unsupported"),
    ("%h\n%t", "a format string is one line without NUL bytes"),
])
def test_bad_log_format_values(value, message):
    line = one_error_line([str(SAMPLE), "--log-format", value])
    assert message in line and len(line) < 400


def test_detection_on_hostile_lines_stays_linear(tmp_path):
    """Detection runs Python's backtracking ``re`` over the sample: lines built to make the
    presets' patterns backtrack (many places where the user name could end, endless escapes,
    runs of quotes) still take linear time."""
    stamp = " [01/Oct/2025:10:00:00 +0000]"
    hostile = [
        "1.2.3.4 - u" + (stamp + ' "a" 200 5 "b" "c" x') * 120,
        "1.2.3.4 - u" + (stamp + ' "') * 300,
        "v:80 1.2.3.4 - " + ("a" + stamp + ' "x" 200 5 "') * 100,
        '1.2.3.4 - - [01/Oct/2025:10:00:00 +0000] "' + '\\" 200 5 "' * 500,
        "1.2.3.4 - " + "-a " * 2000 + "[",
        '"' * 5000,
    ]
    path = tmp_path / "hostile.log"
    path.write_text("\n".join(hostile * 40) + "\n")  # ~1 MB: the whole detection sample
    start = time.perf_counter()
    result = CliRunner().invoke(main, [str(path)])
    assert time.perf_counter() - start < 20
    assert result.exit_code == 2 and "no known log format fits" in result.stderr


def test_detection_with_a_format_that_would_backtrack(tmp_path):
    """Unquoted free-text fields separated by spaces make a backtracking regex take exponential
    time on a line that almost fits; detection matches with RE2, like the parser."""
    fmt = analyzer.LogFormat.resolve(" ".join(f"%{{X-H{i}}}i" for i in range(20)) + " %>s")
    fits = " ".join(["a"] * 20) + " 200"
    sample = ["a " * 5000] * 10 + [fits] * 11
    start = time.perf_counter()
    detection = analyzer.formats.detect_format("x.log", sample, [fmt, analyzer.PRESETS["combined"]])
    assert time.perf_counter() - start < 5
    assert (detection.format, detection.matched, detection.tried) == (fmt, 11, 21)


def test_a_file_of_mixed_formats_shows_the_mix(tmp_path):
    mixed = real_log_path("crowdsec_apache2-logs-mixed-vhost.log")
    report = analyse(str(mixed))
    (source,) = report["sources"]
    assert source["format"] == "combined"
    mix = "other formats in the sample: common: 1, vhost_combined: 1, vhost_combined_noport: 1"
    assert mix in source["detection"]
    for fmt in ("text", "markdown", "html"):
        text = CliRunner().invoke(main, [str(mixed),
                                         "--format", fmt]).stdout
        assert mix in text, fmt
