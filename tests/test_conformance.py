"""Conformance: the lines of Filebeat's apache and nginx module tests, parsed by logscan and
compared with Filebeat's expected fields, field by field (``../shared/conformance``).

Representations are aligned first (Filebeat writes "-" where logscan has null, ``1.1`` for
``HTTP/1.1``, times as ISO strings); the differences that remain are listed in ``KNOWN``, each
with its reason (the conformance README names them). Any other difference fails.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from paths import CONFORMANCE

import analyzer
import analyzer.frame

pytestmark = pytest.mark.skipif(not CONFORMANCE.is_dir(),
                                reason="../shared/conformance is not beside the checkout")

# Filebeat's field -> logscan's column
FIELDS = {
    "@timestamp": "time", "source.address": "client", "source.ip": "client",
    "http.request.method": "method", "url.original": "target", "http.version": "protocol",
    "http.response.status_code": "status", "http.response.body.bytes": "bytes",
    "user.name": "user", "user_agent.original": "user_agent",
    "http.request.referrer": "referer", "apache.access.ssl.cipher": "ssl_cipher",
    "apache.access.ssl.protocol": "ssl_protocol", "destination.domain": "vhost",
}
_NGINX_TEST = "filebeat/module/nginx/access/test/test.log"
KNOWN: dict[tuple[str, str], str] = {
    # an address list where the format has one $remote_addr: NGINX cannot write such a line
    # with that format, so logscan rejects it; Filebeat's grok takes the list
    **{(f"{_NGINX_TEST}#{n}", "line"): "rejected: an address list for $remote_addr"
       for n in (1, 3, 10)},
    # X-Forwarded-For logged before $remote_addr: Filebeat reports the first public address
    # of the list as the client, logscan the connection's address ($remote_addr)
    (f"{_NGINX_TEST}#5", "source.address"): "client is $remote_addr, not the XFF list",
    (f"{_NGINX_TEST}#6", "source.address"): "client is $remote_addr, not the XFF list",
}


def cases() -> list[Any]:
    if not CONFORMANCE.is_dir():
        return []
    found = []
    for name in ("beats_apache.json", "beats_nginx.json"):
        for case in json.loads((CONFORMANCE / name).read_text())["cases"]:
            found.append(pytest.param(case, id=case["id"].rsplit("/", 1)[-1]))
    return found


def _peer(field: str, value: Any) -> Any:
    if value == "-":
        return None
    if field == "@timestamp":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if field == "http.version":
        return f"HTTP/{value}"
    return value


def _ours(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def differences(case: dict[str, Any], tmp_path: Path) -> dict[str, tuple[Any, Any]]:
    log = tmp_path / "case.log"
    log.write_bytes((case["line"] + case["eol"]).encode())
    parsed = analyzer.frame.parse_log(log, log_format=case["format"])
    if parsed.frame.empty:
        return {"line": ("parsed", parsed.rejects["reason"].tolist())}
    row = parsed.frame.iloc[0].to_dict()
    found = {}
    for field, value in case["peer"].items():
        if field not in FIELDS:
            continue
        ours, theirs = _ours(row.get(FIELDS[field])), _peer(field, value)
        if ours != theirs:
            found[field] = (theirs, ours)
    return found


@pytest.mark.parametrize("case", cases())
def test_field_by_field(case, tmp_path):
    found = differences(case, tmp_path)
    known = {field for (cid, field) in KNOWN if cid == case["id"]}
    assert set(found) == known, found
    compared = [f for f in case["peer"] if f in FIELDS]
    assert compared, "nothing to compare"


def test_every_case_is_read_and_the_known_differences_are_few(tmp_path):
    all_cases = [p.values[0] for p in cases()]
    assert len(all_cases) == 37
    fields = sum(len([f for f in c["peer"] if f in FIELDS]) for c in all_cases)
    assert len(KNOWN) == 5 and fields > 250
