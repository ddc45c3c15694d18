"""The native kernel against the Arrow path: the same table and the same rejects, byte for byte,
on random lines of every preset format, escape style and damage, and on every corpus; the frames
and the JSON reports of both kernels are the same. Both kernels run in this one process."""

from __future__ import annotations

import gzip
import json
import os
import string
import subprocess
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import CONFORMANCE, REAL_LOGS, SAMPLE_LOGS

import analyzer
from analyzer.cli.app import main as cli
from analyzer.errors import AnalyzerError, UnknownFormatError
from analyzer.formats import PRESETS, LogFormat
from analyzer.formats.fields import FieldSpec, Kind
from analyzer.parse.block import ParsedBlock, parse_block
from analyzer.parse.kernels import active_kernel, native_available
from analyzer.parse.native import covered
from analyzer.render.json import render_json
from analyzer.sources.blocks import MAX_LINE
from analyzer.sources.items import Block
from analyzer.summary.parts import summary_columns
from analyzer.summary.summary import Summary

needs_native = pytest.mark.skipif(not native_available(),
                                  reason="the native kernel is not built in this install")
GENLOG = REAL_LOGS.parent / "bench" / "genlog.py"


@contextmanager
def kernel(name: str) -> Iterator[None]:
    before = os.environ.get("LOGSCAN_KERNEL")
    os.environ["LOGSCAN_KERNEL"] = name
    try:
        yield
    finally:
        if before is None:
            del os.environ["LOGSCAN_KERNEL"]
        else:
            os.environ["LOGSCAN_KERNEL"] = before


def _parsed(block: Block, fmt: LogFormat, name: str, fallbacks: tuple[LogFormat, ...] = (),
            columns: Collection[str] | None = None, in_line_order: bool = True) -> ParsedBlock:
    with kernel(name):
        return parse_block(block, fmt, fallbacks, columns, in_line_order=in_line_order)


def assert_same(data: bytes, fmt: LogFormat, fallbacks: tuple[LogFormat, ...] = (),
                unterminated: bool = False) -> ParsedBlock:
    """Both kernels on one block, with every column and with a Summary's, in line order or
    not: equal tables (schema included) and equal rejects."""
    block = Block.of("test.log", 7, data, unterminated=unterminated)
    for columns, in_order in ((None, True), (summary_columns(), False)):
        arrow = _parsed(block, fmt, "arrow", fallbacks, columns, in_order)
        native = _parsed(block, fmt, "native", fallbacks, columns, in_order)
        assert native.table.schema == arrow.table.schema
        assert _rows(native, in_order).equals(_rows(arrow, in_order)), (
            native.table.to_pylist()[:3], arrow.table.to_pylist()[:3])
        assert native.rejects.equals(arrow.rejects), (native.rejects.to_pylist(),
                                                      arrow.rejects.to_pylist())
        assert native.lines == arrow.lines
    summaries = []
    for name in ("arrow", "native"):  # the kernel counts a Summary's ordinary rows itself
        with kernel(name):
            parsed = parse_block(block, fmt, fallbacks, summary_columns(), in_line_order=False,
                                 counts=True)
        summaries.append(Summary.from_block(parsed, format=fmt.name))
    assert summaries[1] == summaries[0], (summaries[1].to_dict(), summaries[0].to_dict())
    return arrow


def _rows(parsed: ParsedBlock, in_order: bool) -> pa.Table:
    """The table; in line order where the caller did not ask for it (a Summary's rows come in
    any order: the Arrow path sends a whole block to its exact regex when its tokenizer
    disagrees with a line, a vhost that starts with a quote)."""
    return parsed.table if in_order else parsed.table.sort_by("line")


# -- random lines of any format ----------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=30)
_WORD = st.text(string.ascii_letters + string.digits + "-._~%:/[]", max_size=12)
_METHODS = st.sampled_from(["GET", "POST", "PROPFIND", "get", "BREW", "M-SEARCH", "G@T", "-", ""])
_PROTOCOLS = st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "HTTP/3", "http/1.1",
                              "HTTP/", "HTTP", "1.1", "X+Y.-z/9 9", "HTTP/1.1\t"])
