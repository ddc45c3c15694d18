"""Is ``Allow`` honest? Checks on the response ``Allow`` header, when the log records it.

The ``allow`` column comes from Apache's ``%{Allow}o`` or NGINX's ``$sent_http_allow``; a logged
``-`` (header not sent) is null, an empty value (``Allow:`` with nothing after it) is ``""``.

Checks (RFC 9110 section 15.5.6: a 405 MUST carry Allow; section 10.2.1: Allow lists the methods
the target resource supports, and an empty value means none):

``missing_on_405``
    405 responses without ``Allow``. Stock NGINX never sends it, so every 405 NGINX makes itself
    lands here.
``empty_on_405``
    405 responses with an empty ``Allow``: valid, it says the resource allows nothing. Apache
    sends it for TRACE with ``TraceEnable off``.
``refused_method_listed``
    405 or 501 responses whose ``Allow`` lists the very method that was refused.
``inconsistent``
    ``Allow`` values that differ between resources that should agree: the same vhost and the
    same directory (``/api/items/7`` and ``/api/items/8``), whatever the refused method; or,
    for a method that never succeeds on a vhost and is refused in several directories (a
    server-wide rule), all of that method's refusals on the vhost. Values are compared as sets,
    so ``GET,POST`` and ``POST, GET`` agree.

Everything is computed with pandas group-bys over a canonical frame, or over a merged
:class:`~analyzer.summary.Summary`. A Summary's ``allow`` part keeps counts but no targets: the
counts are the same, the directory check is skipped (``directory_checked`` is false), and the
examples are the Summary's example requests where they are certain to belong to the group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..advice.guidance import guidance_dict
from ..vocabulary import NO_VHOST

__all__ = ["HOW_TO_LOG", "AllowChecks", "AllowGroup", "check_allow"]

#: How to make each server log the response's Allow header.
HOW_TO_LOG: dict[str, str] = {
    "apache": 'Apache: add \\"%{Allow}o\\" to the LogFormat, e.g. '
              'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" '
              '\\"%{Allow}o\\"" combined_allow',
    "nginx": "NGINX: add \"$sent_http_allow\" to the log_format, e.g. log_format combined_allow "
             "'$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
             "\"$http_referer\" \"$http_user_agent\" \"$sent_http_allow\"';",
}
MAX_EXAMPLES = 3
# Allow values folded in a Summary (analyzer.summary.bounded): counted, but not compared
_FOLDED_ALLOW = "(other values)"
MAX_GROUPS = 50
_REFUSED = (405, 501)

NOTES: dict[str, str] = {
    "nginx_never_sends": "Stock NGINX never sends Allow (its source has no such header): every "
                         "405 NGINX makes itself lacks it; add it with error_page and add_header "
                         "... always.",
    "apache_first_line": "Apache logs only the first Allow line with %{Allow}o; a 405 from "
                         "mod_rewrite or mod_allowmethods also carries Apache's own Allow line "
                         "(TRACE, or empty with TraceEnable off).",
    "empty_means_none": "An empty Allow says the resource allows no method (RFC 9110 section "
                        "10.2.1); Apache sends it for TRACE with TraceEnable off.",
}


@dataclass(frozen=True)
class AllowGroup:
    """Responses that share a problem: where, which method and status, how many, examples."""

    vhost: str | None
    method: str | None
    count: int
    status: int | None = None
    allow: str | None = None
    targets: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()  # "source:line"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"vhost": self.vhost, "method": self.method, "count": self.count}
        if self.status is not None:
            out["status"] = self.status
        if self.allow is not None:
            out["allow"] = self.allow
        out["targets"] = list(self.targets)
        out["examples"] = list(self.examples)
        return out


@dataclass(frozen=True)
class AllowValue:
    """One of the differing Allow values in an inconsistent group."""

    allow: str  # normalised: sorted, ", "-separated; "" for an empty header
    count: int
    methods: tuple[str, ...]
    statuses: tuple[int, ...]
    examples: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"allow": self.allow, "count": self.count, "methods": list(self.methods),
                "statuses": list(self.statuses), "targets": list(self.targets),
                "examples": list(self.examples)}


@dataclass(frozen=True)
class Inconsistency:
    """Resources that should agree on Allow and do not: the resources of one directory (any
    method), or every resource where a method is refused by a server-wide rule (``method``)."""

    scope: str  # "directory" or "vhost"
    vhost: str | None
    prefix: str | None
    values: tuple[AllowValue, ...]
    method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "vhost": self.vhost, "prefix": self.prefix,
                "method": self.method, "values": [v.to_dict() for v in self.values]}


@dataclass(frozen=True)
class AllowChecks:
    """The result of :func:`check_allow` (JSON key ``allow_checks``)."""

    logged: bool
    server: str = "unknown"
    how_to_log: str | None = None
    responses_405: int = 0
    with_allow_405: int = 0
    missing_on_405: tuple[AllowGroup, ...] = ()
    empty_on_405: tuple[AllowGroup, ...] = ()
    refused_method_listed: tuple[AllowGroup, ...] = ()
    inconsistent: tuple[Inconsistency, ...] = ()
    notes: tuple[str, ...] = ()
    fix: dict[str, Any] | None = None
    directory_checked: bool = True  # False from a Summary, which keeps no targets per Allow

    @property
    def missing_count(self) -> int:
        return sum(g.count for g in self.missing_on_405)

    @property
    def empty_count(self) -> int:
        return sum(g.count for g in self.empty_on_405)

    @property
    def listed_count(self) -> int:
        return sum(g.count for g in self.refused_method_listed)

    @property
    def problems(self) -> int:
        """How many findings there are (responses missing Allow or listing the refused
        method, and inconsistent groups); empty Allow values are not problems."""
        return self.missing_count + self.listed_count + len(self.inconsistent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "logged": self.logged,
            "server": self.server,
            "how_to_log": self.how_to_log,
            "responses_405": self.responses_405,
            "with_allow_405": self.with_allow_405,
            "missing_on_405": {"count": self.missing_count,
                               "groups": [g.to_dict() for g in self.missing_on_405]},
            "empty_on_405": {"count": self.empty_count,
                             "groups": [g.to_dict() for g in self.empty_on_405]},
            "refused_method_listed": {"count": self.listed_count,
                                      "groups": [g.to_dict() for g in self.refused_method_listed]},
            "inconsistent": [i.to_dict() for i in self.inconsistent],
            "directory_checked": self.directory_checked,
            "notes": list(self.notes),
            "fix": self.fix,
        }


def check_allow(data: Any, *, server: str | None = None) -> AllowChecks:
    """Check the logged Allow headers of a canonical frame (or a Summary).

    ``server`` is ``apache``, ``nginx`` or anything else (unknown); it picks the notes, the fix
    and the advice on how to log Allow when the format does not.
    """
    server = server if server in ("apache", "nginx") else "unknown"
    rows, successes, logged = _rows(data)
    complete = isinstance(data, pd.DataFrame)
    n405 = int(rows.loc[rows["status"] == 405, "count"].sum())
    if not logged:
        how = HOW_TO_LOG.get(server) or f"{HOW_TO_LOG['apache']}; {HOW_TO_LOG['nginx']}"
        unnamed = _unnamed_fields(data)
        if unnamed:
            how += (f" (Some fields were not named when the format was detected ({unnamed}): "
                    "if one of them is the Allow header, pass the whole format with "
                    "--log-format.)")
        return AllowChecks(False, server, how_to_log=how, responses_405=n405)

    allow = rows["allow"]
    is405 = rows["status"] == 405
    missing = rows[is405 & allow.isna()]
    empty = rows[is405 & allow.notna() & (allow.str.strip() == "")]
    listed = _listing_refused(rows)
    by_directory = _by_directory(rows) if complete else []
    inconsistent = (*by_directory, *_by_method(rows, successes, complete))

    notes = []
    if len(missing) and server in ("nginx", "unknown"):
        notes.append(NOTES["nginx_never_sends"])
    if server == "apache":
        notes.append(NOTES["apache_first_line"])
    if len(empty):
        notes.append(NOTES["empty_means_none"])
    return AllowChecks(
        logged=True,
        server=server,
        responses_405=n405,
        with_allow_405=n405 - int(missing["count"].sum()),
        missing_on_405=_groups(missing, ["vhost", "method"]),
        empty_on_405=_groups(empty, ["vhost", "method"]),
        refused_method_listed=_groups(listed, ["vhost", "method", "status", "allow"]),
        inconsistent=inconsistent,
        notes=tuple(notes),
        fix=guidance_dict(server, "allow_missing") if len(missing) else None,
        directory_checked=complete,
    )


def _unnamed_fields(data: Any) -> str:
    """The detected formats that end in unnamed extra fields, or the extra_N columns."""
    if isinstance(data, pd.DataFrame):
        return ", ".join(c for c in data.columns if str(c).startswith("extra_"))
    formats = data.part("sources").column("format").to_pylist()
    return ", ".join(sorted({f for f in formats if f and "extra" in f}))


# -- rows --------------------------------------------------------------------------------------

_COLUMNS = ["vhost", "method", "status", "allow", "target", "source", "line", "count"]


def _rows(data: Any) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(rows, successes, allow logged): the responses that matter, one row per request (frame)
    or per counted group (Summary), and the 2xx/3xx counts per (vhost, method)."""
    if isinstance(data, pd.DataFrame):
        return _frame_rows(data)
    from ..summary.summary import Summary

    if isinstance(data, Summary):
        return _summary_rows(data)
    raise TypeError(f"expected a canonical frame or a Summary, not {type(data).__name__}")


