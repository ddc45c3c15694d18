"""The HTML report: one self-contained file (inline CSS, charts as data: URIs, no script, no
remote resource, a restrictive Content-Security-Policy), or a fragment for Jupyter.

Every value taken from a log goes through Jinja2's autoescaping; the template never marks a log
value ``|safe``. Charts are matplotlib SVG embedded as
``<img src="data:image/svg+xml;base64,...">``: an SVG loaded as an image can run no script and
load nothing, and being base64 its text cannot break out of the attribute.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
import markupsafe
import matplotlib
from matplotlib.artist import Artist
from matplotlib.figure import Figure

from .. import plots
from ..report.model import More
from ..vocabulary import (
    CLASS_LABELS,
    CLASS_OF_VERDICT,
    CLASSES,
    REASON_PHRASES,
    STATUS_OF_CLASS,
    VERDICT_MEANINGS,
    VERDICT_TITLES,
    is_registered,
)
from .safety import terminal_safe

__all__ = ["CSP", "render_html", "report_html"]

#: The page's Content-Security-Policy: nothing may load but inline styles and data: images.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

# per class: status, reason phrase, short label for the summary cards
_CLASS_TITLES = {
    name: (str(STATUS_OF_CLASS[name]), REASON_PHRASES[STATUS_OF_CLASS[name]], CLASS_LABELS[name])
    for name in CLASSES
}
#: Each verdict's title and what it means (DESIGN.md section 4), shown beside it when the
#: Report has no explanation of its own.
_VERDICTS = {
    name: (title[:1].upper() + title[1:], VERDICT_MEANINGS[name])
    for name, title in VERDICT_TITLES.items()
}

# verdict keys shown in their own place; any other key is listed as further evidence
_SHOWN_KEYS = frozenset({
    "vhost", "method", "verdict", "class", "counts", "registered", "requests", "successes",
    "first_seen", "last_seen", "explanation", "notes", "examples", "success_examples",
    "resources", "resources_complete", "top_clients", "top_families", "client_kinds",
    "distinct_clients", "allow", "succeeded_elsewhere", "reproduce", "reproduce_commands",
    "guidance",
})  # fmt: skip
# top-level keys with a section of their own; others (a scheduled run's history...) go under
# "Details"
_SECTIONS = frozenset({
    "schema", "sources", "totals", "requests", "window", "server", "client_field",
    "status_counts", "classes", "verdicts", "protocols", "trends", "rejects", "methods",
    "allow_checks", "history", "run", "comparison", "novelty", "folded", "methods_more",
    "verdicts_more", "protocols_more", "kernel",
})  # fmt: skip

_CHARTS: dict[str, Callable[..., Artist]] = {  # an Axes, or the trend's Figure
    "trend": plots.trend_plot,
    "status_heatmap": plots.status_heatmap,
    "top_clients": plots.top_clients_plot,
}


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analyzer.render", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_visible,
    )
    env.filters["num"] = _number
    env.filters["when"] = _when
    env.filters["pct"] = _percent
    env.filters["clip"] = _clip
    env.filters["more"] = _more
    return env


def _visible(value: object) -> object:
    """Every value a template prints: control characters and bidi overrides shown escaped, as
    in the terminal report (the page may be printed on a terminal; a browser would hide them or
    let them reorder the text). Markup built by the template's own macros is left alone."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return terminal_safe(value, keep="\n")
    return value