_ESCAPES = st.sampled_from(['\\"', "\\\\", "\\x16\\x03\\x01", "\\x22", "\\n", "\\t", "\\u0041",
                            "\\xZZ", "\\", '"'])


@st.composite
def request_lines(draw: st.DrawFn) -> str:
    shape = draw(st.integers(0, 6))
    method, target = draw(_METHODS), draw(_WORD)
    if shape == 0:
        return f"{method} {target} {draw(_PROTOCOLS)}"
    if shape == 1:
        return f"{method} {target}"
    if shape == 2:  # spaces in odd places
        gap = " " * draw(st.integers(0, 3))
        end = " " * draw(st.integers(0, 2))
        return f"{gap}{method}{gap}{target} {draw(_WORD)}{gap}{draw(_PROTOCOLS)}{end}"
    if shape == 3:
        return draw(st.sampled_from(["-", "", " ", "GET", "GET /", "GET  HTTP/1.1",
                                     "GET / HTTP/1.1 "]))
    if shape == 4:  # escapes of each style
        return f"{method} {target}{draw(_ESCAPES)}{draw(_WORD)} {draw(_PROTOCOLS)}"
    if shape == 5:
        return draw(_TEXT)
    return f"{method} {draw(_TEXT)} {draw(_PROTOCOLS)}"


_MONTHS = st.sampled_from(["Jan", "Feb", "Mar", "Dec", "jan", "FEB", "Foo", "Sep"])


@st.composite
def clf_times(draw: st.DrawFn) -> str:
    day = draw(st.sampled_from(["01", "15", "28", "29", "30", "31", "00", "32", "99"]))
    year = draw(st.sampled_from(["2024", "2023", "1969", "0000", "9999", "2100"]))
    hms = draw(st.sampled_from(["00:00:00", "13:55:36", "23:59:59", "24:00:00", "23:60:00",
                                "23:59:60", "23:59:61", "23:59:62", "99:99:99"]))
    offset = draw(st.sampled_from(["+0000", "-0700", "+0530", "+2400", "+2359", "+0099", "-9999",
                                   "+1260"]))
    return f"{day}/{draw(_MONTHS)}/{year}:{hms} {offset}"


_ADDRESSES = ["192.0.2.1", "2001:db8::1", "-", "host.example", "unix:", "10.0.0.1, 10.0.0.2",
              "[::1]", ""]
_HOSTS = ["www.example.test", "a:b", "a:b:c", "[::1]", "[::1]x", "-", "", "x y", "a::", "é.test",
          "h:1", "::x"]
_USERS = ["-", "alice", "bob smith", '""', "\\x41", "é", "- -", "a -"]
_INTS = ["-", "0", "1234", "999999999999999999", "1234567890123456789", "", "12a", "-1",
         "99999999999"]
_SECONDS = ["-", "0", "0.004", "1234", "1.5e3", "1234567890123456", "", "12.", ".5", "1.2.3",
            "0.1234567891"]
_MILLIS = ["0.004", "12.345", "1.5", "-", "1234567890123456.000", "0.0040"]
_ALLOWS = ["-", "GET, HEAD", "GET,HEAD", "GET,  POST", "", "GET,", ", GET", "G3T", "GET HEAD"]
_STATUSES = ["200", "404", "501", "405", "505", "000", "99", "1000", "-", "abc"]


def _value(draw: st.DrawFn, field: FieldSpec) -> str:
    """A value for the field: mostly what the server writes, often what it never would."""
    kind, shape = field.kind, field.shape
    if field.optional and draw(st.integers(0, 4)) == 0:
        return "-"
    if shape == "host":
        return draw(st.sampled_from(_HOSTS))
    if shape == "user":
        return draw(st.sampled_from(_USERS))
    if shape == "methods":
        return draw(st.sampled_from(_ALLOWS))
    if shape == "millis":
        return draw(st.sampled_from(_MILLIS))
    if kind is Kind.ADDRESS:
        return draw(st.sampled_from(_ADDRESSES))
    if kind is Kind.REQUEST:
        return draw(request_lines())
    if kind is Kind.STATUS:
        return draw(st.sampled_from(_STATUSES))
    if kind in (Kind.INT, Kind.PORT):
        return draw(st.sampled_from(_INTS))
    if kind is Kind.SECONDS:
        return draw(st.sampled_from(_SECONDS))
    if kind is Kind.TIME:
        time = draw(clf_times())
        return f"[{time}]" if field.time_pattern.startswith(r"\[") else time
    if kind is Kind.TOKEN:
        return draw(st.one_of(_WORD, st.sampled_from(["-", "a b", 'a"b', "a\\b"])))
    return draw(st.one_of(st.sampled_from(["-", "", "http://a.test/", "curl/8.0", 'a \\"b\\" c']),
                          _TEXT))