def _frame_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    logged = "allow" in frame.columns
    status = frame["status"].astype("int64") if "status" in frame else pd.Series(dtype="int64")
    n = len(frame)
    cols: dict[str, Any] = {}
    for name in ("vhost", "method", "target", "allow", "source"):
        cols[name] = (frame[name].astype(object).where(frame[name].notna(), None)
                      if name in frame else pd.Series([None] * n, index=frame.index, dtype=object))
    cols["status"] = status
    cols["line"] = (frame["line"].astype("Int64") if "line" in frame
                    else pd.Series(range(1, n + 1), index=frame.index, dtype="Int64"))
    table = pd.DataFrame(cols, index=frame.index).assign(count=1)
    refused = status.isin(_REFUSED)
    keep = refused | (table["allow"].notna() if logged else False)
    worked = status.between(200, 399) & table["method"].notna()
    successes = (_keyed(table[worked]).groupby(["vhost", "method"])["count"].sum()
                 .rename("successes").reset_index())
    return table.loc[keep, _COLUMNS].reset_index(drop=True), successes, logged


def _summary_rows(summary: Any) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """Rows from a Summary's ``allow`` part. Where every refusal of a (vhost, method, status)
    carried the same Allow value, the ``examples`` part's requests are exact examples: they
    become rows of their own (count 1, with source, line and target) beside the remainder."""
    from ..summary.bounded import labelled

    allow = _objects(labelled(summary.part("allow")).to_pandas())
    requests = _objects(labelled(summary.part("requests")).to_pandas())
    examples = _objects(summary.part("examples").to_pandas())
    refused = requests[requests["status"].isin(_REFUSED)]
    logged = bool(len(allow)) or not len(refused)
    if not len(allow):  # no Allow column: still count the refusals
        counted = refused.groupby(["vhost", "method", "status"], dropna=False)["count"].sum()
        allow = counted.reset_index().assign(allow=None)
    rows = allow.assign(target=None, source=None)
    rows["line"] = pd.NA
    rows["status"] = rows["status"].astype("int64")
    if logged and len(examples):
        rows = _with_examples(rows, examples[examples["status"].isin(_REFUSED)])
    worked = requests[requests["status"].between(200, 399) & requests["method"].notna()]
    successes = (_keyed(worked).groupby(["vhost", "method"])["count"].sum()
                 .rename("successes").reset_index())
    return rows.loc[:, _COLUMNS], successes, logged


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    for name in ("vhost", "method", "allow", "target", "source"):
        if name in frame:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame


