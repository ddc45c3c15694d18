"""Classes and verdicts (DESIGN.md section 4), computed from merged counts, never per block.

Per request, by status: 501 -> ``not_implemented``, 405 -> ``method_not_allowed``, 505 ->
``version_not_supported`` (:func:`classify` adds that as a ``class`` column to a frame).

Per method, within each vhost when the log names one (else the whole log):

=========================  =======================================================
``capability_gap``         501s, and the method never succeeded (2xx/3xx)
``partial_implementation`` 501s, and the method succeeded on this vhost
``resource_restriction``   405s (no 501), and the method succeeded on this vhost
``never_allowed``          405s (no 501), and the method never succeeded
=========================  =======================================================

501 outranks 405: a method answered both (and never successfully) is a ``capability_gap`` whose
notes say how often it also got 405. Requests without a method (``-``, empty or binary request
lines) are counted in the classes under ``-`` but get no verdict: there is no method to judge.

Per protocol: how each protocol string was answered, and the findings where the status does not
fit it (``505_for_http1``, ``400_for_unsupported_version``, ``400_for_http1_minor``).

Every rule is a small DataFrame-to-DataFrame step, testable alone; :func:`verdict_table`,
:func:`protocol_table` and :func:`client_table` chain them for a Summary or a frame.
Explanations depend on the server that wrote the log (``http-semantics.md``): see
:func:`guess_server`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..summary.summary import CLASS_BY_STATUS, CLASSES, Summary
from ..vocabulary import (
    APACHE_BUILTIN_METHODS,
    BODY_METHODS,
    IANA_METHODS,
    NGINX_KNOWN_METHODS,
    NGINX_STATIC_METHODS,
    WEBDAV_METHODS,
)
from .clients import describe_user_agent

__all__ = [
    "CLASSES",
    "CLASS_BY_STATUS",
    "SERVERS",
    "VERDICTS",
    "ServerGuess",
    "classify",
    "client_table",
    "guess_server",
    "protocol_table",
    "verdict_table",
]

VERDICTS: tuple[str, ...] = (
    "capability_gap",
    "partial_implementation",
    "resource_restriction",
    "never_allowed",
)
SERVERS: tuple[str, ...] = ("auto", "apache", "nginx")
NO_METHOD = "-"
_NO_HOST = "\uffff(no vhost)"  # not a NUL: numpy drops trailing NULs from strings
_VERSION = r"^HTTP/(\d+)\.(\d+)$"


# -- per request ------------------------------------------------------------------------------

def classify(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a categorical ``class`` column: the request's class, NA for the rest."""
    classes = pd.Categorical(
        frame["status"].astype("Int64").map(CLASS_BY_STATUS), categories=list(CLASSES)
    )
    return frame.assign(**{"class": classes})


def _summary_of(data: Summary | pd.DataFrame) -> Summary:
    return data if isinstance(data, Summary) else Summary.from_frame(data)


def _frame(table: pa.Table) -> pd.DataFrame:
    """A part as pandas, strings as objects with None for null (vhost None: the log names none)."""
    frame = table.to_pandas()
    for field in table.schema:
        if pa.types.is_string(field.type):
            column = frame[field.name].astype(object)
            frame[field.name] = column.where(column.notna(), None)
    result: pd.DataFrame = frame
    return result


def _with_host_key(frame: pd.DataFrame) -> pd.DataFrame:
    """``vhost`` None -> a sentinel, so that groupby and dict keys treat "no vhost" as a value."""
    return frame.assign(vhost=frame["vhost"].where(frame["vhost"].notna(), _NO_HOST))


def _without_host_key(frame: pd.DataFrame) -> pd.DataFrame:
    vhost = frame["vhost"].astype(object)
    return frame.assign(vhost=vhost.where(vhost != _NO_HOST, None))


# -- server ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerGuess:
    """Which server wrote the log: ``apache``, ``nginx`` or ``unknown``, how we know, and why."""

    name: str
    basis: str  # "option", "format", "evidence" or "none"
    reason: str


def guess_server(
    data: Summary | pd.DataFrame, server: str | ServerGuess = "auto"
) -> ServerGuess:
    """The server named by ``--server``, else the one the log format belongs to, else the one
    the statuses point at (505s or 405s for unknown methods: NGINX; 501s for methods: Apache).
    A ServerGuess given as ``server`` is returned as it is."""
    if isinstance(server, ServerGuess):
        return server
    if server not in SERVERS:
        raise ValueError(f"server must be one of {', '.join(SERVERS)}, not {server!r}")
    if server != "auto":
        return ServerGuess(server, "option", f"--server {server}")
    summary = _summary_of(data)
    sources = _frame(summary.part("sources"))
    named = sorted({s for s in sources["server"] if s})
    if len(named) == 1:
        formats = ", ".join(sorted({f for f in sources["format"] if f})) or "the format"
        title = {"apache": "Apache", "nginx": "NGINX"}.get(named[0], named[0])
        return ServerGuess(named[0], "format", f"{formats} is written by {title}")
    return _guess_from_evidence(summary)


