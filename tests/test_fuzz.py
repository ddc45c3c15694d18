"""Fuzzing the parser: random bytes, mutated real lines and random format strings never raise
anything but an ``AnalyzerError``, and every line is accounted for (DESIGN.md section 3).

The suite runs a modest number of examples. A longer session runs the same properties with
more examples::

    LOGSCAN_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py -q -p no:cacheprovider

Inputs that once crashed are kept below as explicit examples (``REGRESSIONS``).
"""

from __future__ import annotations

import os
import re
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from paths import REAL_LOGS, SAMPLE_LOGS

import analyzer
import analyzer.frame
from analyzer.errors import AnalyzerError, UnknownFormatError
from analyzer.formats import PRESETS, LogFormat, detect_format
from analyzer.parse.block import parse_block
from analyzer.render.csv import render_csv
from analyzer.render.json import render_json
from analyzer.render.markdown import render_markdown
from analyzer.render.text import render_text
from analyzer.sources.codecs import CODECS as _CODECS
from analyzer.sources.items import Block

EXAMPLES = int(os.environ.get("LOGSCAN_FUZZ_EXAMPLES", "0"))


def fuzz(default: int):
    """Settings: ``default`` examples in the suite, LOGSCAN_FUZZ_EXAMPLES in a long session."""
    return settings(
        max_examples=EXAMPLES or default,
        deadline=None,
        derandomize=not EXAMPLES,  # the suite is repeatable; a long session explores
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )


@cache
def real_lines() -> tuple[bytes, ...]:
    """Every line of the shared real logs and the sample logs (uncompressed ones), as bytes."""
    files = sorted(REAL_LOGS.glob("*.log")) + sorted(SAMPLE_LOGS.glob("*.log*"))
    lines: list[bytes] = []
    for path in files:
        if path.suffix in (".gz", ".csv"):
            continue
        lines += [line for line in path.read_bytes().split(b"\n") if line]
    assert len(lines) > 1000, files
    return tuple(lines)