def _with_examples(rows: pd.DataFrame, examples: pd.DataFrame) -> pd.DataFrame:
    keys = ["vhost", "method", "status"]
    keyed = _keyed(rows)
    agrees = keyed.groupby(keys)["allow"].agg(lambda a: a.nunique(dropna=False) == 1)
    single = agrees[agrees].index
    if not len(single) or examples.empty:
        return rows
    shown = _keyed(examples.assign(status=examples["status"].astype("int64")))
    shown = shown[shown.set_index(keys).index.isin(single)]
    if shown.empty:
        return rows
    allow_of = keyed.drop_duplicates(keys).set_index(keys)["allow"]
    shown = shown.assign(allow=allow_of.reindex(shown.set_index(keys).index).to_numpy(),
                         count=1)
    taken = shown.groupby(keys).size().rename("taken")
    rest = keyed.join(taken, on=keys).fillna({"taken": 0})
    rest = rest.assign(count=rest["count"] - rest["taken"].astype("int64"))
    rest = rest[rest["count"] > 0].drop(columns="taken")
    out = pd.concat([shown.loc[:, _COLUMNS], rest.loc[:, _COLUMNS]], ignore_index=True)
    return out.assign(vhost=out["vhost"].where(out["vhost"] != NO_VHOST, None))