def _guess_from_evidence(summary: Summary) -> ServerGuess:
    counts = _frame(summary.part("requests"))
    allow = _frame(summary.part("allow"))
    apache: list[str] = []
    nginx: list[str] = []
    if not counts.empty:
        method = counts["method"].fillna("")
        status = counts["status"]
        n = counts["count"]
        if n[status == 505].sum():
            nginx.append("505 answers (Apache never sends 505)")
        lower = method.str.contains("[a-z]", regex=True) & (method != "")
        if n[lower & (status == 501)].sum():
            apache.append("501 for lowercase methods")
        if n[lower & (status == 400)].sum():
            nginx.append("400 for lowercase methods")
        unknown = ~method.isin(NGINX_KNOWN_METHODS) & (method != "")
        if n[unknown & (status == 405)].sum():
            nginx.append("405 for methods it does not know")
        if n[unknown & (status == 501)].sum() and not n[status == 505].sum():
            apache.append("501 for methods it does not know")
        if n[method.isin({"OPTIONS"}) & (status == 405)].sum():
            nginx.append("405 for OPTIONS")
        n405, n501 = n[status == 405].sum(), n[status == 501].sum()
        allow_sent = (not allow.empty) and allow.loc[allow["status"] == 405, "allow"].notna().any()
        if n405 and not n501 and not allow_sent and not apache:
            nginx.append("405 without an Allow header, and never 501")
        if allow_sent:
            apache.append("405 with an Allow header")
    if len(apache) > len(nginx):
        return ServerGuess("apache", "evidence", "; ".join(apache))
    if len(nginx) > len(apache):
        return ServerGuess("nginx", "evidence", "; ".join(nginx))
    mixed = "; ".join(apache + nginx)
    reason = f"conflicting evidence: {mixed}" if mixed else "the format and statuses do not tell"
    return ServerGuess("unknown", "none", reason)


# -- verdict steps -----------------------------------------------------------------------------

def method_status_counts(summary: Summary) -> pd.DataFrame:
    """Requests by vhost, method, protocol and status, with first and last seen."""
    return _frame(summary.part("requests"))


def per_method(counts: pd.DataFrame) -> pd.DataFrame:
    """One row per (vhost, method) that has a method: requests, 501s, 405s, successes, counts
    by status, and first/last seen of its 501s and 405s."""
    rows = _with_host_key(counts[counts["method"].notna()])
    if rows.empty:
        return pd.DataFrame(columns=[
            "vhost", "method", "requests", "not_implemented", "method_not_allowed",
            "successes", "counts", "first_seen", "last_seen",
        ])
    flagged = rows.assign(
        not_implemented=rows["count"].where(rows["status"] == 501, 0),
        method_not_allowed=rows["count"].where(rows["status"] == 405, 0),
        successes=rows["count"].where(rows["status"].between(200, 399), 0),
        classed_first=rows["first"].where(rows["status"].isin([405, 501])),
        classed_last=rows["last"].where(rows["status"].isin([405, 501])),
    )
    keys = ["vhost", "method"]
    grouped = flagged.groupby(keys, dropna=False, sort=True)
    table = grouped.agg(
        requests=("count", "sum"),
        not_implemented=("not_implemented", "sum"),
        method_not_allowed=("method_not_allowed", "sum"),
        successes=("successes", "sum"),
        first_seen=("classed_first", "min"),
        last_seen=("classed_last", "max"),
    ).reset_index()
    by_status = (
        rows.groupby([*keys, "status"], dropna=False)["count"].sum().reset_index()
        .sort_values("status")
    )
    status_dicts = {
        key: {str(s): int(c) for s, c in zip(g["status"], g["count"], strict=True)}
        for key, g in by_status.groupby(keys, dropna=False, sort=False)
    }
    table["counts"] = [status_dicts[(v, m)] for v, m in zip(table["vhost"], table["method"],
                                                              strict=True)]
    return _without_host_key(table)