def _number(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _percent(part: object, whole: object) -> str:
    if not isinstance(part, int | float) or not isinstance(whole, int | float) or not whole:
        return ""
    share = 100 * part / whole
    return f"{share:.1f}%" if share >= 0.1 or share == 0 else "<0.1%"


def _when(value: object) -> str:
    """An ISO timestamp as ``2026-11-22 06:35:34 UTC``."""
    text = "" if value is None else str(value)
    if len(text) >= 19 and text[10] == "T":
        zone = text[19:].lstrip(".0123456789")  # a run's times carry microseconds: not shown
        suffix = " UTC" if zone in ("Z", "+00:00", "") else f" {zone}"
        return text[:10] + " " + text[11:19] + suffix
    return text


def _more(value: object, noun: str = "") -> str:
    """A JSON ``*_more`` entry (``{"more", "requests", "exact"}``) as text."""
    if not isinstance(value, Mapping):
        return ""
    return More(int(value.get("more", 0)), int(value.get("requests", 0)),
                bool(value.get("exact", True))).text(noun)


def _clip(value: object, limit: int = 200) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chart(draw: Callable[..., Artist], report: Any) -> str | None:
    """One chart as an SVG data: URI, or None when drawing fails (the report is still shown)."""
    try:
        figure = draw(report).get_figure(root=True)
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(figure, Figure):
        return None
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "logscan", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _as_dict(report: Any) -> dict[str, Any]:
    if isinstance(report, Mapping):
        return dict(report)
    result: dict[str, Any] = report.to_dict()
    return result


def report_html(report: Any, *, fragment: bool = False, charts: bool = True) -> str:
    """The report as HTML: a whole page, or (``fragment=True``) a ``<div>`` with its own
    scoped style for Jupyter (``Report._repr_html_``)."""
    data = _as_dict(report)
    verdicts = list(data.get("verdicts") or [])
    by_class: dict[str, list[dict[str, Any]]] = {name: [] for name in _CLASS_TITLES}
    other: list[dict[str, Any]] = []
    for verdict in verdicts:
        cls = verdict.get("class") or CLASS_OF_VERDICT.get(str(verdict.get("verdict")))
        (by_class[cls] if cls in by_class else other).append(verdict)
    methods = data.get("methods") or []
    if isinstance(methods, Mapping):
        method_rows = [(str(name), dict(m)) for name, m in methods.items()]
    else:
        method_rows = [(str(m.get("method", "-")), dict(m)) for m in methods]
    images = {name: _chart(draw, report) for name, draw in _CHARTS.items()} if charts else {}
    return _environment().get_template("report.html.j2").render(
        r=data,
        fragment=fragment,
        csp=CSP,
        class_titles=_CLASS_TITLES,
        verdict_names=_VERDICTS,
        verdicts_by_class=by_class,
        other_verdicts=other,
        method_rows=method_rows,
        unregistered=_unregistered(data),
        extra_sections=[(k, v) for k, v in data.items() if k not in _SECTIONS and v],
        shown_keys=_SHOWN_KEYS,
        charts=images,
        version=_version(),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        sources=_sources_once(data.get("sources") or []),
    )


def _sources_once(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each source once (a report over several runs lists a file once per format it was read
    with): formats and detections gathered, counts added up."""
    merged: dict[str, dict[str, Any]] = {}
    for s in sources:
        row = merged.setdefault(str(s.get("path")), {"path": s.get("path"), "formats": [],
                                                    "detections": [], "lines": 0, "rejected": 0})
        for key, plural in (("format", "formats"), ("detection", "detections")):
            if s.get(key) and s[key] not in row[plural]:
                row[plural].append(s[key])
        row["lines"] += int(s.get("lines") or 0)
        row["rejected"] += int(s.get("rejected") or 0)
    return list(merged.values())


def _unregistered(data: dict[str, Any]) -> frozenset[str]:
    """The method names in the report that are not in the IANA registry (shown in italic)."""
    names = {str(m) for cls in (data.get("classes") or {}).values() for m in cls.get("by") or {}}
    names |= {str(v.get("method")) for v in data.get("verdicts") or []}
    return frozenset(n for n in names if n != "-" and not is_registered(n))


def render_html(report: Any) -> str:
    """The ``--format html`` renderer: a whole, self-contained page."""
    return report_html(report)


def _version() -> str:
    from .. import __version__

    return str(__version__)