def _keyed(rows: pd.DataFrame) -> pd.DataFrame:
    """``vhost`` None -> a sentinel, so that groupby keeps rows without a vhost."""
    return rows.assign(vhost=rows["vhost"].where(rows["vhost"].notna(), NO_VHOST))


def _unkey(value: Any) -> Any:
    return None if value == NO_VHOST or value is None or value is pd.NA else value


def _methods_of(allow: pd.Series) -> dict[str, frozenset[str]]:
    """Each distinct Allow value -> its set of methods (values are few; parsed once each)."""
    return {value: frozenset(m.strip() for m in value.split(",") if m.strip())
            for value in allow.dropna().unique()}


def _normalised(allow: pd.Series) -> pd.Series:
    parsed = _methods_of(allow)
    text = {value: ", ".join(sorted(methods)) for value, methods in parsed.items()}
    return allow.map(text)


# -- checks ------------------------------------------------------------------------------------

def _listing_refused(rows: pd.DataFrame) -> pd.DataFrame:
    candidates = rows[rows["status"].isin(_REFUSED) & rows["allow"].notna()
                      & rows["method"].notna() & (rows["allow"] != _FOLDED_ALLOW)]
    if candidates.empty:
        return candidates
    parsed = _methods_of(candidates["allow"])
    pairs = candidates[["allow", "method"]].drop_duplicates()
    pairs = pairs.assign(listed=[m in parsed[a] for a, m in zip(pairs["allow"], pairs["method"],
                                                                strict=True)])
    marked = candidates.merge(pairs, on=["allow", "method"], how="left")
    return marked[marked["listed"]].drop(columns="listed")


def _with_prefix(rows: pd.DataFrame) -> pd.DataFrame:
    """Adds ``prefix``: the directory of an origin-form target (``/api/items/`` for
    ``/api/items/7?x``); None for ``*``, ``host:port`` and absolute targets."""
    target = rows["target"].astype("string")
    path = target.str.replace(r"[?#].*$", "", regex=True)
    prefix = path.str.replace(r"[^/]*$", "", regex=True).where(target.str.startswith("/"))
    return rows.assign(prefix=prefix.astype(object).where(prefix.notna(), None))