def assign_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Adds ``verdict`` (DESIGN.md section 4) and keeps the rows that have one."""
    gap = table["not_implemented"] > 0
    refused = table["method_not_allowed"] > 0
    worked = table["successes"] > 0
    verdict = np.select(
        [gap & ~worked, gap & worked, refused & worked, refused & ~worked],
        list(VERDICTS),
        default="",
    )
    return table.assign(verdict=verdict).loc[lambda t: t["verdict"] != ""].reset_index(drop=True)


def mark_registered(table: pd.DataFrame) -> pd.DataFrame:
    """Adds ``registered``: whether the method is in the IANA HTTP Method Registry."""
    return table.assign(registered=table["method"].isin(IANA_METHODS))


def add_other_vhosts(table: pd.DataFrame, methods: pd.DataFrame) -> pd.DataFrame:
    """Adds ``succeeded_elsewhere``: the other vhosts where the method succeeded."""
    worked = methods[(methods["successes"] > 0) & methods["vhost"].notna()]
    hosts = worked.groupby("method")["vhost"].agg(lambda v: sorted(set(v))).to_dict()
    elsewhere = [
        [h for h in hosts.get(m, []) if h != v] if v is not None else []
        for v, m in zip(table["vhost"], table["method"], strict=True)
    ]
    return table.assign(succeeded_elsewhere=elsewhere)


def add_allow(table: pd.DataFrame, allow: pd.DataFrame) -> pd.DataFrame:
    """Adds ``allow``: the Allow header values logged with the 405s and 501s, by count."""
    values: dict[tuple[object, object], list[tuple[str, int]]] = {}
    rows = allow[allow["method"].notna()] if not allow.empty else allow
    if not rows.empty:
        shown = _with_host_key(rows).assign(allow=rows["allow"].fillna("(none)"))
        summed = shown.groupby(["vhost", "method", "allow"])["count"].sum()
        ranked = summed.reset_index().sort_values(["count", "allow"], ascending=[False, True])
        for vhost, method, value, count in ranked.itertuples(index=False):
            values.setdefault((vhost, method), []).append((value, int(count)))
    keyed = _with_host_key(table)
    return table.assign(allow=[values.get((v, m), []) for v, m in
                               zip(keyed["vhost"], keyed["method"], strict=True)])


def explain_verdicts(table: pd.DataFrame, server: str) -> pd.DataFrame:
    """Adds ``explanation`` (one paragraph) and ``notes`` (server-specific facts that apply)."""
    texts = [_explain(row, server) for row in table.itertuples(index=False)]
    return table.assign(
        explanation=[t[0] for t in texts], notes=[t[1] for t in texts]
    )


def verdict_table(
    data: Summary | pd.DataFrame, *, server: str | ServerGuess = "auto"
) -> pd.DataFrame:
    """Per (vhost, method) verdicts with their counts, first/last seen and explanations."""
    summary = _summary_of(data)
    guess = guess_server(summary, server)
    methods = per_method(method_status_counts(summary))
    columns = ["vhost", "method", "verdict", "registered", "requests", "not_implemented",
               "method_not_allowed", "successes", "counts", "first_seen", "last_seen",
               "succeeded_elsewhere", "allow", "explanation", "notes"]
    if methods.empty:
        return pd.DataFrame(columns=columns)
    return (
        methods.pipe(assign_verdicts)
        .pipe(mark_registered)
        .pipe(add_other_vhosts, methods)
        .pipe(add_allow, _frame(summary.part("allow")))
        .pipe(explain_verdicts, guess.name)
        .loc[:, columns]
    )


# -- protocols ---------------------------------------------------------------------------------

def protocol_counts(summary: Summary) -> pd.DataFrame:
    """Requests by protocol string (``-`` for none), status, and whether the method is ``PRI``
    (the HTTP/2 connection preface, ``PRI * HTTP/2.0``, sent to an HTTP/1 port)."""
    counts = method_status_counts(summary)
    if counts.empty:
        return pd.DataFrame(columns=["protocol", "status", "preface", "count"])
    return (
        counts.assign(protocol=counts["protocol"].fillna(NO_METHOD),
                      preface=counts["method"] == "PRI")
        .groupby(["protocol", "status", "preface"], sort=True)["count"].sum().reset_index()
    )


def parse_versions(counts: pd.DataFrame) -> pd.DataFrame:
    """Adds ``major`` and ``minor`` (NA unless the protocol is a well-formed ``HTTP/d.d``)."""
    parts = counts["protocol"].astype(str).str.extract(_VERSION)
    return counts.assign(
        major=pd.to_numeric(parts[0], errors="coerce").astype("Int64"),
        minor=pd.to_numeric(parts[1], errors="coerce").astype("Int64"),
    )


def protocol_findings(counts: pd.DataFrame) -> pd.DataFrame:
    """Adds ``finding`` to each (protocol, status, preface) row where the status does not fit:
    ``505_for_http1`` (505 to HTTP/1.x), ``400_for_unsupported_version`` (400 to a well-formed
    ``HTTP/d.d`` whose major version is not 1: 505 would say it), ``400_for_http1_minor`` (400
    to HTTP/1.2 and up, which RFC 9110 says to serve as HTTP/1.1) and ``400_for_h2_preface``
    (the HTTP/2 preface on an HTTP/1 port: expected, and no version problem)."""
    well_formed = counts["major"].notna()
    major = counts["major"].fillna(-1)
    minor = counts["minor"].fillna(-1)
    status = counts["status"]
    preface = counts["preface"].astype(bool)
    finding = np.select(
        [
            (status == 505) & (major == 1),
            (status == 400) & preface & (major == 2),
            (status == 400) & well_formed & (major != 1),
            (status == 400) & (major == 1) & (minor >= 2),
        ],
        ["505_for_http1", "400_for_h2_preface", "400_for_unsupported_version",
         "400_for_http1_minor"],
        default="",
    )
    return counts.assign(finding=finding)


def protocol_table(
    data: Summary | pd.DataFrame, *, server: str | ServerGuess = "auto"
) -> pd.DataFrame:
    """One row per protocol worth a look (anything but HTTP/1.0 and HTTP/1.1, and any protocol
    answered 505): counts by status, findings and an explanation."""
    summary = _summary_of(data)
    guess = guess_server(summary, server)
    counts = protocol_counts(summary)
    columns = ["protocol", "requests", "counts", "version_not_supported", "findings",
               "explanation"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    counts = counts.pipe(parse_versions).pipe(protocol_findings)
    rows = []
    for protocol, group in counts.groupby("protocol", sort=True):
        n505 = int(group.loc[group["status"] == 505, "count"].sum())
        if protocol in ("HTTP/1.0", "HTTP/1.1") and not n505:
            continue
        findings = sorted({f for f in group["finding"] if f})
        by_status = group.groupby("status")["count"].sum()
        # statuses are floats when some request had none (logged "-"): 200, not "200.0"
        counts_by_status = {str(s): int(c) for s, c in by_status.rename(index=int).items()}
        major = group["major"].iloc[0]
        rows.append({
            "protocol": protocol,
            "requests": int(group["count"].sum()),
            "counts": counts_by_status,
            "version_not_supported": n505,
            "findings": findings,
            "explanation": _explain_protocol(
                str(protocol), None if pd.isna(major) else int(major), counts_by_status,
                findings, guess.name,
            ),
        })
    return pd.DataFrame(rows, columns=columns)


# -- clients -----------------------------------------------------------------------------------

CLIENT_COLUMNS = ["class", "vhost", "method", "protocol", "status", "client", "user_agent",
                  "ua_family", "client_kind", "count"]


def client_hits(summary: Summary) -> pa.Table:
    """:func:`client_table` as an Arrow table (what the report builder groups). Each distinct
    user agent is described once (``analyzer.verdicts.clients.describe_user_agent``)."""
    hits = summary.part("hits")
    encoded = pc.dictionary_encode(hits["user_agent"]).combine_chunks()
    described = [describe_user_agent(ua) for ua in encoded.dictionary.to_pylist()]
    described.append(describe_user_agent(None))  # for nulls
    codes = pc.fill_null(encoded.indices, len(described) - 1)
    statuses = pa.array(list(CLASS_BY_STATUS), pa.int16())
    columns = {
        "class": pc.take(pa.array(CLASSES, pa.string()), pc.index_in(hits["status"], statuses)),
        **{name: hits[name] for name in ("vhost", "method", "protocol", "status", "client",
                                         "user_agent")},
        "ua_family": pc.take(pa.array([f for f, _ in described], pa.string()), codes),
        "client_kind": pc.take(pa.array([k for _, k in described], pa.string()), codes),
        "count": hits["count"],
    }
    return pa.table(columns)


def client_table(data: Summary | pd.DataFrame) -> pd.DataFrame:
    """The classed requests by class, vhost, method, protocol, status, client and user agent,
    with the user-agent family and client kind (``analyzer.verdicts.clients``): one tidy table."""
    return _frame(client_hits(_summary_of(data))).loc[:, CLIENT_COLUMNS]


# -- explanations ------------------------------------------------------------------------------

def _none(value: object) -> object:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _explain(row: object, server: str) -> tuple[str, list[str]]:
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


def _explain_protocol(
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