@st.composite
def lines_of(draw: st.DrawFn, fmt: LogFormat) -> bytes:
    """One line of ``fmt``, its fields drawn one by one, then maybe damaged."""
    text = "".join(p if isinstance(p, str) else _value(draw, p) for p in fmt.pieces)
    return _damaged(draw, text.encode("utf-8"))


def _damaged(draw: st.DrawFn, line: bytes) -> bytes:
    damage = draw(st.sampled_from(["none"] * 6 + ["utf8", "nul", "cut", "crlf", "cr", "blank",
                                                  "space", "long", "tab", "trailing"]))
    at = draw(st.integers(0, len(line)))
    if damage == "utf8":
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9t\xe9", b"\xed\xa0\x80"]))
        return line[:at] + bad + line[at:] + b"\n"
    if damage == "nul":
        return line[:at] + b"\x00" + line[at:] + b"\n"
    if damage == "cut":
        return line[:at] + b"\n"
    if damage == "crlf":
        return line + b"\r\n"
    if damage == "cr":
        return line + b"\r\r\n"
    if damage == "blank":
        return draw(st.sampled_from([b"\n", b"   \n", b"\t\n"]))
    if damage == "space":
        return line + b" \n"
    if damage == "trailing":  # the blanks some hosts add, before a CRLF too
        return line + draw(st.sampled_from([b" \t \n", b"  \r\n", b"\t\n"]))
    if damage == "long":
        return line[:at] + b"x" * (MAX_LINE + 1 - len(line)) + line[at:] + b"\n"
    if damage == "tab":
        return line.replace(b" ", b"\t", 1) + b"\n"
    return line + b"\n"


_RANDOM = settings(max_examples=20, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@needs_native
@pytest.mark.parametrize("name", sorted(PRESETS))
@_RANDOM
@given(data=st.data())
def test_random_lines_of_every_preset(name: str, data: st.DataObject) -> None:
    fmt = PRESETS[name]
    lines = data.draw(st.lists(lines_of(fmt), min_size=1, max_size=25))
    unterminated = data.draw(st.booleans())
    assert_same(b"".join(lines), fmt, unterminated=unterminated)


@needs_native
@_RANDOM
@given(data=st.data())
def test_random_mixed_formats_with_fallbacks(data: st.DataObject) -> None:
    """A file of several formats: the other lines are read by the fallback formats."""
    forms = [PRESETS[n] for n in ("combined", "vhost_combined", "common", "nginx_main",
                                  "logscan_timed")]
    lines = data.draw(st.lists(st.sampled_from(forms).flatmap(lines_of), min_size=1,
                               max_size=25))
    assert_same(b"".join(lines), forms[0], tuple(forms[1:]))


# formats beside the presets: conditional fields, every %T unit, IPv6 vhosts, two timestamps;
# and formats the kernel declines (JSON escapes, ISO and strftime times, %U%q, $msec)
_OTHER = [
    LogFormat.apache('%V %a %l %u %t "%r" %>s %B %{ms}T "%400,501{User-agent}i" %{remote}p'),
    LogFormat.apache('%h %{c}a %t %{end:}t "%r" %<s %!200b %T %{us}T %k "%{X-Forwarded-For}i"'),
    LogFormat.apache('[%v] %h:%{remote}p %u %t "%r" %s %O %I %S %P %{tid}P %L'),
    LogFormat.nginx('$remote_addr:$remote_port $server_name $server_port [$time_local] '
                    '"$request" $status $bytes_sent $request_length $request_time '
                    '"$http_x_forwarded_for" $pid $connection $connection_requests'),
    LogFormat.nginx('escape=json $remote_addr [$time_iso8601] "$request" $status'),
    LogFormat.apache('%h %{%Y-%m-%d}t %{%T}t "%r" %>s'),
    LogFormat.apache('%h %t "%m %U%q %H" %>s'),
    LogFormat.nginx('$remote_addr $msec "$request" $status'),
]


@needs_native
@pytest.mark.parametrize("fmt", _OTHER, ids=lambda f: f.source[:40])
@_RANDOM
@given(data=st.data())
def test_random_lines_of_other_formats(fmt: LogFormat, data: st.DataObject) -> None:
    try:
        lines = data.draw(st.lists(lines_of(fmt), min_size=1, max_size=20))
    except ValueError:  # a field _value has no values for: junk lines then
        lines = [b"junk\n"]
    assert_same(b"".join(lines), fmt)


@needs_native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.binary(max_size=120), min_size=1, max_size=20),
       name=st.sampled_from(sorted(PRESETS)))
