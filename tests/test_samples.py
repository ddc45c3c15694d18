"""The committed sample logs agree exactly with their ground-truth manifests.

`sample_logs/record.py` recorded every log from real Apache httpd and NGINX servers and wrote,
beside each log, one manifest row per request it sent (in send order, and line N of a log is
row N of its manifest). These tests read each log into a frame with the canonical columns of
DESIGN.md section 2 (`analyzer.read_log` once it exists, else a small exact parser below) and
compare it with the manifest. `test_live.py` runs the same checks on a fresh recording.

Manifest text columns hold the bytes sent, escaped with Python's ``unicode_escape``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import importlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"
HOSTS = ("www.example.test", "static.example.test")
DEFAULT_HOST = "www.example.test"
ROTATED_SET = ("nginx_rotated.log.2.gz", "nginx_rotated.log.1", "nginx_rotated.log")

# Requests per (logged status, logged method) for the fixed request mix; "-" = no method
# (request line not logged, or not HTTP). The same for every recording, quick or full.
EXPECTED_COUNTS: dict[str, dict[tuple[int, str], int]] = {
    "apache": {
        (200, "GET"): 229,
        (200, "HEAD"): 24,
        (200, "OPTIONS"): 3,
        (200, "PATCH"): 5,
        (200, "POST"): 1,
        (200, "PUT"): 4,
        (200, "TRACE"): 1,
        (201, "POST"): 14,
        (204, "OPTIONS"): 1,
        (204, "POST"): 19,
        (400, "-"): 2,
        (400, "CONNECT"): 1,
        (400, "GET"): 10,
        (400, "POST"): 2,
        (400, "PRI"): 1,
        (400, "PUT"): 1,
        (404, "GET"): 17,
        (404, "HEAD"): 4,
        (404, "POST"): 5,
        (405, "CONNECT"): 1,
        (405, "DELETE"): 3,
        (405, "MKCOL"): 1,
        (405, "PATCH"): 2,
        (405, "PROPFIND"): 2,
        (405, "PUT"): 2,
        (405, "TRACE"): 1,
        (408, "-"): 3,
        (414, "GET"): 1,
        (417, "GET"): 1,
        (500, "POST"): 1,
        (501, "DEBUG"): 1,
        (501, "DELETE"): 1,
        (501, "FOO"): 4,
        (501, "GET2"): 1,
        (501, "PATCH"): 6,
        (501, "PROPFIND"): 1,
        (501, "SEARCH"): 1,
        (501, "TRACE"): 1,
        (501, "TRACK"): 1,
        (501, "get"): 1,
    },
    "nginx": {
        (200, "GET"): 228,
        (200, "HEAD"): 24,
        (200, "PATCH"): 5,
        (200, "PUT"): 4,
        (201, "POST"): 13,
        (204, "OPTIONS"): 1,
        (204, "POST"): 19,
        (400, "-"): 3,
        (400, "CONNECT"): 1,
        (400, "GET"): 9,
        (400, "GET2"): 1,
        (400, "OPTIONS"): 1,
        (400, "POST"): 2,
        (400, "PRI"): 1,
        (400, "get"): 1,
        (404, "GET"): 16,
        (404, "HEAD"): 3,
        (404, "POST"): 3,
        (405, "CONNECT"): 1,
        (405, "DEBUG"): 1,
        (405, "DELETE"): 3,
        (405, "FOO"): 3,
        (405, "MKCOL"): 1,
        (405, "OPTIONS"): 2,
        (405, "PATCH"): 2,
        (405, "PROPFIND"): 2,
        (405, "PUT"): 2,
        (405, "SEARCH"): 1,
        (405, "TRACE"): 3,
        (405, "TRACK"): 1,
        (408, "-"): 1,
        (408, "GET"): 1,
        (414, "GET"): 1,
        (444, "GET"): 1,
        (444, "HEAD"): 1,
        (444, "POST"): 2,
        (501, "DELETE"): 1,
        (501, "FOO"): 1,
        (501, "PATCH"): 6,
        (501, "POST"): 3,
        (501, "PROPFIND"): 1,
        (501, "PUT"): 1,
        (505, "GET"): 3,
    },
}

# Rows whose logged request line is not the line sent: "missing" = Apache logged "-" (408);
# "prefix" = the server logged the start of the line (Apache: rebuilt after a parse error or
# cut at a NUL byte; both: a 414 line cut at the buffer size).
EXPECTED_REQUEST_DIFFS: dict[str, dict[str, int]] = {
    "apache": {"missing": 3, "prefix": 3},
    "nginx": {"prefix": 1},
}

# Rows where a User-Agent was sent but the server logged none (it rejected the request
# before reading the headers).
EXPECTED_UA_DROPPED: dict[str, int] = {"apache": 8, "nginx": 16}

# 405 and 501 answers: (status, method, Allow header as logged: sorted methods, "" when the
# header was empty, None when absent).
EXPECTED_ALLOW: dict[str, dict[tuple[int, str, str | None], int]] = {
    "apache": {
        (405, "CONNECT", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (405, "DELETE", "GET,HEAD,OPTIONS,POST,TRACE"): 2,
        (405, "DELETE", "GET,HEAD,PATCH,PUT"): 1,
        (405, "MKCOL", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (405, "PATCH", "GET,HEAD,OPTIONS,POST"): 1,
        (405, "PATCH", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (405, "PROPFIND", "GET,HEAD,OPTIONS,POST"): 1,
        (405, "PROPFIND", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (405, "PUT", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (405, "PUT", "GET,HEAD,POST"): 1,
        (405, "TRACE", ""): 1,
        (501, "DEBUG", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (501, "DELETE", None): 1,
        (501, "FOO", "GET,HEAD,OPTIONS,POST"): 1,
        (501, "FOO", "GET,HEAD,OPTIONS,POST,TRACE"): 2,
        (501, "FOO", None): 1,
        (501, "GET2", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (501, "PATCH", None): 6,
        (501, "PROPFIND", None): 1,
        (501, "SEARCH", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (501, "TRACE", None): 1,
        (501, "TRACK", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
        (501, "get", "GET,HEAD,OPTIONS,POST,TRACE"): 1,
    },
    "nginx": {
        (405, "CONNECT", None): 1,
        (405, "DEBUG", None): 1,
        (405, "DELETE", "GET,HEAD,PATCH,PUT"): 1,
        (405, "DELETE", None): 2,
        (405, "FOO", None): 3,
        (405, "MKCOL", None): 1,
        (405, "OPTIONS", None): 2,
        (405, "PATCH", None): 2,
        (405, "PROPFIND", None): 2,
        (405, "PUT", "GET,HEAD,POST"): 1,
        (405, "PUT", None): 1,
        (405, "SEARCH", None): 1,
        (405, "TRACE", None): 3,
        (405, "TRACK", None): 1,
        (501, "DELETE", None): 1,
        (501, "FOO", None): 1,
        (501, "PATCH", None): 6,
        (501, "POST", None): 3,
        (501, "PROPFIND", None): 1,
        (501, "PUT", None): 1,
    },
}


# ---------------------------------------------------------------------------------------------
# Reading samples
# ---------------------------------------------------------------------------------------------


def load_formats(directory: Path) -> dict[str, dict[str, object]]:
    return json.loads((directory / "formats.json").read_text())


def read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="ascii") as fh:
        return list(csv.DictReader(fh))


def unescape_manifest(value: str) -> bytes:
    """Manifest text (``unicode_escape`` of Latin-1) back to the bytes sent."""
    return codecs.decode(value, "unicode_escape").encode("latin-1")


def read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


# ---------------------------------------------------------------------------------------------
# A small, exact parser for the formats the recorder uses (stands in for analyzer.read_log)
# ---------------------------------------------------------------------------------------------

QUOTED = r'(?:[^"\\]|\\.)*'
DIRECTIVES: dict[str, tuple[str, str | None]] = {
    # Apache mod_log_config
    "%v": (r"[^\s:]+", "vhost"),
    "%p": (r"\d+", "port"),
    "%h": (r"\S+", "client"),
    "%l": (r"\S+", None),
    "%u": (r"\S+", "user"),
    "%t": (r"\[[^\]]+\]", "time"),
    "%r": (QUOTED, "request"),
    "%>s": (r"\d{3}", "status"),
    "%O": (r"\d+|-", "bytes"),
    "%{Referer}i": (QUOTED, "referer"),
    "%{User-Agent}i": (QUOTED, "user_agent"),
    "%D": (r"\d+", "duration"),
    "%{Allow}o": (QUOTED, "allow"),
    # NGINX ngx_http_log_module
    "$remote_addr": (r"\S+", "client"),
    "$remote_user": (r"\S+", "user"),
    "$time_local": (r"[^\]]+", "time"),
    "$request": (QUOTED, "request"),
    "$status": (r"\d{3}", "status"),
    "$body_bytes_sent": (r"\d+", "bytes"),
    "$http_referer": (QUOTED, "referer"),
    "$http_user_agent": (QUOTED, "user_agent"),
    "$request_time": (r"\d+\.\d{3}", "duration"),
    "$host": (r"\S+", "vhost"),
    "$sent_http_allow": (QUOTED, "allow"),
}
DIRECTIVE = re.compile("|".join(re.escape(d) for d in sorted(DIRECTIVES, key=len, reverse=True)))


def compile_format(fmt: str) -> re.Pattern[str]:
    parts: list[str] = []
    pos = 0
    for match in DIRECTIVE.finditer(fmt):
        parts.append(re.escape(fmt[pos : match.start()]))
        pattern, name = DIRECTIVES[match.group()]
        parts.append(f"(?P<{name}>{pattern})" if name else f"(?:{pattern})")
        pos = match.end()
    parts.append(re.escape(fmt[pos:]))
    return re.compile("".join(parts))


APACHE_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|.)")
APACHE_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "v": "\v"}
NGINX_ESCAPE = re.compile(r"\\x([0-9A-F]{2})")


def unescape_apache(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("x") and len(code) == 3:
            return chr(int(code[1:], 16))
        return APACHE_SIMPLE.get(code, code)

    return APACHE_ESCAPE.sub(one, text)


def unescape_nginx(text: str) -> str:
    return NGINX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
WELL_FORMED_PROTOCOL = re.compile(r"HTTP/\d\.\d")


def split_request(request: str | None) -> tuple[str | None, str | None, str | None]:
    """Method, target, protocol; None for a part the line does not have."""
    if not request:
        return None, None, None
    words = request.split(" ")
    if len(words) < 2 or not TOKEN.fullmatch(words[0]):
        return None, None, None
    if len(words) == 2:
        return words[0], words[1], None
    return words[0], " ".join(words[1:-1]), words[-1]


def local_read_log(path: Path, log_format: str) -> pd.DataFrame:
    """Parse a log written by the recorder into the canonical frame (exact or fail)."""
    pattern = compile_format(log_format)
    unescape = unescape_nginx if "$" in log_format else unescape_apache
    records = []
    lines = read_bytes(path).decode("latin-1").split("\n")
    assert lines[-1] == "", f"{path.name}: no newline at the end"
    for number, line in enumerate(lines[:-1], start=1):
        match = pattern.fullmatch(line)
        assert match, f"{path.name}:{number}: does not match the format: {line[:200]!r}"
        fields = match.groupdict()
        stamp = fields["time"].strip("[]")
        record: dict[str, object] = {
            "line": number,
            "client": fields["client"],
            "time": datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC),
            "status": int(fields["status"]),
        }
        for name in ("request", "user_agent", "referer", "allow"):
            if name in fields:
                value = fields[name]
                record[name] = None if value == "-" else unescape(value)
        if "vhost" in fields:
            record["vhost"] = fields["vhost"]
        if "port" in fields:
            record["port"] = int(fields["port"])
        method, target, protocol = split_request(record["request"])  # type: ignore[arg-type]
        record.update(method=method, target=target, protocol=protocol)
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    frame["status"] = frame["status"].astype("int16")
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def project_reader() -> Callable[..., pd.DataFrame] | None:
    """`analyzer.read_log` when the project parser exists, else None."""
    try:
        analyzer = importlib.import_module("analyzer")
    except ImportError:
        return None
    return getattr(analyzer, "read_log", None)


def read_frame(path: Path, log_format: str, parser: str = "project") -> pd.DataFrame:
    """The project parser when it exists (unless parser="local"), else the local one."""
    reader = project_reader() if parser == "project" else None
    if reader is not None:
        return reader(path, log_format=log_format)
    return local_read_log(path, log_format)


# ---------------------------------------------------------------------------------------------
# Comparing a frame with its manifest
# ---------------------------------------------------------------------------------------------


def value(frame_value: object) -> object:
    """None for missing values and for a logged "-"."""
    if frame_value is None or frame_value is pd.NA:
        return None
    if isinstance(frame_value, float) and pd.isna(frame_value):
        return None
    if frame_value == "-":
        return None
    return frame_value


def text_forms(data: bytes) -> set[str]:
    """Ways a parser may turn logged bytes into text (all equal for ASCII)."""
    return {
        data.decode("latin-1"),
        data.decode("utf-8", "replace"),
        data.decode("utf-8", "surrogateescape"),
        data.decode("utf-8", "backslashreplace"),
    }


def same_text(logged: object, sent: bytes) -> bool:
    return isinstance(logged, str) and logged in text_forms(sent)


def text_prefix(logged: object, sent: bytes) -> bool:
    return isinstance(logged, str) and any(form.startswith(logged) for form in text_forms(sent))


@dataclass
class Comparison:
    """What one log showed beyond per-row equality, for the exact count tables."""

    counts: Counter[tuple[int, str]]
    request_diffs: Counter[str]
    ua_dropped: int
    allow: Counter[tuple[int, str, str | None]]


def allow_key(allow: object) -> str | None:
    if allow is None:
        return None
    methods = [m.strip() for m in str(allow).split(",") if m.strip()]
    return ",".join(sorted(methods))


def compare(frame: pd.DataFrame, rows: list[dict[str, str]], server: str) -> Comparison:
    """Assert that every log line matches its manifest row; return the tallies."""
    assert len(frame) == len(rows), f"{len(frame)} log lines for {len(rows)} manifest rows"
    assert list(frame["line"]) == list(range(1, len(rows) + 1))
    result = Comparison(Counter(), Counter(), 0, Counter())
    for line, row in zip(frame.to_dict("records"), rows, strict=True):
        where = f"line {line['line']} (seq {row['seq']}: {row['raw_request_line'][:60]!r})"
        status = int(line["status"])
        assert row["server"] == server, where
        assert line["client"] == row["client_addr"], where
        if row["client_status"]:
            assert status == int(row["client_status"]), where
        request = value(line["request"])
        sent_line = unescape_manifest(row["raw_request_line"])
        if not same_text(request, sent_line):
            kind = _request_diff(request, sent_line, status, server)
            assert kind, f"{where}: logged request {request!r}"
            result.request_diffs[kind] += 1
        method = value(line["method"])
        if request is not None and same_text(request, sent_line) and row["method"]:
            assert same_text(method, unescape_manifest(row["method"])), where
            if not row["protocol"] or WELL_FORMED_PROTOCOL.fullmatch(row["protocol"]):
                # the line is "METHOD TARGET" or "METHOD TARGET HTTP/d.d": it splits one way
                assert same_text(value(line["target"]), unescape_manifest(row["target"])), where
                assert value(line["protocol"]) == (row["protocol"] or None), where
        elif not row["method"]:
            assert method is None, f"{where}: method {method!r} in a non-HTTP line"
        result.counts[(status, method or "-")] += 1
        ua_dropped = _check_user_agent(value(line["user_agent"]), row, status, where)
        result.ua_dropped += ua_dropped
        if "port" in line:
            # %p is the canonical port: no Host header carried a port, UseCanonicalName is Off
            assert int(line["port"]) == 80, where
        if "vhost" in line:
            expected = _expected_vhost(row, server, headers_read=not ua_dropped)
            assert line["vhost"] == expected, f"{where}: vhost {line['vhost']!r}"
        if "allow" in line and status in (405, 501):
            result.allow[(status, method or "-", allow_key(value(line["allow"])))] += 1
        _check_time(line["time"], row, where)
    return result


def _request_diff(request: object, sent: bytes, status: int, server: str) -> str:
    """Name the documented way a logged request line may differ from the line sent."""
    if server == "apache" and request is None and status == 408:
        return "missing"
    prefix_statuses = (400, 414) if server == "apache" else (414,)
    if status in prefix_statuses and request and text_prefix(request, sent):
        return "prefix"
    return ""


def _check_user_agent(logged: object, row: dict[str, str], status: int, where: str) -> int:
    sent = unescape_manifest(row["user_agent"])
    if not sent:
        assert logged is None, f"{where}: user agent {logged!r} though none was sent"
        return 0
    if logged is None:
        assert status in (400, 408, 414, 505), f"{where}: user agent missing"
        return 1
    assert same_text(logged, sent), f"{where}: user agent {logged!r}"
    return 0


def _expected_vhost(row: dict[str, str], server: str, headers_read: bool) -> str:
    host = codecs.decode(row["vhost"], "unicode_escape")
    if not headers_read or not host:
        return DEFAULT_HOST
    if server == "apache":
        return host if host in HOSTS else DEFAULT_HOST
    return host.split(":")[0].lower()


def _check_time(logged: object, row: dict[str, str], where: str) -> None:
    sent = datetime.fromisoformat(row["sent_at"].replace("Z", "+00:00"))
    stamp = pd.Timestamp(logged).to_pydatetime()
    assert stamp.tzinfo is not None, where
    # Logs have whole seconds; a 408 is logged after the server's 2 s timeout.
    assert sent - timedelta(seconds=1) < stamp < sent + timedelta(seconds=5), where


def check_log(directory: Path, name: str, parser: str = "project") -> Comparison:
    formats = load_formats(directory)
    entry = formats[name]
    frame = read_frame(directory / name, str(entry["format"]), parser)
    rows = read_manifest(directory / f"{name}.manifest.csv")
    assert entry["extra_lines"] == []
    return compare(frame, rows, str(entry["server"]))


def merged(comparisons: Iterable[Comparison]) -> Comparison:
    total = Comparison(Counter(), Counter(), 0, Counter())
    for part in comparisons:
        total.counts += part.counts
        total.request_diffs += part.request_diffs
        total.ua_dropped += part.ua_dropped
        total.allow += part.allow
    return total


def check_directory(directory: Path, parser: str = "project") -> dict[str, Comparison]:
    """Run every check on a recording; returns the comparison per log for further asserts."""
    formats = load_formats(directory)
    results = {name: check_log(directory, name, parser) for name in formats}
    rotated = merged(results[name] for name in ROTATED_SET)
    for name, result in [*results.items(), ("rotated set", rotated)]:
        if name in ROTATED_SET:
            continue
        server = "apache" if name.startswith("apache") else "nginx"
        assert dict(result.counts) == EXPECTED_COUNTS[server], name
        assert dict(result.request_diffs) == EXPECTED_REQUEST_DIFFS[server], name
        assert result.ua_dropped == EXPECTED_UA_DROPPED[server], name
        if result.allow:
            assert dict(result.allow) == EXPECTED_ALLOW[server], name
    joined = b"".join(read_bytes(directory / name) for name in ROTATED_SET)
    assert joined == read_bytes(directory / "nginx_combined.log")
    return results


# ---------------------------------------------------------------------------------------------
# Tests on the committed samples
# ---------------------------------------------------------------------------------------------

COMMITTED = sorted(load_formats(SAMPLES)) if (SAMPLES / "formats.json").exists() else []


def test_formats_json_lists_every_log() -> None:
    logs = {
        p.name
        for p in SAMPLES.iterdir()
        if ".log" in p.name and not p.name.endswith(".manifest.csv")
    }
    assert logs == set(COMMITTED)
    assert len(COMMITTED) == 6
    for name in COMMITTED:
        assert (SAMPLES / f"{name}.manifest.csv").is_file()
        assert (SAMPLES / name).stat().st_size < 1_000_000


@pytest.mark.parametrize("name", COMMITTED)
def test_log_matches_manifest(name: str) -> None:
    """With `analyzer.read_log` when it exists, else with the local parser."""
    check_log(SAMPLES, name)


@pytest.mark.parametrize("name", COMMITTED)
def test_log_matches_manifest_with_local_parser(name: str) -> None:
    """The manifests and the local parser agree on their own (independent of the project)."""
    check_log(SAMPLES, name, parser="local")


def test_counts_by_status_and_method() -> None:
    check_directory(SAMPLES)


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_recording_spans_three_minutes(name: str) -> None:
    rows = read_manifest(SAMPLES / f"{name}.manifest.csv")
    if name in ROTATED_SET:
        rows = read_manifest(SAMPLES / "nginx_combined.log.manifest.csv")
    first, last = (datetime.fromisoformat(rows[i]["sent_at"]) for i in (0, -1))
    assert last - first >= timedelta(minutes=3)


def test_manifest_sequence_numbers_continue_across_the_rotated_set() -> None:
    seqs = [
        int(row["seq"])
        for name in ROTATED_SET
        for row in read_manifest(SAMPLES / f"{name}.manifest.csv")
    ]
    assert seqs == list(range(1, len(seqs) + 1))
    combined = read_manifest(SAMPLES / "nginx_combined.log.manifest.csv")
    assert len(seqs) == len(combined)


def test_local_parser_unescapes_server_escapes() -> None:
    assert unescape_apache(r"a\"b\\c\x16\n") == 'a"b\\c\x16\n'
    assert unescape_nginx(r"a\x22b\x5Cc\x16") == 'a"b\\c\x16'
    assert split_request("GET /has space.html HTTP/1.1") == ("GET", "/has space.html", "HTTP/1.1")
    assert split_request("GET /") == ("GET", "/", None)
    assert split_request("\x16\x03\x01") == (None, None, None)
