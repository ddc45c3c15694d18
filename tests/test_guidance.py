"""Fix guidance: one data table keyed by (server, verdict), specific to the server."""

from __future__ import annotations

import re

import pytest

from analyzer.advice.guidance import (
    GUIDANCE,
    SERVERS,
    VERDICTS,
    Guidance,
    guidance_dict,
    guidance_for,
)

METHOD_VERDICTS = ("capability_gap", "partial_implementation", "resource_restriction",
                   "never_allowed")


def test_table_is_complete_and_unique() -> None:
    keys = [(g.server, g.verdict, g.method) for g in GUIDANCE]
    assert len(keys) == len(set(keys))
    for server in SERVERS:
        for verdict in VERDICTS:
            assert (server, verdict, None) in keys
    for g in GUIDANCE:
        assert g.title and g.why and g.snippet
        assert g.rfc.startswith("RFC 911")
        assert "\t" not in g.snippet
        assert all(len(line) <= 100 for line in g.snippet.splitlines())


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("verdict", [*METHOD_VERDICTS, "version_not_supported"])
def test_every_verdict_has_guidance_per_server(server: str, verdict: str) -> None:
    got = guidance_for(server, verdict, "PATCH")
    assert isinstance(got, Guidance)
    assert (got.server, got.verdict) == (server, verdict)
    assert "{method}" not in got.snippet
    assert set(got.to_dict()) == {"title", "why", "snippet", "rfc"}


def test_apache_partial_implementation_rewrites_to_405_with_allow() -> None:
    got = guidance_for("apache", "partial_implementation", "PATCH")
    assert got.snippet.splitlines() == [
        "# 405 + Allow for PATCH under /legacy/ (mod_rewrite, mod_headers)",
        "RewriteEngine On",
        "RewriteCond %{REQUEST_METHOD} ^PATCH$",
        "RewriteRule ^/legacy/ - [R=405,L]",
        '<Location "/legacy/">',
        "    ErrorDocument 405 /errors/405-legacy.html",
        "</Location>",
        "# the error document's request carries the Allow line (one line, this one)",
        '<Location "/errors/405-legacy.html">',
        '    Header always set Allow "GET, HEAD, POST" "expr=%{REQUEST_STATUS} == 405"',
        "</Location>",
    ]
    assert got.rfc == "RFC 9110 §15.5.6, §10.2.1, §15.6.2; RFC 9112 §6.1"


def test_nginx_partial_implementation_returns_405_with_allow() -> None:
    got = guidance_for("nginx", "partial_implementation", "PATCH")
    assert got.snippet.splitlines() == [
        "location /legacy/ {",
        "    if ($request_method !~ ^(GET|HEAD|POST)$) {",
        '        add_header Allow "GET, HEAD, POST" always;',
        "        return 405;",
        "    }",
        "    proxy_pass http://127.0.0.1:8080;",
        "}",
    ]


@pytest.mark.parametrize(
    ("server", "verdict", "method", "needle", "rfc"),
    [
        ("apache", "capability_gap", "FOO", "HttpProtocolOptions Strict RegisteredMethods",
         "§15.6.2"),
        ("apache", "resource_restriction", "PUT", "AllowMethods GET POST OPTIONS", "§15.5.6"),
        ("apache", "never_allowed", "PROPFIND", "Dav On", "§9.1"),
        ("apache", "never_allowed", "TRACE", "TraceEnable off", "§9.3.8"),
        ("apache", "version_not_supported", None, "Protocols h2 h2c http/1.1", "§15.6.6"),
        ("apache", "transfer_encoding", "POST", "%{Transfer-Encoding}i", "RFC 9112 §6.1"),
        ("nginx", "capability_gap", "FOO", "proxy_pass http://127.0.0.1:8080;", "§15.6.2"),
        ("nginx", "resource_restriction", "PUT", "error_page 405 = @method_not_allowed;",
         "§10.2.1"),
        ("nginx", "never_allowed", "PROPFIND", 'add_header Allow "GET, HEAD" always;', "§9.1"),
        ("nginx", "never_allowed", "TRACE", "error_page 405 = @method_not_allowed;", "§9.3.8"),
        ("nginx", "version_not_supported", None, "http2 on;", "§15.6.6"),
        ("nginx", "transfer_encoding", "PUT", "$http_transfer_encoding", "RFC 9112 §6.1"),
        ("unknown", "partial_implementation", "PATCH", "Allow: GET, HEAD, POST", "§15.5.6"),
        ("unknown", "capability_gap", "FOO", "HTTP/1.1 501 Not Implemented", "§15.6.2"),
    ],
)
def test_server_specific_snippets(
    server: str, verdict: str, method: str | None, needle: str, rfc: str
) -> None:
    got = guidance_for(server, verdict, method)
    assert needle in got.snippet
    assert rfc in got.rfc