def _by_directory(rows: pd.DataFrame) -> list[Inconsistency]:
    sent = rows[rows["allow"].notna() & rows["target"].notna()]
    if sent.empty:
        return []
    sent = _with_prefix(_keyed(sent)).dropna(subset=["prefix"])
    sent = sent.assign(norm=_normalised(sent["allow"]))
    distinct = sent.groupby(["vhost", "prefix"])["norm"].nunique()
    out = []
    for vhost, prefix in distinct[distinct > 1].index[:MAX_GROUPS]:
        group = sent[(sent["vhost"] == vhost) & (sent["prefix"] == prefix)]
        out.append(Inconsistency("directory", _unkey(vhost), prefix, _values(group)))
    return out


def _by_method(rows: pd.DataFrame, successes: pd.DataFrame, complete: bool = True
               ) -> list[Inconsistency]:
    """A method that never succeeds on a vhost and is refused in two or more directories (or
    anywhere, when targets are not known) is refused by a server-wide rule: the Allow values of
    its refusals should all agree."""
    refused = rows[rows["status"].isin(_REFUSED) & rows["method"].notna()
                   & rows["allow"].notna() & (rows["allow"] != _FOLDED_ALLOW)]
    if refused.empty:
        return []
    refused = _keyed(refused).merge(successes, on=["vhost", "method"], how="left")
    refused = refused[refused["successes"].fillna(0) == 0]
    refused = _with_prefix(refused).assign(norm=_normalised(refused["allow"]))
    out = []
    for (vhost, method), group in refused.groupby(["vhost", "method"], sort=True):
        if complete and group["prefix"].nunique() < 2:
            continue
        if group["norm"].nunique() > 1:
            out.append(Inconsistency("vhost", _unkey(vhost), None, _values(group),
                                     method=str(method)))
    return out[:MAX_GROUPS]


# -- shaping -----------------------------------------------------------------------------------

def _values(group: pd.DataFrame) -> tuple[AllowValue, ...]:
    values = []
    for norm, rows in group.groupby("norm", sort=False):
        values.append(AllowValue(
            allow=str(norm),
            count=int(rows["count"].sum()),
            methods=tuple(sorted({str(m) for m in rows["method"].dropna()})),
            statuses=tuple(sorted({int(s) for s in rows["status"]})),
            examples=_examples(rows),
            targets=_first(rows["target"]),
        ))
    return tuple(sorted(values, key=lambda v: (-v.count, v.allow)))


def _groups(rows: pd.DataFrame, keys: list[str]) -> tuple[AllowGroup, ...]:
    if rows.empty:
        return ()
    keyed = _keyed(rows).assign(method=rows["method"].where(rows["method"].notna(), "-"))
    sizes = keyed.groupby(keys, sort=False)["count"].sum().sort_values(ascending=False,
                                                                       kind="stable")
    out = []
    for key in sizes.index[:MAX_GROUPS]:
        key = key if isinstance(key, tuple) else (key,)
        mask = pd.Series(True, index=keyed.index)
        for name, value in zip(keys, key, strict=True):
            mask &= keyed[name] == value
        part = keyed[mask]
        named = dict(zip(keys, key, strict=True))
        out.append(AllowGroup(
            vhost=_unkey(named["vhost"]),
            method=None if named["method"] == "-" else str(named["method"]),
            count=int(part["count"].sum()),
            status=int(named["status"]) if "status" in named else None,
            allow=str(named["allow"]) if "allow" in named else None,
            targets=_first(part["target"]),
            examples=_examples(part),
        ))
    return tuple(sorted(out, key=lambda g: (-g.count, g.vhost or "", g.method or "")))


def _examples(rows: pd.DataFrame) -> tuple[str, ...]:
    known = rows[rows["source"].notna() & rows["line"].notna()]
    if known.empty:
        return ()
    first = known.sort_values(["source", "line"]).head(MAX_EXAMPLES)
    return tuple(f"{s}:{int(n)}" for s, n in zip(first["source"], first["line"], strict=True))


def _first(values: Iterable[Any]) -> tuple[str, ...]:
    seen: list[str] = []
    for value in values:
        if value is not None and value is not pd.NA and value not in seen:
            seen.append(str(value))
            if len(seen) == MAX_EXAMPLES:
                break
    return tuple(seen)
