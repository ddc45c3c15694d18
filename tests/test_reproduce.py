"""Reproduction commands: the right method, host and target, and nothing a shell would run."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.advice.reproduce import (
    endpoint,
    is_safe_method,
    method_commands,
    reproduce,
    reproduce_steps,
    version_commands,
    version_steps,
)

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def verdict(kind: str, method: str | None, target: str, **extra: object) -> dict[str, object]:
    return {
        "vhost": "www.example.test",
        "method": method,
        "verdict": kind,
        "examples": [{"source": "access.log", "line": 7, "target": target}],
        **extra,
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            verdict("capability_gap", "FOO", "/nonexistent.html"),
            [
                "curl -i -X OPTIONS http://www.example.test/nonexistent.html",
                "curl -i -X FOO http://www.example.test/logscan-missing/nothing",
                "curl -i -X GET http://www.example.test/nonexistent.html",
                "curl -i -X FOO http://www.example.test/nonexistent.html",
            ],
        ),
        (
            verdict("partial_implementation", "PATCH", "/api/legacy/orders/9",
                    succeeded=["PUT", "PATCH"]),
            [
                "curl -i -X OPTIONS http://www.example.test/api/legacy/orders/9",
                "curl -i -X PATCH http://www.example.test/api/legacy/orders/logscan-missing/nothing",
                "printf 'PATCH /api/legacy/orders/logscan-missing/nothing HTTP/1.1\\r\\n"
                "Host: www.example.test\\r\\n"
                "Transfer-Encoding: gzip, chunked\\r\\n\\r\\n0\\r\\n\\r\\n' "
                "| nc www.example.test 80",
                # PUT worked here but is not safe: the comparison uses GET
                "curl -i -X GET http://www.example.test/api/legacy/orders/9",
                "curl -i -X PATCH http://www.example.test/api/legacy/orders/9",
            ],
        ),
        (
            verdict("resource_restriction", "PUT", "/index.html",
                    succeeded={"on_target": ["HEAD"], "on_vhost": ["GET", "PUT"]}),
            [
                "curl -i -X OPTIONS http://www.example.test/index.html",
                "curl -i -X PUT http://www.example.test/logscan-missing/nothing",
                "curl -i --head http://www.example.test/index.html",
                "curl -i -X PUT http://www.example.test/index.html",
            ],
        ),
        (
            {**verdict("never_allowed", "PROPFIND", "/"), "vhost": "static.example.test"},
            [
                "curl -i -X PROPFIND http://static.example.test/",
                "curl -i -X GET http://static.example.test/",
            ],
        ),
        (
            {"vhost": "www.example.test", "protocol": "HTTP/2.0",
             "verdict": "version_not_supported",
             "examples": [{"source": "a", "line": 3, "method": "GET", "target": "/about.html",
                           "request": "GET /about.html HTTP/2.0"}]},
            [
                "curl -i --http1.1 -X GET http://www.example.test/about.html",
                "printf 'GET /about.html HTTP/2.0\\r\\nHost: www.example.test\\r\\n"
                "Connection: close\\r\\n\\r\\n' | nc www.example.test 80",
            ],
        ),
    ],
    ids=["capability_gap", "partial_implementation", "resource_restriction", "never_allowed",
         "version_not_supported"],
)
def test_each_verdict_type(given: dict[str, object], expected: list[str]) -> None:
    assert reproduce(given) == expected


def test_verdict_as_dataclass_with_evidence() -> None:
    from dataclasses import dataclass, field

    @dataclass(frozen=True)
    class Evidence:
        examples: tuple[dict[str, object], ...] = ()
        resources: tuple[dict[str, object], ...] = ()

    @dataclass(frozen=True)
    class Verdict:
        vhost: str | None
        method: str
        verdict: str
        evidence: Evidence = field(default_factory=Evidence)

    got = reproduce(Verdict(None, "DELETE", "never_allowed",
                            Evidence(resources=({"resource": "/nope.html", "count": 2},))))
    assert got == ["curl -i -X OPTIONS http://localhost/nope.html",
                   "curl -i -X DELETE http://localhost/logscan-missing/nothing",
                   "curl -i -X GET http://localhost/nope.html",
                   "curl -i -X DELETE http://localhost/nope.html"]


def test_base_url_keeps_the_vhost_as_host_header() -> None:
    got = reproduce(verdict("never_allowed", "MKCOL", "/uploads/"),
                    base_url="https://10.0.0.5:8443/")
    assert got[-1] == ("curl -i -X MKCOL -H 'Host: www.example.test' "
                       "https://10.0.0.5:8443/uploads/")
    assert version_commands("HTTP/3.0", base_url="https://10.0.0.5")[1] == (
        "printf 'GET / HTTP/3.0\\r\\nHost: 10.0.0.5\\r\\nConnection: close\\r\\n\\r\\n' "
        "| openssl s_client -quiet -connect 10.0.0.5:443 -servername 10.0.0.5"
    )


def test_port_from_the_log() -> None:
    assert endpoint("www.example.test", port=8080).origin == "http://www.example.test:8080"
    assert endpoint("www.example.test", port=443).origin == "https://www.example.test"
    assert endpoint("www.example.test:81").origin == "http://www.example.test:81"
    with pytest.raises(ValueError, match="expected http://HOST"):
        endpoint(None, base_url="ftp://x")


def test_non_origin_targets_use_request_target() -> None:
    assert method_commands("CONNECT", "example.org:443") == [
        "curl -i -X OPTIONS http://localhost/",
        "curl -i -X CONNECT --request-target logscan-missing.invalid:443 http://localhost/",
        "curl -i -X GET http://localhost/",
        "curl -i -X CONNECT --request-target example.org:443 http://localhost/",
    ]
    assert method_commands("OPTIONS", "*")[0] == (
        "curl -i -X OPTIONS --request-target '*' http://localhost/"
    )
    assert method_commands("GET", "/a/../../etc/passwd")[0] == (
        "curl -i --path-as-is -X GET http://localhost/a/../../etc/passwd"
    )
    assert method_commands("GET", "/q?a[]=1")[0] == (
        "curl -i --globoff -X GET 'http://localhost/q?a[]=1'"
    )


def test_http09_request_line_has_no_version_and_no_headers() -> None:
    assert version_commands(None, target="/x") == [
        "curl -i --http1.1 -X GET http://localhost/x",
        "printf 'GET /x\\r\\n' | nc localhost 80",
    ]


HOSTILE = "/$(rm -rf ~);x"


def test_hostile_target_is_quoted() -> None:
    commands = reproduce(verdict("capability_gap", "FOO", HOSTILE))
    assert commands[-1] == "curl -i -X FOO 'http://www.example.test/$(rm%20-rf%20~);x'"
    assert shlex.split(commands[-1]) == [
        "curl", "-i", "-X", "FOO", "http://www.example.test/$(rm%20-rf%20~);x",
    ]
    for command in (commands[0], *commands[2:]):  # [1]: the missing path, in the same dir
        assert "'http://www.example.test/$(rm%20-rf%20~);x'" in command


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    "target",
    [HOSTILE, "/x | rm y", "/';touch /tmp/logscan-pwned;'", '/"`id`"',
     "/a\nb\r\x1b[31m\u202e", "/%s%n\\x"],
)
def test_a_shell_runs_nothing(target: str) -> None:
    """Run each command in bash with curl, printf and nc replaced by functions that print their
    arguments: the shell must pass the hostile text through as one argument, and run nothing."""
    commands = method_commands("PUT", target, transfer_encoding=True)
    commands += version_commands("HTTP/2.0", method="GET", target=target)
    for command in commands:
        assert not UNSAFE.search(command)
        script = (
            "curl() { builtin printf '<%s>' \"$@\"; }; nc() { builtin printf '<%s>' \"$@\"; }; "
            "printf() { builtin printf '<%s>' \"$@\"; }; " + "; ".join(command.rsplit(" | ", 1))
        )
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                             check=True).stdout
        words = [w for part in command.rsplit(" | ", 1) for w in shlex.split(part)]
        assert out == "".join(f"<{w}>" for w in words if w not in ("curl", "printf", "nc"))


def test_raw_request_line_sends_the_exact_bytes() -> None:
    command = version_commands("HTTP/2.0", request="GET /a%b\\c\x16\u00e9 HTTP/2.0")[1]
    assert not UNSAFE.search(command)
    fmt = shlex.split(command.rsplit(" | ", 1)[0])[1]
    sent = subprocess.run(["bash", "-c", 'printf "$0"', fmt], capture_output=True,
                          check=True).stdout
    assert sent == ("GET /a%b\\c\x16\u00e9 HTTP/2.0\r\nHost: localhost\r\n"
                    "Connection: close\r\n\r\n").encode()


def test_hostile_method_and_vhost() -> None:
    got = method_commands("FOO;id\x1b", "/", vhost="evil.test;rm -rf /")
    assert got[-1] == "curl -i -X 'FOO;id' http://localhost/"
    assert method_commands("\x00\x01", "/") == []


@settings(max_examples=300, deadline=None)
@given(target=st.text(min_size=1, max_size=40), method=st.text(min_size=1, max_size=8))
def test_any_log_value_gives_safe_commands(target: str, method: str) -> None:
    for command in (method_commands(method, target, transfer_encoding=True)
                    + version_commands("HTTP/2.0", method=method, target=target)):
        assert not UNSAFE.search(command)
        for part in command.rsplit(" | ", 1):
            shlex.split(part)  # well formed: every quote closed


def test_the_same_method_where_it_succeeded() -> None:
    given = verdict("partial_implementation", "PATCH", "/api/legacy/orders/9",
                    success_examples=[{"source": "a", "line": 1, "status": 200,
                                       "target": "/api/items/31"}])
    assert reproduce(given)[-3:] == [
        "curl -i -X GET http://www.example.test/api/legacy/orders/9",
        "curl -i -X PATCH http://www.example.test/api/legacy/orders/9",
        "curl -i -X PATCH http://www.example.test/api/items/31",
    ]
    assert reproduce(given, working=["HEAD"])[-3] == (
        "curl -i --head http://www.example.test/api/legacy/orders/9"
    )


def test_no_protocol_is_an_http09_request() -> None:
    got = reproduce({"protocol": "-", "examples": [{"target": "/", "status": 200}]})
    assert got[1] == "printf 'GET /\\r\\n' | nc localhost 80"


def test_commands_say_whether_they_are_safe() -> None:
    steps = reproduce_steps(verdict("never_allowed", "MKCOL", "/uploads/?a=1"))
    assert [(s.command, s.safe) for s in steps] == [
        ("curl -i -X OPTIONS 'http://www.example.test/uploads/?a=1'", True),
        ("curl -i -X MKCOL http://www.example.test/uploads/logscan-missing/nothing", True),
        ("curl -i -X GET 'http://www.example.test/uploads/?a=1'", True),
        ("curl -i -X MKCOL 'http://www.example.test/uploads/?a=1'", False),
    ]
    assert steps[1].why.startswith("MKCOL on a path that does not exist")
    assert "only the real resource shows its own 405 and Allow" in steps[1].why
    assert steps[-1].to_dict() == {"command": steps[-1].command, "safe": False,
                                   "why": steps[-1].why}
    assert str(steps[-1]) == steps[-1].command
    assert [s.safe for s in reproduce_steps(verdict("never_allowed", "PROPFIND", "/"))] == [
        True, True]


def test_a_logged_unsafe_request_line_comes_last_after_the_same_line_with_get() -> None:
    steps = version_steps("HTTP/2.0", request="DELETE /a HTTP/2.0")
    assert [(s.command, s.safe) for s in steps] == [
        ("curl -i --http1.1 -X GET http://localhost/", True),
        ("printf 'GET /a HTTP/2.0\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' "
         "| nc localhost 80", True),
        ("printf 'DELETE /a HTTP/2.0\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' "
         "| nc localhost 80", False),
    ]


@pytest.mark.parametrize(("method", "safe"), [
    ("GET", True), ("HEAD", True), ("OPTIONS", True), ("TRACE", True), ("PROPFIND", True),
    ("SEARCH", True), ("REPORT", True), ("QUERY", True), ("get", False), ("POST", False),
    ("PUT", False), ("PATCH", False), ("DELETE", False), ("PROPPATCH", False), ("MKCOL", False),
    ("COPY", False), ("MOVE", False), ("LOCK", False), ("UNLOCK", False), ("CONNECT", False),
    ("FOO", False),
])
def test_safe_methods(method: str, safe: bool) -> None:
    assert is_safe_method(method) is safe