def test_random_bytes(lines: list[bytes], name: str) -> None:
    """Bytes that are no log line at all (NUL, newlines, invalid UTF-8) are rejected alike."""
    assert_same(b"".join(line.replace(b"\n", b"") + b"\n" for line in lines), PRESETS[name])


@needs_native
def test_formats_the_kernel_covers() -> None:
    with kernel("native"):
        assert [name for name, fmt in PRESETS.items() if not covered(fmt)] == []
        assert [covered(f) for f in _OTHER] == [True] * 4 + [False] * 4
    with kernel("arrow"):
        assert not covered(PRESETS["combined"])


@needs_native
def test_a_line_of_hostile_length_and_shape() -> None:
    """Lines built to make a matcher backtrack: a host name of colons, a long run of spaces in
    a request, a megabyte of quotes. Both kernels agree, in bounded time."""
    vhost = b":" * 200_000
    rest = b' 192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n'
    lines = [
        vhost + b":80" + rest,
        vhost + b"x" + rest,
        b"a:" * 100_000 + b"1" + rest,
        b"a:1 192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] \"GET " + b" " * 300_000
        + b'HTTP/1.1" 200 1 "-" "-"\n',
        b'"' * (MAX_LINE - 1) + b"\n",
    ]
    for fmt in (PRESETS["vhost_combined"], PRESETS["combined"], PRESETS["vhost_common"]):
        assert_same(b"".join(lines), fmt)


@needs_native
def test_bad_bytes_after_an_over_long_line_are_escaped() -> None:
    """A line that is neither UTF-8 nor short enough to read, then lines of bad bytes in their
    fields: each bad byte reads as ``\\xHH`` in both kernels, never as a string that is not
    UTF-8 (the kernel once lost count of bad lines after an over-long one)."""
    good = b'192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.0"\n'
    lines = [
        good,
        b'192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "GET /' + b"x" * MAX_LINE + b'\x80 HTTP/1.1'
        b'" 200 1 "-" "-"\n',
        good,
        b'192.0.2.1 \xff - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n',
        good.replace(b"curl/8.0", b"curl/8\xed\xa0\x80.0"),
    ]
    block = Block.of("bad.log", 1, b"".join(lines))
    for columns in (summary_columns(), None):
        native = _parsed(block, PRESETS["combined"], "native", columns=columns)
        native.table.validate(full=True)
    assert native.table.column("ident").to_pylist() == [None, None, "\\xff", None]
    assert native.table.column("user_agent").to_pylist()[-1] == "curl/8\\xed\\xa0\\x80.0"
    assert native.rejects.column("line").to_pylist() == [2]
    assert_same(b"".join(lines), PRESETS["combined"])


