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
:func:`analyzer.verdicts.server.guess_server`; the prose is in ``analyzer.verdicts.explanations``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..summary.bounded import FOLDED, labelled
from ..summary.summary import Summary
from ..vocabulary import CLASS_BY_STATUS, CLASSES, IANA_METHODS, NO_METHOD, NO_VHOST, VERDICTS
from .clients import describe_user_agent
from .explanations import explain_protocol, explain_verdict
from .frames import part_frame, summary_of
from .server import ServerGuess, guess_server

__all__ = ["classify", "client_table", "protocol_table", "verdict_table"]

_VERSION = r"^HTTP/(\d+)\.(\d+)$"


# -- per request ------------------------------------------------------------------------------

def classify(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a categorical ``class`` column: the request's class, NA for the rest."""
    classes = pd.Categorical(
        frame["status"].astype("Int64").map(CLASS_BY_STATUS), categories=list(CLASSES)
    )
    return frame.assign(**{"class": classes})


def _objects(values: Sequence[object], like: pd.DataFrame) -> pd.Series:
    """A column of Python objects (lists, dicts) for the rows of ``like``."""
    return pd.Series(values, index=like.index, dtype=object)


def _with_host_key(frame: pd.DataFrame) -> pd.DataFrame:
    """``vhost`` None -> a sentinel, so that groupby and dict keys treat "no vhost" as a value."""
    return frame.assign(vhost=frame["vhost"].where(frame["vhost"].notna(), NO_VHOST))


def _without_host_key(frame: pd.DataFrame) -> pd.DataFrame:
    vhost = frame["vhost"].astype(object)
    return frame.assign(vhost=vhost.where(vhost != NO_VHOST, None))


# -- verdict steps -----------------------------------------------------------------------------

def method_status_counts(summary: Summary) -> pd.DataFrame:
    """Requests by vhost, method, protocol and status, with first and last seen; the requests
    of folded vhosts (analyzer.summary.bounded) under one vhost, ``(other virtual hosts)``."""
    return part_frame(labelled(summary.part("requests"), ["vhost"]))


def per_method(counts: pd.DataFrame) -> pd.DataFrame:
    """One row per (vhost, method) that has a method: requests, 501s, 405s, successes, counts
    by status, and first/last seen of its 501s and 405s."""
    rows = _with_host_key(counts[counts["method"].notna() & (counts["method"] != FOLDED)])
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
    # one pass over the rows (a pandas group per key cost a millisecond each)
    status_dicts: dict[tuple[object, object], dict[str, int]] = {}
    for vhost, method, status, count in zip(by_status["vhost"], by_status["method"],
                                            by_status["status"], by_status["count"],
                                            strict=True):
        status_dicts.setdefault((vhost, method), {})[str(status)] = int(count)
    table["counts"] = _objects([status_dicts[(v, m)] for v, m in
                                zip(table["vhost"], table["method"], strict=True)], table)
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


ELSEWHERE = 20  # vhosts named in succeeded_elsewhere (vhosts are written by clients)


def add_other_vhosts(table: pd.DataFrame, methods: pd.DataFrame) -> pd.DataFrame:
    """Adds ``succeeded_elsewhere``: the other vhosts where the method succeeded (the first
    ``ELSEWHERE`` by name), and ``elsewhere_count``: how many there are in all."""
    worked = methods[(methods["successes"] > 0) & methods["vhost"].notna()]
    hosts = worked.groupby("method")["vhost"].agg(lambda v: sorted(set(v))).to_dict()
    elsewhere = [
        [h for h in hosts.get(m, [])[:ELSEWHERE + 1] if h != v][:ELSEWHERE]
        if v is not None else []
        for v, m in zip(table["vhost"], table["method"], strict=True)
    ]
    count = [len(hosts.get(m, [])) - (v in hosts.get(m, ())) if v is not None else 0
             for v, m in zip(table["vhost"], table["method"], strict=True)]
    return table.assign(succeeded_elsewhere=_objects(elsewhere, table), elsewhere_count=count)


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
    return table.assign(allow=_objects([values.get((v, m), []) for v, m in
                                        zip(keyed["vhost"], keyed["method"], strict=True)], table))


def explain_verdicts(table: pd.DataFrame, server: str) -> pd.DataFrame:
    """Adds ``explanation`` (one paragraph) and ``notes`` (server-specific facts that apply)."""
    texts = [explain_verdict(row, server) for row in table.itertuples(index=False)]
    return table.assign(
        explanation=[t[0] for t in texts], notes=_objects([t[1] for t in texts], table)
    )


def verdict_table(
    data: Summary | pd.DataFrame, *, server: str | ServerGuess = "auto"
) -> pd.DataFrame:
    """Per (vhost, method) verdicts with their counts, first/last seen and explanations."""
    summary = summary_of(data)
    guess = guess_server(summary, server)
    methods = per_method(method_status_counts(summary))
    columns = ["vhost", "method", "verdict", "registered", "requests", "not_implemented",
               "method_not_allowed", "successes", "counts", "first_seen", "last_seen",
               "succeeded_elsewhere", "elsewhere_count", "allow", "explanation", "notes"]
    if methods.empty:
        return pd.DataFrame(columns=columns)
    return (
        methods.pipe(assign_verdicts)
        .pipe(mark_registered)
        .pipe(add_other_vhosts, methods)
        .pipe(add_allow, part_frame(summary.part("allow")))
        .pipe(explain_verdicts, guess.name)
        .loc[:, columns]
    )


# -- protocols ---------------------------------------------------------------------------------

def protocol_counts(summary: Summary) -> pd.DataFrame:
    """Requests by protocol string (``-`` for none), status, and whether the method is ``PRI``
    (the HTTP/2 connection preface, ``PRI * HTTP/2.0``, sent to an HTTP/1 port)."""
    counts = method_status_counts(summary)
    counts = counts[counts["protocol"].isna() | (counts["protocol"] != FOLDED)]
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
    data: Summary | pd.DataFrame, *, server: str | ServerGuess = "auto",
    limit: int | None = None,
) -> pd.DataFrame:
    """One row per protocol worth a look (anything but HTTP/1.0 and HTTP/1.1, and any protocol
    answered 505): counts by status, findings and an explanation. Sorted by 505s, findings,
    requests; ``limit``: only that many rows, and ``attrs["unlisted"]`` says how many protocols
    and requests the others are."""
    summary = summary_of(data)
    guess = guess_server(summary, server)
    counts = protocol_counts(summary)
    columns = ["protocol", "requests", "counts", "version_not_supported", "findings",
               "explanation"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    counts = counts.pipe(parse_versions).pipe(protocol_findings)
    per = counts.groupby("protocol", sort=True)["count"].sum().rename("requests").to_frame()
    per["n505"] = counts[counts["status"] == 505].groupby("protocol")["count"].sum()
    found = counts[counts["finding"] != ""].groupby("protocol")["finding"].nunique()
    per = per.assign(n505=per["n505"].fillna(0).astype("int64"),
                     findings=found.reindex(per.index).fillna(0).astype("int64"))
    per = per[~per.index.isin(["HTTP/1.0", "HTTP/1.1"]) | (per["n505"] > 0)]
    ranked = per.reset_index().sort_values(["n505", "findings", "requests", "protocol"],
                                           ascending=[False, False, False, True], kind="stable")
    listed = ranked if limit is None else ranked.head(limit)
    chosen = counts[counts["protocol"].isin(set(listed["protocol"]))]
    # each listed protocol's figures from one grouping each, not a grouping per protocol
    # (a hostile log lists a hundred of them)
    statuses: dict[str, dict[str, int]] = {}
    # statuses are floats when some request had none (logged "-"): 200, not "200.0"
    by_status = chosen.groupby(["protocol", "status"])["count"].sum()
    for protocol, status, count in zip(by_status.index.get_level_values(0),
                                       by_status.index.get_level_values(1), by_status,
                                       strict=True):
        statuses.setdefault(protocol, {})[str(int(status))] = int(count)
    findings_of: dict[str, set[str]] = {}
    for protocol, finding in chosen.loc[chosen["finding"] != "", ["protocol", "finding"]
                                        ].drop_duplicates().itertuples(index=False):
        findings_of.setdefault(protocol, set()).add(finding)
    major_of = chosen.drop_duplicates("protocol").set_index("protocol")["major"]
    rows = []
    for protocol in listed["protocol"]:  # at most ``limit`` of them
        findings = sorted(findings_of.get(protocol, ()))
        counts_by_status = statuses.get(protocol, {})
        major = major_of[protocol]
        rows.append({
            "protocol": protocol,
            "requests": int(per["requests"][protocol]),
            "counts": counts_by_status,
            "version_not_supported": counts_by_status.get("505", 0),
            "findings": findings,
            "explanation": explain_protocol(
                str(protocol), None if pd.isna(major) else int(major), counts_by_status,
                findings, guess.name,
            ),
        })
    table = pd.DataFrame(rows, columns=columns)
    unlisted = ranked.iloc[len(listed):]
    table.attrs["unlisted"] = (len(unlisted), int(unlisted["requests"].sum()))
    return table


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
    return part_frame(client_hits(summary_of(data))).loc[:, CLIENT_COLUMNS]

