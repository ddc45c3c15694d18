"""Which server wrote the log (``http-semantics.md``): named by ``--server``, else the one the
log format belongs to, else the one the statuses point at. The explanations depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..summary.bounded import FOLDED
from ..summary.summary import Summary
from ..vocabulary import NGINX_KNOWN_METHODS
from .frames import part_frame, summary_of

__all__ = ["SERVERS", "ServerGuess", "guess_server"]

SERVERS: tuple[str, ...] = ("auto", "apache", "nginx")


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
    summary = summary_of(data)
    sources = part_frame(summary.part("sources"))
    named = sorted({s for s in sources["server"] if s})
    if len(named) == 1:
        formats = ", ".join(sorted({f for f in sources["format"] if f})) or "the format"
        title = {"apache": "Apache", "nginx": "NGINX"}.get(named[0], named[0])
        return ServerGuess(named[0], "format", f"{formats} is written by {title}")
    return _guess_from_evidence(summary)


def _guess_from_evidence(summary: Summary) -> ServerGuess:
    counts = part_frame(summary.part("requests"))
    allow = part_frame(summary.part("allow"))
    apache: list[str] = []
    nginx: list[str] = []
    if not counts.empty:
        method = counts["method"].fillna("")
        status = counts["status"]
        n = counts["count"]
        if n[status == 505].sum():
            nginx.append("505 answers (Apache never sends 505)")
        lower = method.str.contains("[a-z]", regex=True) & (method != "") & (method != FOLDED)
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