def test_server_facts_in_the_explanations() -> None:
    assert "never sends" in guidance_for("nginx", "resource_restriction").why
    assert "never answers a method with 501" in guidance_for("nginx", "capability_gap").why
    assert "Apache 2.4 serves well-formed HTTP/2.0" in guidance_for(
        "apache", "version_not_supported").why


@pytest.mark.parametrize("server", [None, "caddy", "", "APACHE"])
def test_other_servers_get_the_generic_rows(server: str | None) -> None:
    assert guidance_for(server, "partial_implementation").server == "unknown"


def test_method_goes_into_the_snippet_only_when_it_is_a_plain_token() -> None:
    assert "^DELETE$" in guidance_for("apache", "partial_implementation", "DELETE").snippet
    for hostile in ("FOO$(id)", "A B", "x\ny", None, ""):
        snippet = guidance_for("apache", "partial_implementation", hostile).snippet
        assert "RewriteCond %{REQUEST_METHOD} ^METHOD$" in snippet


def test_trace_rows_only_for_trace() -> None:
    assert guidance_for("apache", "never_allowed", "PUT").method is None
    assert guidance_for("apache", "never_allowed", "PUT").title.startswith("Nothing implements")
    assert guidance_for("apache", "never_allowed", "TRACE").method == "TRACE"


def test_aliases_and_unknown_verdicts() -> None:
    assert guidance_for("nginx", "protocol").verdict == "version_not_supported"
    with pytest.raises(KeyError, match="no guidance for verdict 'bogus'"):
        guidance_for("nginx", "bogus")
    assert guidance_dict("nginx", "bogus") is None
    got = guidance_dict("nginx", "never_allowed", "FOO")
    assert got is not None and got["rfc"] == "RFC 9110 §9.1, §15.5.6, §10.2.1"


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("verdict", VERDICTS)
@pytest.mark.parametrize("method", ["POST", "GET", "HEAD", "OPTIONS", "PATCH", None])
def test_example_allow_lists_never_list_the_refused_method(
    server: str, verdict: str, method: str | None
) -> None:
    snippet = guidance_for(server, verdict, method).snippet
    assert "{allow" not in snippet and "{method}" not in snippet
    if method is None:
        return
    for line in snippet.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if "Allow" in line or "request_method !~" in line:
            assert not re.search(rf"\b{method}\b", line.split("Allow", 1)[-1]), line


def test_post_refused_on_nginx() -> None:
    lines = guidance_for("nginx", "partial_implementation", "POST").snippet.splitlines()
    assert lines[1:3] == ["    if ($request_method !~ ^(GET|HEAD)$) {",
                          '        add_header Allow "GET, HEAD" always;']
    apache = guidance_for("apache", "never_allowed", "OPTIONS").snippet
    assert "    AllowMethods GET POST\n" in apache
    assert ('    Header always set Allow "GET, HEAD, POST" "expr=%{REQUEST_STATUS} == 405"\n'
            in apache)


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE", "PROPFIND"])
def test_apache_501_for_a_built_in_method_points_behind_apache(method):
    guidance = guidance_for("apache", "capability_gap", method)
    assert guidance.title == (
        "Apache itself would answer 405 to this method: the 501 comes from behind it"
    )
    assert f"RewriteCond %{{REQUEST_METHOD}} ^{method}$" in guidance.snippet
    assert f'Allow "{method}' not in guidance.snippet and f", {method}" not in guidance.snippet


def test_apache_501_for_an_unknown_token_is_apache_s_own():
    assert guidance_for("apache", "capability_gap", "FOO").title == (
        "Apache has no handler for this method: 501 is correct"
    )
