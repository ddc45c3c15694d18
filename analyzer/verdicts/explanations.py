"""The prose of the verdicts and protocol findings: one paragraph each, and the notes that
apply on the server that wrote the log (facts and sources in ``http-semantics.md``).
"""

from __future__ import annotations

import numpy as np

from ..vocabulary import (
    APACHE_BUILTIN_METHODS,
    BODY_METHODS,
    IANA_METHODS,
    NGINX_STATIC_METHODS,
    NO_METHOD,
    WEBDAV_METHODS,
)

__all__ = ["explain_protocol", "explain_verdict"]


def _none(value: object) -> object:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def explain_verdict(row: object, server: str) -> tuple[str, list[str]]:
    method: str = row.method  # type: ignore[attr-defined]
    vhost = _none(row.vhost)  # type: ignore[attr-defined]
    verdict: str = row.verdict  # type: ignore[attr-defined]
    n501 = int(row.not_implemented)  # type: ignore[attr-defined]
    n405 = int(row.method_not_allowed)  # type: ignore[attr-defined]
    ok = int(row.successes)  # type: ignore[attr-defined]
    where = f" on {vhost}" if vhost else ""
    notes: list[str] = []
    if verdict == "capability_gap":
        text = (f"{method} was answered 501 Not Implemented {_times(n501)}{where} and never "
                "succeeded: the server does not implement it.")
    elif verdict == "partial_implementation":
        text = (f"{method} was answered 501 {_times(n501)}{where} but succeeded {_times(ok)}: "
                "it is implemented for some resources, so 501 is likely the wrong status there "
                "(405 fits), or one backend lacks it.")
    elif verdict == "resource_restriction":
        text = (f"{method} was answered 405 Method Not Allowed {_times(n405)}{where} and succeeded "
                f"{_times(ok)}: it works on some resources and is refused on others, a correct "
                "use of 405.")
    else:
        text = (f"{method} was answered 405 {_times(n405)}{where} and never succeeded: this "
                "behaves like a capability gap (501 would describe a server-wide gap), unless "
                "it is a deliberate ban.")
    if n501 and n405:
        notes.append(f"It was also answered 405 {_times(n405)}: different handlers or backends "
                     "disagree about this method.")
    if method in BODY_METHODS and n501 and (ok or server == "nginx"):
        notes.append(f"A 501 on {method}, a method that carries a body, is more likely an "
                     "unsupported request Transfer-Encoding (NGINX, Go, Tomcat, Gunicorn and "
                     "Envoy answer 501 to one) than a missing method.")
    notes.extend(_server_notes(method, verdict, n501, server))
    if method == "TRACE" and n405:
        notes.append("TRACE is usually refused on purpose (Apache TraceEnable off; NGINX always "
                     "answers it 405): a deliberate ban, not a gap.")
    if method not in IANA_METHODS:
        notes.append(f"{method} is not in the IANA HTTP Method Registry: such requests mostly "
                     "come from scanners or broken clients.")
    elsewhere = list(getattr(row, "succeeded_elsewhere", []) or [])
    if elsewhere and verdict in ("capability_gap", "never_allowed"):
        notes.append(f"{method} succeeded on other virtual hosts: {', '.join(elsewhere)}.")
    return text, notes


def _server_notes(method: str, verdict: str, n501: int, server: str) -> list[str]:
    notes = []
    if server == "nginx":
        if n501:
            notes.append("NGINX itself never answers 501 for a method (it answers 405): these "
                         "501s came from an upstream (proxy_pass, fastcgi_pass) or from an "
                         "unsupported Transfer-Encoding.")
        if verdict == "never_allowed" and method not in NGINX_STATIC_METHODS:
            notes.append("Stock NGINX answers 405 (with no Allow header) to every method but GET, "
                         "HEAD and POST on static content, unknown ones included: on NGINX this "
                         f"is the capability gap, the server does not implement {method}.")
    elif server == "apache":
        if n501 and method in APACHE_BUILTIN_METHODS:
            notes.append(f"Apache itself answers 405, not 501, to {method}: these 501s came from "
                         "RegisteredMethods or from a backend behind Apache (proxy, CGI, PHP).")
        elif n501:
            notes.append("Apache answers 501 to method names it does not know (such as FOO or a "
                         "lowercase get), whatever the resource.")
        if (verdict == "never_allowed" and method in APACHE_BUILTIN_METHODS
                and method not in ("GET", "HEAD", "POST", "OPTIONS", "TRACE")):
            kind = "a WebDAV method" if method in WEBDAV_METHODS else "a method"
            notes.append(f"{method} is {kind} Apache knows by name: it answers 405 even when no "
                         "module implements it, so this is effectively a capability gap.")
        if method == "POST" and verdict == "never_allowed":
            notes.append("Apache serves POST to static files like GET (200): a 405 for POST comes "
                         "from mod_allowmethods or an application.")
    return notes


def explain_protocol(
    protocol: str, major: int | None, counts: dict[str, int], findings: list[str], server: str
) -> str:
    parts = []
    served = sum(c for s, c in counts.items() if 200 <= int(s) < 400)
    n505 = counts.get("505", 0)
    if "505_for_http1" in findings:
        parts.append(f"505 for {protocol}: the server speaks HTTP/1, and RFC 9110 section 2.5 "
                     "says a higher minor version is handled as the highest one supported "
                     "(Tomcat answers 505 to HTTP/1.2).")
    if "400_for_unsupported_version" in findings:
        parts.append(f"400 for a well-formed {protocol} request line: 505 would name the problem "
                     "(NGINX answers 505 to HTTP/2.0 and above on an HTTP/1 line); Apache "
                     "and NGINX answer 400 to an explicit HTTP/0.9.")
    if "400_for_h2_preface" in findings:
        parts.append("400 for PRI * HTTP/2.0: the HTTP/2 connection preface (h2c with prior "
                     "knowledge) sent to a port that speaks only HTTP/1; expected, not a "
                     "version gap.")
    if "400_for_http1_minor" in findings:
        parts.append(f"400 for {protocol}: RFC 9110 section 2.5 says to handle a higher HTTP/1 "
                     "minor version as HTTP/1.1 (Apache and NGINX serve HTTP/1.2).")
    if n505 and major is not None and major >= 2:
        if server == "apache":
            parts.append("Apache never sends 505: these came from a backend or another server.")
        else:
            parts.append(f"505 for {protocol}: an HTTP/1-style request line claiming a version "
                         "the server does not speak (NGINX answers 505 to major version 2 and "
                         "above).")
    if served and major is not None and major >= 2:
        if server == "apache":
            parts.append(f"{protocol} answered normally in an Apache log is ordinary HTTP/2 "
                         "traffic (mod_http2), not a version problem.")
        else:
            parts.append(f"{protocol} answered normally is usually genuine HTTP/2 or HTTP/3 "
                         "traffic, not a version problem.")
    if protocol == NO_METHOD:
        parts.append("No protocol: an HTTP/0.9-style request line (GET /), or a line that is "
                     "not HTTP at all (TLS to the plain port, scanners); NGINX also logs an "
                     "empty protocol with its 505s.")
    return " ".join(parts)