@needs_native
def test_a_report_reads_bad_bytes_after_an_over_long_line(tmp_path: Path) -> None:
    """Such lines, refused (501, 405), through the whole report: before the fix, a traceback
    (a string that was not UTF-8 reached the report's client lists)."""
    good = b'192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.0"\n'
    path = tmp_path / "crafted.log"
    path.write_bytes(b"".join([
        good,
        b'192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "GET /' + b"x" * MAX_LINE + b'\x80 HTTP/1.1'
        b'" 200 1 "-" "-"\n',
        b'192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "G\xffT / HTTP/1.1" 501 1 "-" "-"\n',
        good.replace(b"curl/8.0", b"curl/8\xed\xa0\x80.0").replace(b'" 200', b'" 405'),
    ]))
    with kernel("native"):
        result = CliRunner().invoke(cli, [str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rejects"]["reasons"] == {"too_long": 1}
    assert report["classes"]["not_implemented"]["by"] == {"-": 1}  # no method token: G\xffT
    assert report["classes"]["method_not_allowed"]["top_families"] == [
        {"family": "curl", "count": 1, "kind": "library"}]


@needs_native
def test_block_data_of_every_buffer_kind() -> None:
    """Blocks come as bytes or as memoryviews of a larger read buffer."""
    line = b'192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n'
    buffer = bytearray(b"junk" + line * 3)
    block = Block.of("m.log", 1, memoryview(buffer)[4:])
    arrow = _parsed(block, PRESETS["combined"], "arrow")
    native = _parsed(block, PRESETS["combined"], "native")
    assert native.table.equals(arrow.table)
    assert native.table.column("line").to_pylist() == [1, 2, 3]
    assert native.table.column("time").type == pa.timestamp("us", tz="UTC")


# -- corpora -----------------------------------------------------------------------------------

def _corpus(path: Path) -> bytes:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data if data.endswith(b"\n") else data + b"\n"


_SAMPLES = sorted(p for p in SAMPLE_LOGS.glob("*.log*") if not p.name.endswith(".csv"))
_REAL = sorted(REAL_LOGS.glob("*.log")) if REAL_LOGS.is_dir() else []
_SAMPLE_FORMATS = json.loads((SAMPLE_LOGS / "formats.json").read_text())


def _sample_format(path: Path) -> LogFormat:
    entry = _SAMPLE_FORMATS.get(path.name) or next(
        e for name, e in _SAMPLE_FORMATS.items() if path.name.startswith(name.split(".log")[0]))
    source = entry["format"]
    return LogFormat.nginx(source) if entry["server"] == "nginx" else LogFormat.apache(source)


@needs_native
@pytest.mark.parametrize("path", _SAMPLES, ids=lambda p: p.name)
def test_sample_logs_parse_the_same(path: Path) -> None:
    parsed = assert_same(_corpus(path), _sample_format(path))
    assert parsed.table.num_rows > 0


_PRESET_ORDER = [PRESETS[n] for n in ("vhost_combined", "combined", "nginx_main", "common",
                                      "vhost_common", "logscan_vhost", "logscan_timed")]


@needs_native
@pytest.mark.skipif(not _REAL, reason=f"{REAL_LOGS} is absent (a fresh clone has none)")
@pytest.mark.parametrize("path", _REAL, ids=lambda p: p.name)
def test_real_logs_parse_the_same(path: Path) -> None:
    """Each real log with two presets first and the others as fallbacks."""
    data = _corpus(path)
    for first in (0, 2):
        order = _PRESET_ORDER[first:] + _PRESET_ORDER[:first]
        assert_same(data, order[0], tuple(order[1:]))


def _conformance_cases() -> list[tuple[str, str]]:
    cases = []
    for name in ("beats_apache.json", "beats_nginx.json"):
        path = CONFORMANCE / name
        if path.is_file():
            for case in json.loads(path.read_text())["cases"]:
                cases.append((case["format"], case["line"] + case["eol"]))
    return cases


@needs_native
@pytest.mark.skipif(not _conformance_cases(), reason=f"{CONFORMANCE} is absent")
def test_conformance_lines_parse_the_same() -> None:
    by_format: dict[str, list[str]] = {}
    for fmt, line in _conformance_cases():
        by_format.setdefault(fmt, []).append(line)
    compared = 0
    for fmt, lines in by_format.items():
        try:
            form = LogFormat.resolve(fmt)
        except UnknownFormatError:  # mod_ssl's %{...}x: logscan reads no such format
            continue
        data = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        assert_same(data.encode("utf-8"), form)
        compared += len(lines)
    assert compared >= 30


@needs_native
@pytest.mark.skipif(not GENLOG.is_file(), reason=f"{GENLOG} is absent (a fresh clone has none)")
def test_hostile_logs_parse_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The neutral benchmark log's head, and the same lines with random methods, clients, agents,
    protocols and vhosts (benchmarks/bench_hostile.py)."""
    sys.path.insert(0, str(SAMPLE_LOGS.parent / "benchmarks"))
    import bench_hostile

    monkeypatch.setattr(bench_hostile, "DATA", tmp_path)
    for name in ("ordinary", "all", "protocols"):
        path, fmt = bench_hostile.hostile_log(name, 4000)
        assert_same(path.read_bytes(), PRESETS[fmt], (PRESETS["combined"],))


# -- reports and frames ------------------------------------------------------------------------

def _reports(paths: list[Path], **options: object) -> tuple[dict, dict]:
    out = []
    for name in ("arrow", "native"):
        with kernel(name):
            report = json.loads(render_json(analyzer.analyze([str(p) for p in paths],
                                                             **options)))  # type: ignore[arg-type]
        assert report.pop("kernel") == name
        out.append(report)
    return out[0], out[1]


@needs_native
def test_sample_reports_and_frames_are_the_same() -> None:
    paths = [p for p in _SAMPLES if p.name.endswith(".log")]
    arrow, native = _reports(paths)
    assert arrow == native
    assert native["requests"] > 0
    frames = []
    for name in ("arrow", "native"):
        with kernel(name):
            frames.append(analyzer.read_log(str(SAMPLE_LOGS / "apache_vhost_allow.log")))
    assert frames[0].equals(frames[1])
    assert list(frames[0].dtypes) == list(frames[1].dtypes)


@needs_native
@pytest.mark.skipif(not _REAL, reason=f"{REAL_LOGS} is absent (a fresh clone has none)")
def test_real_log_reports_are_the_same() -> None:
    arrow, native = _reports(_REAL)
    assert arrow == native
    assert native["rejects"]["count"] > 0


# -- the choice of kernel ----------------------------------------------------------------------

def test_the_kernel_is_built_in_ci() -> None:
    """CI builds the kernel (.ci/run): without it the comparisons above would only skip."""
    if os.environ.get("CI") != "true":
        pytest.skip("only CI must have the native kernel built")
    assert native_available()


@needs_native
def test_cli_names_the_active_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    for name in ("arrow", "native"):
        monkeypatch.setenv("LOGSCAN_KERNEL", name)
        result = runner.invoke(cli, ["--version"])
        assert result.exit_code == 0
        assert result.output.splitlines()[1] == f"kernel: {name}"
        report = runner.invoke(cli, [str(SAMPLE_LOGS / "nginx_combined.log"), "--format", "json"])
        assert report.exit_code == 0, report.output
        assert json.loads(report.output)["kernel"] == name
        text = runner.invoke(cli, [str(SAMPLE_LOGS / "nginx_combined.log"), "--details"])
        assert f"parsing kernel: {name}" in text.output


def test_a_wrong_kernel_name_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSCAN_KERNEL", "fast")
    with pytest.raises(AnalyzerError, match="use arrow or native"):
        active_kernel()
    result = CliRunner().invoke(cli, [str(SAMPLE_LOGS / "nginx_combined.log")])
    assert result.exit_code == 2
    assert result.output == "Error: LOGSCAN_KERNEL='fast': use arrow or native\n"


def test_arrow_alone_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSCAN_KERNEL", "arrow")
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.splitlines()[1].startswith("kernel: arrow")


# the process's own peak RSS (VmHWM): ru_maxrss would count the pytest process it was forked from
_PEAK_RSS = """
import sys
from pathlib import Path
from analyzer.engines import run
from analyzer.pipeline import Options
from analyzer.sources.inputs import expand_all
run(expand_all([sys.argv[1]]), None, Options(block_size=128 << 10), workers=2,
    range_size=512 << 10)
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")))
"""


@needs_native
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_memory_follows_the_block_not_the_input(tmp_path: Path) -> None:
    """The kernel holds one block and its columns at a time: the same 10,000 lines 40 times
    over (1.6 -> 64 MB, the same Summary keys) add what the pieces waiting to be merged hold
    (measured: 17-19 MB, of which a few move from run to run), not the input."""
    sys.path.insert(0, str(SAMPLE_LOGS.parent / "benchmarks"))
    from generate import generate

    small, large = tmp_path / "small.log", tmp_path / "large.log"
    generate(small, 10_000, seed=1)
    large.write_bytes(small.read_bytes() * 40)
    peaks = []
    for path in (small, large):
        run = subprocess.run([sys.executable, "-c", _PEAK_RSS, str(path)], check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "LOGSCAN_KERNEL": "native"})
        peaks.append(int(run.stdout) * 1024)
    assert peaks[1] - peaks[0] < 24 << 20, peaks


@needs_native
@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=600).map(lambda b: b.replace(b"x", b"\n")), cut=st.data())
def test_line_offsets_are_the_same(data: bytes, cut: st.DataObject) -> None:
    """The reader's line offsets (the kernel's SIMD search, NumPy's comparison)."""
    from analyzer.sources.items import line_offsets

    start = cut.draw(st.integers(0, len(data)))
    end = cut.draw(st.integers(start, len(data)))
    found = []
    for name in ("arrow", "native"):
        with kernel(name):
            found.append(line_offsets(memoryview(bytearray(data)), start, end))
    assert found[0].dtype == found[1].dtype == "int32"
    assert found[0].tolist() == found[1].tolist()


@needs_native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(st.lists(st.sampled_from([" ", "  ", "\\n", "GET", "/a", "HTTP/1.1",
                                                     "x", "\\t", "\\x41"]), max_size=7)
                         .map("".join), min_size=1, max_size=10))
def test_request_lines_split_alike(requests: list[str]) -> None:
    """Request lines of spaces, words and escapes (a decoded newline ends RE2's ``.``)."""
    lines = [f'192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "{r}" 501 0 "-" "-"\n'
             for r in requests]
    assert_same("".join(lines).encode(), PRESETS["combined"])


@needs_native
def test_a_panic_in_the_kernel_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug of the kernel (a Rust panic) is caught where it happens and reported as a
    one-line error that names the block, not an aborted interpreter or a traceback."""
    import analyzer._native as built  # type: ignore[import-not-found]

    def panicking(*_args: object) -> None:
        built.panic_for_test()

    monkeypatch.setattr(built, "scan_block", panicking)
    monkeypatch.setenv("LOGSCAN_KERNEL", "native")
    block = Block.of("p.log", 3, b'192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] "GET /" 200 1\n')
    with pytest.raises(AnalyzerError, match=r"^p\.log, lines from 3: native kernel failed: a test"):
        parse_block(block, PRESETS["common"])
    # a plain file (byte ranges) and a compressed one (a stream shared by the workers' readers)
    for name in ("nginx_combined.log", "nginx_rotated.log.2.gz"):
        result = CliRunner().invoke(cli, [str(SAMPLE_LOGS / name), "--workers", "2"])
        assert result.exit_code != 0
        assert result.output.startswith("Error: ")
        assert result.output.count("\n") == 1
        assert "native kernel failed: a test of the panic guard" in result.output


@needs_native
def test_a_compressed_stream_read_by_shared_readers(tmp_path: Path) -> None:
    """A gzip log is inflated by one thread and its blocks parsed by one reader per worker
    (native kernel): the Summary is the Arrow kernel's, with small blocks and several workers."""
    from oracle import summarize_with

    packed = tmp_path / "many.log.gz"
    packed.write_bytes(gzip.compress(_corpus(SAMPLE_LOGS / "nginx_combined.log") * 20))
    got = {}
    for name in ("arrow", "native"):
        with kernel(name):
            got[name] = summarize_with(str(packed), block_size=4096, workers=3)
    assert got["native"] == got["arrow"]
    assert got["native"].requests > 1000