# Byte strings that matter to the parser: quotes, escapes, brackets, separators, bad UTF-8
TOKENS = [
    b'"', b"\\", b'\\"', b"\\\\", b"\\x", b"\\x1b", b"\\xZZ", b"\\u00", b"\\ud800", b" ", b"  ",
    b"\t", b"\r", b"\x00", b"\xff", b"\xc3", b"\xe2\x80\xae", b"\x1b[31m", b"[", b"]", b"-",
    b":", b"/", b"?", b"%", b"$", b"{", b"}", b"HTTP/1.1", b"HTTP/9.9", b"GET", b"501", b"405",
    b"505", b"99999999999999999999", b"-1", b"01/Oct/2025:10:00:00 +0000", b"2025-10-01T10:00:00Z",
    b"31/Feb/2025:25:61:61 +9999", b"1700000000.123", b"<script>", b"=1+1", b"\xef\xbb\xbf",
]


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    """A real line with a few random edits (insertions, deletions, replacements, splices)."""
    line = bytearray(draw(st.sampled_from(real_lines())))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(("insert", "delete", "replace", "splice", "token", "cut")))
        if op == "insert":
            line[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            line[at : at + draw(st.integers(1, 20))] = b""
        elif op == "replace" and at < len(line):
            line[at] = draw(st.integers(0, 255))
        elif op == "splice":
            other = draw(st.sampled_from(real_lines()))
            line[at:] = other[draw(st.integers(0, len(other))) :]
        elif op == "token":
            line[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "cut":
            del line[at:]
    return bytes(line).replace(b"\n", b" ")


lines_of = st.lists(
    st.one_of(mutated_line(), st.sampled_from(real_lines()),
              st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ")),
              st.just(b""), st.just(b"   ")),
    max_size=30,
)
formats = st.one_of(st.none(), st.sampled_from(sorted(PRESETS)))


def expected_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def check_log(data: bytes, log_format: str | None) -> None:
    """parse_log on a file holding ``data``: an AnalyzerError, or every line accounted for."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.log"
        path.write_bytes(data)
        try:
            parsed = analyzer.frame.parse_log(path, log_format, workers=1)
        except AnalyzerError:
            return
    (source,) = parsed.sources
    assert source.lines == source.parsed + source.rejected
    if not data.startswith(tuple(codec.magic for codec in _CODECS)):  # else: decompressed lines
        assert source.lines == expected_lines(data)
    assert len(parsed.frame) == source.parsed and len(parsed.rejects) == source.rejected
    numbers = sorted([*parsed.frame["line"].tolist(), *parsed.rejects["line"].tolist()])
    assert numbers == list(range(1, source.lines + 1))


# -- regressions: inputs that once broke something ------------------------------------------------

REGRESSIONS: list[tuple[bytes, str | None]] = [
    # an empty file: listed as a source with 0 lines (it was left out of the sources)
    (b"", None),
    (b"", "combined"),
    # a line that is the start of a gzip stream (a real log with a gzip blob appended, mutated)
    (b"\x1f\x8b\x08\x08\xd0\xd1x`\x00\x03access.log.1\x00\xec={_\xdb\xc6\xb2", None),
]


@pytest.mark.parametrize(("data", "log_format"), REGRESSIONS)
def test_regressions(data: bytes, log_format: str | None) -> None:
    check_log(data, log_format)


# -- properties -----------------------------------------------------------------------------------


@fuzz(60)
@given(lines=lines_of, log_format=formats, newline=st.sampled_from([b"\n", b"\r\n"]),
       last=st.booleans())
@example(lines=[], log_format=None, newline=b"\n", last=True)
@example(lines=[b"\x00" * 100], log_format="combined", newline=b"\n", last=False)
def test_parse_log_accounts_for_every_line(lines, log_format, newline, last):
    data = newline.join(lines) + (newline if last and lines else b"")
    check_log(data, log_format)


@fuzz(40)
@given(data=st.binary(max_size=2000), log_format=formats)
def test_parse_log_of_random_bytes(data, log_format):
    check_log(data, log_format)


@fuzz(60)
@given(lines=lines_of, fmt=st.sampled_from(sorted(PRESETS)), first=st.integers(1, 10**9),
       unterminated=st.booleans())
def test_parse_block_partitions_the_block(lines, fmt, first, unterminated):
    data = b"".join(line + b"\n" for line in lines)
    block = Block("fuzz.log", first, data, len(lines), unterminated=unterminated and bool(lines))
    parsed = parse_block(block, PRESETS[fmt], fallbacks=[f for f in PRESETS.values()][:2])
    assert parsed.table.num_rows + parsed.rejects.num_rows == len(lines)
    numbers = sorted(parsed.table["line"].to_pylist() + parsed.rejects["line"].to_pylist())
    assert numbers == list(range(first, first + len(lines)))
    assert parsed.rejects["reason"].null_count == 0


@fuzz(30)
@given(lines=st.lists(mutated_line(), min_size=1, max_size=40))
def test_detection_never_raises_anything_else(lines):
    sample = [line.decode("utf-8", "backslashreplace") for line in lines]
    try:
        detection = detect_format("fuzz.log", sample)
    except AnalyzerError:
        return
    assert 0 <= detection.matched <= detection.tried <= len(sample)


@fuzz(15)
@given(lines=lines_of, log_format=formats)
def test_every_renderer_takes_any_log(lines, log_format):
    data = b"\n".join(lines) + b"\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.log"
        path.write_bytes(data)
        try:
            report = analyzer.analyze(path, log_format=log_format)
        except AnalyzerError:
            return
    assert report.totals["lines"] == report.totals["parsed"] + report.totals["rejected"]
    text = render_text(report)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    render_json(report)
    render_markdown(report)
    render_csv(report)


# -- random format strings ------------------------------------------------------------------------

APACHE_DIRECTIVES = [
    "%h", "%a", "%{c}a", "%A", "%l", "%u", "%t", "%r", "%m", "%U", "%q", "%H", "%s", "%>s", "%<s",
    "%b", "%B", "%O", "%I", "%S", "%D", "%T", "%{ms}T", "%{us}T", "%v", "%V", "%p",
    "%{remote}p", "%k", "%L", "%X", "%R", "%f", "%P", "%{tid}P", "%{Referer}i",
    "%{User-Agent}i", "%{X-Forwarded-For}i", "%{Allow}o", "%{Set-Cookie}o", "%{HOME}e",
    "%{note}n", "%{sid}C", "%400,501{User-Agent}i", "%!200i", "%{%d/%b/%Y %T}t",
    "%{%Y-%m-%dT%H:%M:%S%z}t", "%{msec}t", "%{usec_frac}t", "%{%z}t", "%{end:sec}t", "%%",
    # malformed
    "%", "%{", "%{x", "%}", "%{}i", "%Z", "%{bogus}T", "%{%Q}t", "%{x}p", "%400{", "%>", "%<<s",
]
NGINX_VARIABLES = [
    "$remote_addr", "$remote_user", "$time_local", "$time_iso8601", "$msec", "$request",
    "$request_method", "$request_uri", "$uri", "$args", "$server_protocol", "$status",
    "$body_bytes_sent", "$bytes_sent", "$request_length", "$request_time", "$host",
    "$server_name", "$server_port", "$http_referer", "$http_user_agent", "$http_x_forwarded_for",
    "$sent_http_allow", "$upstream_response_time", "$cookie_sid", "$arg_q", "${status}",
    "$custom_var", "$pipe", "$request_id",
    # malformed
    "$", "${", "${}", "$-", "$Bad-Name", "${unterminated", "$$",
]
JUNK = [" ", " ", " ", '"', '"', "[", "]", "-", ":", "/", "'", "\\", "\\\"", "{", "}", "(", ")",
        "*", "+", "?", "|", "^", ".", "\t", "x", "=", ",", ";", "\u202e", "\x00", "\n"]


@st.composite
def format_string(draw: st.DrawFn) -> str:
    pool = APACHE_DIRECTIVES if draw(st.booleans()) else NGINX_VARIABLES
    parts = draw(st.lists(st.one_of(st.sampled_from(pool), st.sampled_from(JUNK),
                                    st.text(max_size=4)), min_size=0, max_size=25))
    text = "".join(parts)
    if draw(st.booleans()):
        text = "escape=" + draw(st.sampled_from(["json", "none", "default", "bad"])) + " " + text
    return text


@fuzz(150)
@given(fmt=format_string())
@example(fmt="%{¹%{Referer}i")  # found by fuzzing: a non-ASCII letter in a column name
@example(fmt="%{")
@example(fmt='"%r')
@example(fmt="%h" * 10_000)
@example(fmt="%r%r")
@example(fmt="$request$request")
@example(fmt="{" * 500 + "%h" + "}" * 500)
def test_format_strings_compile_or_say_why(fmt):
    try:
        compiled = LogFormat.resolve(fmt)
    except UnknownFormatError as exc:
        assert str(exc)
        return
    # both regex engines take every pattern the format builds
    sample = pa.array(["", "x", '1.2.3.4 - - [01/Oct/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 5'])
    for pattern in (compiled.regex, compiled.truncated_regex, compiled.cut_regex):
        pc.match_substring_regex(sample, pattern)
        re.compile(pattern)
    pc.match_substring_regex(pa.array(["x\n"]), compiled.fast_regex)


@fuzz(40)
@given(fmt=format_string(), lines=st.lists(mutated_line(), max_size=15))
def test_any_compiled_format_parses_any_line(fmt, lines):
    try:
        compiled = LogFormat.resolve(fmt)
    except UnknownFormatError:
        return
    data = b"".join(line + b"\n" for line in lines)
    parsed = parse_block(Block("fuzz.log", 1, data, len(lines)), compiled)
    assert parsed.table.num_rows + parsed.rejects.num_rows == len(lines)
    lines_seen = np.sort(np.concatenate([parsed.table["line"].to_numpy(),
                                         parsed.rejects["line"].to_numpy()]))
    assert lines_seen.tolist() == list(range(1, len(lines) + 1))
